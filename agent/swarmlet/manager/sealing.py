"""Secret and config data sealed before it enters Raft (DESIGN.md §3): AES-256-GCM under a
key only managers hold, so the Raft journal and dump on disk hold ciphertext only.

The key is derived (HKDF-SHA256) from the swarm's Raft key, which every manager has and no
worker ever gets. Each value is sealed with a fresh 96-bit nonce and the object's ID as
associated data: a sealed value copied onto another object does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from swarmlet.errors import SwarmletError

_INFO = b"swarmlet secret and config data v1"
_NONCE = 12


class SealError(SwarmletError):
    """Sealed data that does not open (another swarm's key, tampered, or moved)."""


def data_key(raft_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        raft_key.encode())


def seal(key: bytes, object_id: str, data: bytes) -> str:
    nonce = os.urandom(_NONCE)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, data, object_id.encode())
                            ).decode()


def unseal(key: bytes, object_id: str, sealed: str) -> bytes:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], object_id.encode())
    except InvalidTag:
        raise SealError(f"the data of {object_id} does not open with this swarm's key") \
            from None
