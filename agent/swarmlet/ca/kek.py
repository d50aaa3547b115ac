"""A manager's key-encryption key (KEK): what its keys on disk are sealed with.

A manager keeps two secrets on disk: its TLS key (certificates/swarm-node.key) and the
swarm's Raft keys (swarm/keys.json, store/keyring.py), from which the keys of the sealed
data in Raft (secrets, the CA key, join tokens) derive. Both are sealed with the KEK:

- without autolock, the KEK is 32 random bytes in a root-only file outside the data dir
  (Config.kek_path): a copy of the data dir alone opens nothing;
- with autolock (`swarm init --autolock`, `swarm update --autolock=true`), the KEK is the
  swarm's unlock key, `SWMKEY-1-` + base64 as Docker prints it, kept on no disk: a manager
  that starts again waits locked until `swarm unlock` gives it the key.

The node key is an encrypted PKCS#8 PEM under a random password, which Python's ssl loads;
the password is sealed with the Raft keys in keys.json (AES-256-GCM, a key derived from the
KEK with HKDF), so a change of KEK rewrites that one file, atomically.

Standard library at import: a worker's agent loads this module and must not load the crypto
library (ca/csr.py); only managers call what needs it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from pathlib import Path

from swarmlet.durable_files import write_atomic
from swarmlet.errors import DomainError, SwarmletError

UNLOCK_PREFIX = "SWMKEY-1-"
KEK_BYTES = 32
_NONCE = 12
INVALID_KEY = "swarm could not be unlocked: invalid key provided"


class InvalidUnlockKey(DomainError):
    """A key that is no unlock key, or not the one the keys on disk are sealed with."""

    code = "bad_key"

    def __init__(self) -> None:
        super().__init__(INVALID_KEY)


def new_kek() -> bytes:
    return os.urandom(KEK_BYTES)


def format_unlock_key(kek: bytes) -> str:
    """As Docker prints it: SWMKEY-1- and the key in base64 without padding."""
    return UNLOCK_PREFIX + base64.b64encode(kek).decode().rstrip("=")


def parse_unlock_key(text: str) -> bytes:
    text = text.strip()
    if not text.startswith(UNLOCK_PREFIX):
        raise InvalidUnlockKey()
    body = text[len(UNLOCK_PREFIX):]
    try:
        kek = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidUnlockKey() from None
    if len(kek) != KEK_BYTES:
        raise InvalidUnlockKey()
    return kek


def same_kek(a: bytes | None, b: bytes | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def _derive(kek: bytes, purpose: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"swarmlet kek",
                info=purpose).derive(kek)


def seal(kek: bytes, purpose: str, data: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE)
    box = AESGCM(_derive(kek, purpose.encode())).encrypt(nonce, data, purpose.encode())
    return base64.b64encode(nonce + box).decode()


def unseal(kek: bytes, purpose: str, sealed: str) -> bytes:
    """The data; InvalidUnlockKey if the KEK is not the one it was sealed with."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(sealed)
    try:
        return AESGCM(_derive(kek, purpose.encode())).decrypt(
            raw[:_NONCE], raw[_NONCE:], purpose.encode())
    except InvalidTag:
        raise InvalidUnlockKey() from None


def new_pem_password() -> bytes:
    return os.urandom(32).hex().encode()


def encrypt_key_pem(key_pem: bytes, password: bytes) -> bytes:
    """The node key as an encrypted PEM, which Python's ssl loads with the password."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(password))


def plain_key_pem(key_pem: bytes, password: bytes | None) -> bytes:
    """The node key as a plain PEM, whether it was encrypted (with `password`) or not."""
    if not is_encrypted_pem(key_pem):
        return key_pem
    if password is None:
        raise SwarmletError("the node key is encrypted and this node is locked")
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(key_pem, password=password)
    except ValueError:
        raise InvalidUnlockKey() from None
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def is_encrypted_pem(key_pem: bytes) -> bool:
    return b"ENCRYPTED" in key_pem.split(b"\n", 1)[0]


class KekFile:
    """The KEK of a manager without autolock: a root-only file outside the data dir."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> bytes | None:
        try:
            kek = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if len(kek) != KEK_BYTES:
            raise SwarmletError(f"{self.path} is not a swarmlet key-encryption key")
        return kek

    def create(self) -> bytes:
        kek = new_kek()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path, kek, 0o600)
        return kek

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
