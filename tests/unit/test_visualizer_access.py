"""Who may see the visualizer: loopback is open, any other address needs a token or a
client certificate, and a token is compared whole."""

from __future__ import annotations

import pytest

from swarmlet.errors import SwarmletError
from swarmlet.visualizer.access import (
    Guard,
    bearer_token,
    certificate_allowed,
    cookie_token,
    guard_for,
    parse_listen,
    set_cookie,
    token_matches,
)


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:8888") == ("127.0.0.1", 8888)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen(":8888") == ("0.0.0.0", 8888)
    for bad in ("8888", "host:", "h:0", "h:70000", "h:x"):
        with pytest.raises(SwarmletError, match="invalid --listen"):
            parse_listen(bad)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_nothing(host: str) -> None:
    assert guard_for(host, None, False).open


@pytest.mark.parametrize("host", ["0.0.0.0", "198.18.0.2", "::", "manager-1.example"])
def test_any_other_address_refuses_to_start_open(host: str) -> None:
    with pytest.raises(SwarmletError, match=r"without access control.*--token-file"):
        guard_for(host, None, False)
    assert guard_for(host, "s3cret", False) == Guard("s3cret", False)
    assert guard_for(host, None, True) == Guard(None, True)


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(SwarmletError, match="token file is empty"):
        guard_for("0.0.0.0", "", False)


def test_token_compare() -> None:
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret")
    assert not token_matches("s3cret2", "s3cret")
    assert not token_matches(None, "s3cret")
    assert not token_matches("", "s3cret")


def test_where_a_token_comes_from() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token(None) is None
    assert cookie_token("a=1; swarmlet_visualizer=abc") == "abc"
    assert cookie_token("a=1") is None and cookie_token(None) is None
    cookie = set_cookie("abc", secure=True)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Secure" not in set_cookie("abc", secure=False)


def subject(ou: str, cn: str) -> tuple:
    return ((("organizationName", "cluster"),), (("organizationalUnitName", ou),),
            (("commonName", cn),))


def test_client_certificates_need_manager_access() -> None:
    managers = {"node-m"}
    assert certificate_allowed(subject("swarm-manager", "client-abc"), managers)
    assert certificate_allowed(subject("swarm-manager", "node-m"), managers)
    # a demoted or removed manager's certificate is still valid TLS, but not access
    assert not certificate_allowed(subject("swarm-manager", "node-gone"), managers)
    assert not certificate_allowed(subject("swarm-worker", "node-w"), managers | {"node-w"})
    assert not certificate_allowed((), managers)
