"""The Raft port's frames (store/raft_wire.py): sealed with the swarm's key, refused when
tampered with or sealed with another key."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from swarmlet.store.raft_wire import WireCipher


def test_a_frame_opens_with_the_same_key_and_keeps_its_timestamp() -> None:
    sealed = WireCipher("key-a").encrypt_at_time(b"append entries", 42)
    opener = WireCipher("key-a")
    assert opener.extract_timestamp(sealed) == 42
    assert opener.decrypt(sealed) == b"append entries"
    assert b"append entries" not in sealed


def test_another_key_or_a_changed_byte_is_refused() -> None:
    sealed = WireCipher("key-a").encrypt_at_time(b"vote for me", 7)
    with pytest.raises(InvalidTag):
        WireCipher("key-b").decrypt(sealed)
    for at in (1, 20, len(sealed) - 1):  # the timestamp, the nonce, the tag
        changed = bytearray(sealed)
        changed[at] ^= 1
        with pytest.raises(InvalidTag):
            WireCipher("key-a").decrypt(bytes(changed))


def test_a_frame_of_another_format_is_refused_before_decrypting() -> None:
    with pytest.raises(ValueError, match="not a swarmlet raft frame"):
        WireCipher("key-a").extract_timestamp(b"gAAAAA" + b"\0" * 40)  # a Fernet token


def test_every_frame_has_a_nonce_of_its_own() -> None:
    """GCM is broken by two frames under one key with one nonce: frames of one cipher,
    and of ciphers made with the same key (every manager's), never share one."""
    ciphers = [WireCipher("key-a") for _ in range(3)]
    sealed = [c.encrypt_at_time(b"x", 1) for c in ciphers for _ in range(100)]
    nonces = {frame[9:21] for frame in sealed}  # after the version and timestamp
    assert len(nonces) == len(sealed)
    assert all(ciphers[0].decrypt(frame) == b"x" for frame in sealed)
