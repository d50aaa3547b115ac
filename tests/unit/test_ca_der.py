"""Reading a node's certificate and CSR without the crypto library (ca/der.py): the facts
must be those the crypto library reads."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from swarmlet.ca.authority import RootCA
from swarmlet.ca.der import DerError, csr_public_key, read_certificate
from swarmlet.ca.node import make_csr, new_key
from swarmlet.ca.renewal import Validity
from swarmlet.errors import SwarmletError

SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def root() -> RootCA:
    return RootCA.create()


@pytest.mark.parametrize("validity", [timedelta(hours=1), timedelta(days=90)])
def test_a_node_certificate_reads_as_the_crypto_library_reads_it(root, validity):
    key = new_key()
    csr = make_csr(key)
    pem = root.sign_csr(csr, "n1", "worker", "c1", validity)
    cert = x509.load_pem_x509_certificate(pem)
    facts = read_certificate(pem)
    assert facts.serial == cert.serial_number
    assert facts.not_before == cert.not_valid_before_utc
    assert facts.not_after == cert.not_valid_after_utc
    assert facts.public_key == cert.public_key().public_bytes(*SPKI)
    assert csr_public_key(csr) == facts.public_key
    assert csr_public_key(make_csr(new_key())) != facts.public_key


def test_times_after_2049_are_generalized_times():
    """RFC 5280 writes dates from 2050 as GeneralizedTime: the root CA's 20 years reach it
    from 2030 on; a hand-made certificate shows both kinds now."""
    key = serialization.load_pem_private_key(new_key(), password=None)
    name = x509.Name([])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(2**100)
            .not_valid_before(datetime(1999, 12, 31, 23, 59, 58, tzinfo=UTC))
            .not_valid_after(datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC))
            .sign(key, hashes.SHA256()))
    facts = read_certificate(cert.public_bytes(serialization.Encoding.PEM))
    assert facts.serial == 2**100
    assert facts.not_before == datetime(1999, 12, 31, 23, 59, 58, tzinfo=UTC)
    assert facts.not_after == datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_what_is_not_a_certificate_is_an_error_not_a_guess(root):
    pem = root.cert_pem
    der = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    truncated = (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der[:40])
                 + b"-----END CERTIFICATE-----\n")
    for bad in (b"", b"hello", truncated, make_csr(new_key())):
        with pytest.raises(DerError):
            read_certificate(bad)
    with pytest.raises(SwarmletError, match="invalid node certificate"):
        Validity.of(truncated)
