"""Join tokens: Docker's exact format, parsing, and the CA pin."""

from __future__ import annotations

import hashlib
import re

import pytest

from swarmlet.ca.tokens import (
    InvalidJoinToken,
    JoinToken,
    ca_digest,
    generate_join_token,
    matches_ca,
    tokens_equal,
)
from swarmlet.errors import SwarmletError

FIXED_PEM = b"-----BEGIN CERTIFICATE-----\nc3dhcm1sZXQ=\n-----END CERTIFICATE-----\n"
# Worked out with sha256sum and bc (obase=36), independently of the code under test.
FIXED_DIGEST = "0zyr8evrnlemerehwd09xa2ts85das5cerg31i4n0cnzh4rjrj"
BASE36 = re.compile(r"^[0-9a-z]+$")


def test_token_has_dockers_format():
    token = generate_join_token(FIXED_PEM)
    parts = token.split("-")
    assert len(parts) == 4
    assert parts[:2] == ["SWMTKN", "1"]
    assert len(parts[2]) == 50 and len(parts[3]) == 25
    assert BASE36.match(parts[2]) and BASE36.match(parts[3])
    assert parts[2] == ca_digest(FIXED_PEM)


def test_digest_is_sha256_of_the_pem_in_base36():
    assert ca_digest(FIXED_PEM) == FIXED_DIGEST
    assert int(FIXED_DIGEST, 36) == int(hashlib.sha256(FIXED_PEM).hexdigest(), 16)


def test_two_tokens_for_one_ca_share_the_digest_not_the_secret():
    a, b = generate_join_token(FIXED_PEM), generate_join_token(FIXED_PEM)
    assert a != b
    assert JoinToken.parse(a).ca_digest == JoinToken.parse(b).ca_digest
    assert not tokens_equal(a, b)
    assert tokens_equal(a, a)


def test_parse_round_trips_and_hides_the_secret_from_repr():
    token = generate_join_token(FIXED_PEM)
    parsed = JoinToken.parse(token)
    assert parsed.version == 1 and parsed.ca_digest == FIXED_DIGEST
    assert str(parsed) == token
    assert parsed.secret not in repr(parsed)


GOOD = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25


@pytest.mark.parametrize("text", [
    "",
    "garbage",
    GOOD.replace("SWMTKN", "SWMTKX"),               # wrong prefix
    GOOD.replace("SWMTKN-1", "SWMTKN-2"),           # unsupported version
    GOOD + "-extra",                                # five parts
    "SWMTKN-1-" + "a" * 50,                         # three parts
    "SWMTKN-1-" + "a" * 49 + "-" + "b" * 25,        # short digest
    "SWMTKN-1-" + "a" * 50 + "-" + "b" * 26,        # long secret
    "SWMTKN-1-" + "A" * 50 + "-" + "b" * 25,        # not lower-case base36
    "SWMTKN-1-" + "a" * 50 + "-" + "b" * 24 + "!",  # not base36
])
def test_malformed_tokens_are_refused(text):
    with pytest.raises(InvalidJoinToken, match="invalid join token"):
        JoinToken.parse(text)


def test_invalid_join_token_is_a_user_error():
    assert issubclass(InvalidJoinToken, SwarmletError)
    assert JoinToken.parse(GOOD).secret == "b" * 25


def test_matches_ca():
    token = generate_join_token(FIXED_PEM)
    assert matches_ca(token, FIXED_PEM)
    assert not matches_ca(token, FIXED_PEM + b"\n")  # the digest covers the exact bytes
    assert not matches_ca("not a token", FIXED_PEM)
