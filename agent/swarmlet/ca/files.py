"""A node's certificate files, as Docker keeps them in /var/lib/docker/swarm/certificates:
swarm-root-ca.crt, swarm-node.crt, swarm-node.key (0600); and how any of them is written.
Standard library only: a worker reads and writes them without the crypto library."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

CA_CERT_FILE = "swarm-root-ca.crt"
NODE_KEY_FILE = "swarm-node.key"
NODE_CERT_FILE = "swarm-node.crt"


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write a file whole or not at all (tmp + fsync + rename), created with `mode` so a
    key is never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def node_files_exist(directory: Path) -> bool:
    """Whether the directory holds a node key and certificate (a node that has joined)."""
    return (directory / NODE_KEY_FILE).is_file() and (directory / NODE_CERT_FILE).is_file()


def save_node_files(directory: Path, key_pem: bytes, cert_pem: bytes, ca_pem: bytes) -> None:
    """Each file is atomic, the set is not: a crash between the writes leaves a key and
    certificate that do not match, which loading them reports clearly."""
    write_atomic(directory / NODE_KEY_FILE, key_pem, 0o600)
    write_atomic(directory / NODE_CERT_FILE, cert_pem, 0o644)
    write_atomic(directory / CA_CERT_FILE, ca_pem, 0o644)
