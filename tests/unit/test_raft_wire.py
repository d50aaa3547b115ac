"""The Raft port's frames (store/raft_wire.py): sealed with the swarm's key, refused when
tampered with or sealed with another key."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from swarmlet.store.keyring import GRACE, RaftKeyRing, UnknownEpoch
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
    for at in (8, 20, len(sealed) - 1):  # the timestamp, the nonce, the tag
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
    nonces = {frame[13:25] for frame in sealed}  # after the version, epoch and timestamp
    assert len(nonces) == len(sealed)
    assert all(ciphers[0].decrypt(frame) == b"x" for frame in sealed)


def test_frames_name_their_epoch_and_the_old_one_is_refused_after_the_switch() -> None:
    """A key rotation (a manager left): once every member holds the new key they all send
    under it, and a former manager's copy of the old key opens nothing new and is not
    taken once the grace is over."""
    old_ring = RaftKeyRing({0: "old"})
    ring = RaftKeyRing({0: "old", 1: "new"})
    before = WireCipher(ring).encrypt_at_time(b"under epoch 0", 1)
    assert WireCipher(old_ring).decrypt(before) == b"under epoch 0"
    ring.use(1, now=100.0)
    after = WireCipher(ring).encrypt_at_time(b"under epoch 1", 2)
    with pytest.raises(UnknownEpoch):
        WireCipher(old_ring).decrypt(after)  # the former manager cannot open it
    forged = WireCipher(old_ring).encrypt_at_time(b"from the former manager", 3)
    assert ring.takes(0, now=100.0 + GRACE - 1)
    assert not ring.takes(0, now=100.0 + GRACE + 1)
    ring.use(1)  # the grace is counted from the switch, not from later calls
    with pytest.raises(UnknownEpoch):
        WireCipher(RaftKeyRing({0: "old", 1: "new"}, send_epoch=1)).decrypt(forged)


def test_a_ring_never_goes_back_to_an_older_epoch_nor_uses_one_it_lacks() -> None:
    ring = RaftKeyRing({0: "a", 1: "b"}, send_epoch=1)
    ring.use(0)
    assert ring.send_epoch == 1
    with pytest.raises(UnknownEpoch):
        ring.use(2)
    assert RaftKeyRing.from_export(ring.export()).export() == {"0": "a", "1": "b"}
