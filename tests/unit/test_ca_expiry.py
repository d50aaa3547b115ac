"""Node certificate lifetime from CAConfig.NodeCertExpiry, renewal of short-lived
certificates, and the TLS server picking up a renewed certificate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from swarmlet.ca.authority import RootCA
from swarmlet.ca.expiry import (
    DEFAULT_NODE_CERT_EXPIRY,
    MIN_NODE_CERT_EXPIRY,
    check_cert_expiry,
    node_cert_validity,
)
from swarmlet.ca.node import NodeCertificates, make_csr, new_key
from swarmlet.ca.tls_server import ServerContextSource
from swarmlet.errors import SwarmletError

HOUR = 3600 * 10**9


@pytest.mark.parametrize("value,expected", [
    (None, DEFAULT_NODE_CERT_EXPIRY),
    ("90d", DEFAULT_NODE_CERT_EXPIRY),
    (True, DEFAULT_NODE_CERT_EXPIRY),
    (-5, DEFAULT_NODE_CERT_EXPIRY),
    (2 * HOUR, timedelta(hours=2)),
    (60 * 10**9, MIN_NODE_CERT_EXPIRY),  # under the minimum: the minimum
])
def test_validity_from_the_spec(value, expected):
    assert node_cert_validity({"CAConfig": {"NodeCertExpiry": value}}) == expected


def test_dockers_minimum():
    with pytest.raises(SwarmletError, match="minimum certificate expiry time is 1h0m0s"):
        check_cert_expiry(timedelta(minutes=59))
    assert check_cert_expiry(timedelta(hours=1)) == timedelta(hours=1)


def issue(root: RootCA, validity: timedelta) -> NodeCertificates:
    key = new_key()
    return NodeCertificates(key, root.sign_csr(make_csr(key), "n1", "worker", "c1", validity),
                            root.cert_pem)


@pytest.mark.parametrize("validity", [timedelta(hours=1), timedelta(hours=3),
                                      timedelta(days=90)])
def test_renewal_falls_between_half_and_four_fifths_of_the_life_since_issue(validity):
    root = RootCA.create()
    for _ in range(5):
        certs = issue(root, validity)
        now = datetime.now(UTC)
        assert not certs.needs_renewal(now)  # a fresh certificate is not due at once
        share = (certs.renew_at - certs.issued_at) / (certs.expires_at - certs.issued_at)
        assert 0.5 <= share <= 0.8
        assert certs.needs_renewal(now + validity * 0.81)
        assert abs(certs.expires_at - (certs.issued_at + validity)) < timedelta(seconds=5)


def test_the_server_context_follows_a_renewed_certificate(tmp_path):
    root = RootCA.create()
    issue(root, timedelta(hours=1)).save(tmp_path)
    source = ServerContextSource(tmp_path)
    first = source()
    assert source() is first  # unchanged files: the same context
    issue(root, timedelta(hours=2)).save(tmp_path)
    assert source() is not first
