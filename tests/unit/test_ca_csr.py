"""A node's key and CSR at join and renewal (ca/csr.py), made in a child process where the
crypto library is not loaded: what comes back must be what the CA signs and the node uses."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from swarmlet.ca import csr
from swarmlet.ca.authority import RootCA
from swarmlet.ca.node import NodeCertificates, make_csr, new_key
from swarmlet.errors import SwarmletError


@pytest.fixture(scope="module")
def root() -> RootCA:
    return RootCA.create()


def test_a_key_and_csr_from_the_child_are_signed_and_fit_together(root, tmp_path):
    out = csr._in_child({"ca": root.cert_pem.decode()})
    key, request = out["key"].encode(), out["csr"].encode()
    cert = root.sign_csr(request, "w1", "worker", "c1", timedelta(hours=2))
    csr.check_issued_for(cert, request)
    NodeCertificates(key, cert, root.cert_pem)  # the crypto library agrees: they match

    renewed = csr._in_child({"key": key.decode()})["csr"].encode()
    csr.check_issued_for(root.sign_csr(renewed, "w1", "manager", "c1"), renewed)


def test_the_child_refuses_a_root_that_is_no_ca_certificate(root):
    leaf = root.sign_csr(make_csr(new_key()), "n1", "worker", "c1")
    with pytest.raises(SwarmletError, match="not a CA certificate"):
        csr._in_child({"ca": leaf.decode()})


def test_a_certificate_for_another_key_is_refused(root):
    request = make_csr(new_key())
    other = root.sign_csr(make_csr(new_key()), "n1", "worker", "c1")
    with pytest.raises(SwarmletError, match="does not match"):
        csr.check_issued_for(other, request)
    with pytest.raises(SwarmletError, match="invalid node certificate"):
        csr.check_issued_for(b"garbage", request)


def test_a_process_without_the_crypto_library_keeps_it_unloaded(root):
    """What a worker's agent does at join and renewal, and at every heartbeat (the renewal
    time): none of it maps the crypto library into the process."""
    code = textwrap.dedent(f"""
        import sys
        from swarmlet.ca.csr import join_request, renewal_request
        from swarmlet.ca.renewal import Validity
        key, request = join_request({root.cert_pem!r})
        assert renewal_request(key).startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
        Validity.of({root.cert_pem!r}).needs_renewal()
        print("cryptography" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False"]
