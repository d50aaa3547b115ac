"""Root CA and node certificates, with real keys and signatures."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from swarmlet.ca.authority import CA_CERT_FILE, CA_KEY_FILE, RootCA
from swarmlet.ca.files import NODE_CERT_FILE, NODE_KEY_FILE
from swarmlet.ca.identity import NodeIdentity
from swarmlet.ca.node import (
    NodeCertificates,
    make_csr,
    new_key,
)
from swarmlet.ca.subject import identity_of
from swarmlet.ca.tokens import ca_digest
from swarmlet.errors import SwarmletError


@pytest.fixture(scope="module")
def root() -> RootCA:
    return RootCA.create()


def issue(root: RootCA, role: str = "worker", node_id: str = "node1",
          validity: timedelta = timedelta(days=90)) -> NodeCertificates:
    key = new_key()
    cert = root.sign_csr(make_csr(key), node_id, role, "cluster1", validity)
    return NodeCertificates(key, cert, root.cert_pem)


def test_root_ca_is_a_p256_ca_valid_20_years(root):
    cert = x509.load_pem_x509_certificate(root.cert_pem)
    assert cert.subject.rfc4514_string() == "CN=swarm-ca" == cert.issuer.rfc4514_string()
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=20 * 365) <= lifetime <= timedelta(days=20 * 365 + 1)
    assert root.digest == ca_digest(root.cert_pem)


def test_save_and_load_round_trip_with_a_private_key_file(root, tmp_path):
    root.save(tmp_path / "certs")
    key_file = tmp_path / "certs" / CA_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == [CA_CERT_FILE, CA_KEY_FILE]
    loaded = RootCA.load(tmp_path / "certs")
    assert loaded.cert_pem == root.cert_pem and loaded.key_pem == root.key_pem
    assert loaded.can_sign

    key_file.unlink()  # as on a worker: the certificate only
    worker_view = RootCA.load(tmp_path / "certs")
    assert worker_view.key_pem is None and not worker_view.can_sign
    with pytest.raises(SwarmletError, match="cannot sign"):
        worker_view.sign_csr(make_csr(new_key()), "n", "worker", "c")


def test_load_without_a_certificate_is_a_clear_error(tmp_path):
    with pytest.raises(SwarmletError, match="no root CA certificate"):
        RootCA.load(tmp_path)


def test_the_ca_decides_the_identity_not_the_csr(root):
    key = ec.generate_private_key(ec.SECP256R1())
    greedy = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "someone-else"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "swarm-manager"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "other-cluster"),
        ]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    before = datetime.now(UTC)
    cert_pem = root.sign_csr(greedy, "node7", "worker", "cluster1")
    assert identity_of(cert_pem) == NodeIdentity("node7", "worker", "cluster1")
    assert root.verify(cert_pem) == NodeIdentity("node7", "worker", "cluster1")

    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value \
        == "swarm-worker"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["node7", "swarm-worker"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    # Backdated an hour for clock skew, 90 days ahead of now by default.
    # (X.509 times have whole seconds.)
    assert abs(before - cert.not_valid_before_utc - timedelta(hours=1)) < timedelta(minutes=1)
    assert abs(cert.not_valid_after_utc - before - timedelta(days=90)) < timedelta(minutes=1)


def test_manager_certificates_carry_the_manager_ou(root):
    certs = issue(root, role="manager", node_id="m1")
    assert certs.identity == NodeIdentity("m1", "manager", "cluster1")
    with pytest.raises(SwarmletError, match="invalid node role"):
        root.sign_csr(make_csr(new_key()), "x", "admin", "cluster1")


def test_a_csr_with_a_bad_signature_is_refused(root):
    key = ec.generate_private_key(ec.SECP256R1())
    der = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aaaa")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    tampered = der.replace(b"aaaa", b"bbbb")  # the body changes, the signature does not
    pem = x509.load_der_x509_csr(tampered).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(SwarmletError, match="bad signature"):
        root.sign_csr(pem, "n", "worker", "c")
    with pytest.raises(SwarmletError, match="invalid certificate signing request"):
        root.sign_csr(b"not a csr", "n", "worker", "c")


def test_verify_rejects_a_certificate_from_another_ca(root):
    stranger = issue(RootCA.create())
    with pytest.raises(SwarmletError, match="not issued by this swarm's root CA"):
        root.verify(stranger.cert_pem)


def test_verify_rejects_an_expired_certificate(root):
    certs = issue(root, validity=timedelta(seconds=1))
    assert root.verify(certs.cert_pem) == certs.identity
    later = datetime.now(UTC) + timedelta(seconds=5)
    with pytest.raises(SwarmletError, match="certificate expired"):
        root.verify(certs.cert_pem, now=later)
    assert certs.expired(later)
    with pytest.raises(SwarmletError, match="validity must be positive"):
        root.sign_csr(make_csr(new_key()), "n", "worker", "c", timedelta(hours=-1))


def test_renewal_point_is_between_50_and_80_percent_and_stable(root, tmp_path):
    certs = issue(root)
    span = certs.expires_at - certs.not_before
    assert certs.not_before + span * 0.5 <= certs.renew_at <= certs.not_before + span * 0.8
    assert not certs.needs_renewal(certs.not_before + span * 0.5 - timedelta(seconds=1))
    assert certs.needs_renewal(certs.not_before + span * 0.8)
    assert not certs.needs_renewal()  # a fresh certificate

    certs.save(tmp_path)
    assert NodeCertificates.load(tmp_path).renew_at == certs.renew_at  # same after a restart
    # Different certificates pick different points, so nodes do not renew all at once.
    shares = {(c.renew_at - c.not_before) / (c.expires_at - c.not_before)
              for c in (issue(root) for _ in range(5))}
    assert len(shares) > 1


def test_node_certificates_save_and_load(root, tmp_path):
    certs = issue(root, node_id="w1")
    certs.save(tmp_path)
    assert stat.S_IMODE((tmp_path / NODE_KEY_FILE).stat().st_mode) == 0o600
    assert NodeCertificates.exist_in(tmp_path)
    loaded = NodeCertificates.load(tmp_path)
    assert loaded == certs
    assert loaded.identity == NodeIdentity("w1", "worker", "cluster1")
    assert loaded.root.cert_pem == root.cert_pem

    (tmp_path / NODE_KEY_FILE).write_bytes(new_key())  # a key from elsewhere
    with pytest.raises(SwarmletError, match="does not match"):
        NodeCertificates.load(tmp_path)
    (tmp_path / NODE_CERT_FILE).unlink()
    with pytest.raises(SwarmletError, match="not part of a swarm"):
        NodeCertificates.load(tmp_path)


def test_new_key_is_unencrypted_pkcs8_p256():
    pem = new_key()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
