"""A node's key and certificate signing request (CSR), at `swarm join` and at each renewal.

Making a key and signing a CSR takes the crypto library, and `cryptography` brings its own
OpenSSL: ~13 MB of resident memory that a worker's agent would keep for the rest of its life
to use it once per join and renewal (bench/agent_idle.py). So where the library is not loaded
yet, the work runs in a short-lived child process (`python -m swarmlet.ca.csr`, a few tenths
of a second); the key travels over a pipe, never on a command line. A manager, which holds
the library for its CA, does it in-process. Either way the result is the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from swarmlet.ca.der import DerError, csr_public_key, read_certificate
from swarmlet.errors import SwarmletError

CHILD_TIMEOUT = 60.0  # seconds; it takes well under one


def join_request(ca_pem: bytes) -> tuple[bytes, bytes]:
    """For `swarm join`: refuse a root CA certificate that is no CA certificate (its digest
    already matched the join token), then a new key and a CSR for it: (key, CSR)."""
    out = _run({"ca": ca_pem.decode("ascii")})
    return out["key"].encode(), out["csr"].encode()


def renewal_request(key_pem: bytes) -> bytes:
    """For a renewal: a CSR for the node's key."""
    return _run({"key": key_pem.decode("ascii")})["csr"].encode()


def check_issued_for(cert_pem: bytes, csr_pem: bytes) -> None:
    """The certificate a manager answered with is for the CSR's key: one that is not would
    fail every handshake later, with a much vaguer error."""
    try:
        issued_for, asked_for = read_certificate(cert_pem).public_key, csr_public_key(csr_pem)
    except (DerError, ValueError) as exc:
        raise SwarmletError(f"invalid node certificate: {exc}") from None
    if issued_for != asked_for:
        raise SwarmletError("the node key does not match the node certificate")


def _work(request: dict[str, str]) -> dict[str, str]:
    # Imported here: importing this module must not load the crypto library.
    from swarmlet.ca.authority import RootCA
    from swarmlet.ca.node import make_csr, new_key

    if "ca" in request:
        RootCA(request["ca"].encode())  # checks it is a CA certificate
        key = new_key()
    else:
        key = request["key"].encode()
    return {"key": key.decode(), "csr": make_csr(key).decode()}


def _run(request: dict[str, str]) -> dict[str, Any]:
    if "cryptography" in sys.modules:
        return _work(request)
    return _in_child(request)


def _in_child(request: dict[str, str]) -> dict[str, Any]:
    try:
        proc = subprocess.run([sys.executable, "-P", "-m", __name__], input=json.dumps(request),
                              capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SwarmletError(f"could not make the node's key and CSR: {exc}") from None
    if proc.returncode:
        lines = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
        raise SwarmletError(lines[-1])
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def main() -> int:
    """The child: a request on stdin, the answer on stdout, a SwarmletError on stderr."""
    try:
        out = _work(json.load(sys.stdin))
    except SwarmletError as exc:
        print(exc, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
