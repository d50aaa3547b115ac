"""A node's certificate files, as Docker keeps them in /var/lib/docker/swarm/certificates:
swarm-root-ca.crt, swarm-node.crt, swarm-node.key (0600); and how any of them is written.
Standard library only: a worker reads and writes them without the crypto library."""

from __future__ import annotations

from pathlib import Path

from swarmlet.durable_files import write_atomic

CA_CERT_FILE = "swarm-root-ca.crt"
NODE_KEY_FILE = "swarm-node.key"
NODE_CERT_FILE = "swarm-node.crt"

__all__ = ["CA_CERT_FILE", "NODE_CERT_FILE", "NODE_KEY_FILE", "node_files_exist",
           "read_node_key", "save_node_files", "write_atomic"]


def node_files_exist(directory: Path) -> bool:
    """Whether the directory holds a node key and certificate (a node that has joined)."""
    return (directory / NODE_KEY_FILE).is_file() and (directory / NODE_CERT_FILE).is_file()


def save_node_files(directory: Path, key_pem: bytes, cert_pem: bytes, ca_pem: bytes) -> None:
    """Each file is atomic, the set is not: a crash between the writes leaves a key and
    certificate that do not match, which loading them reports clearly."""
    write_atomic(directory / NODE_KEY_FILE, key_pem, 0o600)
    write_atomic(directory / NODE_CERT_FILE, cert_pem, 0o644)
    write_atomic(directory / CA_CERT_FILE, ca_pem, 0o644)


def read_node_key(directory: Path, password: bytes | None) -> bytes:
    """The node key as a plain PEM. A manager's is encrypted (ca/kek.py): opening it takes
    the crypto library, which only managers load."""
    key_pem = (directory / NODE_KEY_FILE).read_bytes()
    if b"ENCRYPTED" not in key_pem.split(b"\n", 1)[0]:
        return key_pem
    from swarmlet.ca.kek import plain_key_pem

    return plain_key_pem(key_pem, password)
