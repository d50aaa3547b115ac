"""Secret and config data, the CA key, join tokens and the unlock key sealed before they
enter Raft (DESIGN.md §3): AES-256-GCM under a key only managers hold, so the Raft journal
and dump on disk hold ciphertext only.

The key is derived (HKDF-SHA256) from the swarm's Raft key of an epoch (store/keyring.py),
which every manager has and no worker ever gets. A value sealed under epoch E is written
"eE." + base64 (a value without the prefix is of epoch 0: sealed before keys rotated).
Values are sealed under the epoch in use, which every manager holds. Each value has a fresh
96-bit nonce and the object's ID as associated data: a sealed value copied onto another
object does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from swarmlet.errors import SwarmletError
from swarmlet.store.keyring import RaftKeyRing, UnknownEpoch

_INFO = b"swarmlet secret and config data v1"
_NONCE = 12


class SealError(SwarmletError):
    """Sealed data that does not open (another swarm's key, tampered, or moved)."""


def data_key(raft_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        raft_key.encode())


class DataKeys:
    """seal/unseal under the swarm's key ring: sealing with the epoch in use, opening with
    the epoch a value names."""

    def __init__(self, ring: RaftKeyRing) -> None:
        self.ring = ring
        self._keys: dict[int, bytes] = {}

    def _key(self, epoch: int) -> bytes:
        key = self._keys.get(epoch)
        if key is None:
            try:
                key = self._keys[epoch] = data_key(self.ring.key(epoch))
            except UnknownEpoch:
                raise SealError(f"data sealed under raft key epoch {epoch}, which this "
                                "manager does not hold") from None
        return key

    def seal(self, object_id: str, data: bytes) -> str:
        epoch = self.ring.send_epoch
        return f"e{epoch}.{seal(self._key(epoch), object_id, data)}"

    def unseal(self, object_id: str, sealed: str) -> bytes:
        epoch, body = sealed_epoch(sealed)
        return unseal(self._key(epoch), object_id, body)


def sealed_epoch(sealed: str) -> tuple[int, str]:
    """(epoch, base64 body) of a sealed value."""
    if sealed.startswith("e") and "." in sealed[:12]:
        head, _, body = sealed.partition(".")
        if head[1:].isdigit():
            return int(head[1:]), body
    return 0, sealed


def seal(key: bytes, object_id: str, data: bytes) -> str:
    nonce = os.urandom(_NONCE)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, data, object_id.encode())
                            ).decode()


def unseal(key: bytes, object_id: str, sealed: str) -> bytes:
    try:
        raw = base64.b64decode(sealed, validate=True)
    except ValueError:
        raise SealError(f"the data of {object_id} is not a sealed value") from None
    try:
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], object_id.encode())
    except InvalidTag:
        raise SealError(f"the data of {object_id} does not open with this swarm's key") \
            from None
