"""The bytes on the Raft port: pysyncobj's framing, sealed with AES-GCM, not compressed.

pysyncobj frames each message as zlib(pickle(message)) sealed with Fernet (AES-CBC, HMAC,
base64). For the small messages Raft exchanges that cost ~70 µs a message, of which zlib
alone is ~30 µs (its compressor is set up anew each time): a third of a manager's CPU per
write. Here each frame is AES-GCM(pickle(message)): ~2 µs, and the tag is checked before
anything is unpickled, as Fernet's HMAC was. The frame size is capped, so a stranger on the
port cannot make a manager buffer an endless frame.

pysyncobj builds its connections and its cipher by module-level names (TcpConnection,
getEncryptor) in four modules; install() points them at the classes below once, for the
whole process: RaftStore is this process's only pysyncobj user. Every manager of a swarm
must speak the same wire, so a manager of an older release cannot join one of this one.
"""

from __future__ import annotations

import errno
import itertools
import os
import socket
import struct
from typing import Any

import pysyncobj.pickle as syncobj_pickle
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pysyncobj import syncobj, tcp_server, transport, utility
from pysyncobj.monotonic import monotonic
from pysyncobj.tcp_connection import TcpConnection

from swarmlet.store.keyring import RaftKeyRing, UnknownEpoch

VERSION = b"\x02"
# version, key epoch (store/keyring.py), sender's timestamp (seconds): the associated data
_HEADER = struct.Struct(">cIQ")
_NONCE = 12
_NONCES = 2 ** (8 * _NONCE)
# Larger than any frame pysyncobj sends (entries in 64 KiB batches, snapshots in chunks).
MAX_FRAME = 16 * 1024 * 1024
# Until a connection's first frame opened with the key (pysyncobj's handshake: a random
# 32-byte key, pickled and sealed, ~100 bytes), a peer is a stranger: its frames may be no
# larger than this, so garbage costs the tick thread a 4-byte read and a disconnect, not the
# buffering of a 16 MiB frame.
MAX_STRANGER_FRAME = 1024


class WireCipher:
    """What pysyncobj asks of its encryptor (a Fernet's encrypt_at_time, extract_timestamp
    and decrypt), as AES-GCM under a key derived from the swarm's Raft key of the ring's
    epoch in use; a frame names its epoch, and one the ring does not take is refused."""

    def __init__(self, password: str | bytes | RaftKeyRing) -> None:
        if isinstance(password, RaftKeyRing):
            self.ring = password
        else:
            self.ring = RaftKeyRing.single(
                password.decode() if isinstance(password, bytes) else password)
        self._aeads: dict[int, AESGCM] = {}
        # Nonces: a random start, then one up per frame (GCM needs them unique under the
        # key, not unpredictable). Two ciphers' runs overlap with a chance of about
        # frames / 2**95; a random nonce per frame cost a getrandom call, and a GIL
        # handover on the busy tick thread.
        self._first_nonce = int.from_bytes(os.urandom(_NONCE), "big")
        self._frames = itertools.count()  # next() is atomic: one cipher may serve threads

    def _aead(self, epoch: int) -> AESGCM:
        aead = self._aeads.get(epoch)
        if aead is None:
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"swarmlet raft wire",
                       info=b"v1").derive(self.ring.key(epoch).encode())
            aead = self._aeads[epoch] = AESGCM(key)
        return aead

    def encrypt_at_time(self, data: bytes, timestamp: int) -> bytes:
        epoch = self.ring.send_epoch
        header = _HEADER.pack(VERSION, epoch, timestamp)
        nonce = ((self._first_nonce + next(self._frames)) % _NONCES).to_bytes(_NONCE, "big")
        return header + nonce + self._aead(epoch).encrypt(nonce, data, header)

    def extract_timestamp(self, token: bytes) -> int:
        version, _, timestamp = _HEADER.unpack_from(token)
        if version != VERSION:
            raise ValueError("not a swarmlet raft frame")
        return int(timestamp)

    def decrypt(self, token: bytes) -> bytes:
        _, epoch, _ = _HEADER.unpack_from(token)
        if not self.ring.takes(epoch):
            raise UnknownEpoch(f"a frame under raft key epoch {epoch}, not taken here")
        header, nonce = token[:_HEADER.size], token[_HEADER.size:_HEADER.size + _NONCE]
        return self._aead(epoch).decrypt(nonce, token[_HEADER.size + _NONCE:], header)


class RaftConnection(TcpConnection):
    """pysyncobj's connection with frames of WireCipher(pickle(message)). The methods
    replace TcpConnection.send, its private read and its private frame parser (name-mangled,
    so overriding them means naming them so); buffers and state stay the base class's, but
    the read buffer is a bytearray (pysyncobj's bytes grew by copying: a large frame cost
    the tick thread seconds)."""

    opened = False  # a frame of this connection opened with the key: a member's

    def _TcpConnection__processRead(self) -> bool:
        sock = self._TcpConnection__socket
        try:
            incoming = sock.recv(self._TcpConnection__recvBufferSize)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                self.disconnect()
            return False
        if not incoming or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            self.disconnect()
            return False
        buffer = self._TcpConnection__readBuffer
        if not isinstance(buffer, bytearray):
            buffer = self._TcpConnection__readBuffer = bytearray(buffer)
        buffer += incoming
        return True

    def disconnect(self) -> None:
        self.opened = False  # pysyncobj reconnects an outgoing connection with this object
        super().disconnect()

    def send(self, message: Any) -> None:
        if self.sendRandKey:
            message = (self.sendRandKey, message)
        data = syncobj_pickle.dumps(message)
        if self.encryptor:
            data = self.encryptor.encrypt_at_time(data, int(monotonic()))
        self._TcpConnection__writeBuffer += struct.pack("i", len(data)) + data
        self._TcpConnection__trySendBuffer()

    def _TcpConnection__processParseMessage(self) -> Any:
        buffer = self._TcpConnection__readBuffer
        if len(buffer) < 4:
            return None
        size = struct.unpack("i", buffer[:4])[0]
        if size < 0 or size > (MAX_FRAME if self.opened else MAX_STRANGER_FRAME):
            self.disconnect()
            return None
        if len(buffer) - 4 < size:
            return None
        data = bytes(buffer[4:4 + size])
        try:
            if self.encryptor:
                timestamp = self.encryptor.extract_timestamp(data)
                if timestamp < self.recvLastTimestamp:
                    raise ValueError("frame older than the last one")
                data = self.encryptor.decrypt(data)  # the tag is checked before unpickling
                self.recvLastTimestamp = timestamp
            message = syncobj_pickle.loads(data)
            if self.recvRandKey:
                rand_key, message = message
                if rand_key != self.recvRandKey:
                    raise ValueError("frame of another connection")
        except Exception:  # anything not sealed by a member: drop the connection
            self.disconnect()
            return None
        self.opened = True
        del buffer[:4 + size]
        return message


def install() -> None:
    """Point pysyncobj at RaftConnection and WireCipher (idempotent)."""
    for module in (transport, tcp_server, utility):
        module.TcpConnection = RaftConnection  # type: ignore[attr-defined]
    for module in (syncobj, utility):
        module.getEncryptor = WireCipher  # type: ignore[attr-defined]
