"""A manager's keys on its disk: the swarm's Raft key ring and the password of its node key,
sealed together in swarm/keys.json with the key-encryption key (ca/kek.py): the KEK file
without autolock, the swarm's unlock key with it (then the manager starts locked).

Only managers have keys here; a worker's node key is a plain PEM (0600), as Docker's is.
One file holds everything the KEK seals, so a change of KEK (autolock on or off, a new
unlock key) is one atomic rename.
"""

from __future__ import annotations

import json
import logging

from swarmlet.ca.files import NODE_KEY_FILE, read_node_key, write_atomic
from swarmlet.ca.kek import (
    KekFile,
    encrypt_key_pem,
    is_encrypted_pem,
    new_pem_password,
    parse_unlock_key,
    same_kek,
    seal,
    unseal,
)
from swarmlet.ca.node_state import NodeFiles
from swarmlet.errors import Conflict, SwarmletError
from swarmlet.store.keyring import RaftKeyRing

log = logging.getLogger("swarmlet.node")

PURPOSE = "swarmlet manager keys"
FILE_LOCK, AUTOLOCK = "file", "autolock"
NOT_LOCKED = "swarm is not locked"


class NotLocked(Conflict):
    def __init__(self) -> None:
        super().__init__(NOT_LOCKED)


class LocalKeys:
    """The manager's keys: opened from keys.json, changed by the manager (a new Raft key
    epoch, a change of lock), forgotten at a demotion."""

    def __init__(self, files: NodeFiles, kek_file: KekFile) -> None:
        self.files = files
        self.kek_file = kek_file
        self.ring: RaftKeyRing | None = None
        self._kek: bytes | None = None
        self._autolock = False
        self._password: bytes | None = None

    @property
    def autolocked(self) -> bool:
        return self._autolock

    def sealed_with_unlock_key(self) -> bool:
        """Whether keys.json waits for the unlock key (a restarted autolocked manager)."""
        doc = self.files.read_keys()
        return doc is not None and doc.get("Lock") == AUTOLOCK

    # --- a manager's keys come -----------------------------------------------------------

    def create(self, ring: RaftKeyRing, unlock_kek: bytes | None = None) -> None:
        """A new manager (init, join, promotion): seal the ring and encrypt the node key."""
        self.ring = ring
        self._password = new_pem_password()
        self._set_kek(unlock_kek)
        self.save()
        self._encrypt_node_key()

    def open(self) -> None:
        """At start, without autolock: with the KEK file (an old release's clear raft.key is
        sealed now)."""
        doc = self.files.read_keys()
        if doc is None:
            legacy = self.files.legacy_raft_key()
            if not legacy:
                raise SwarmletError("this manager has no raft key (data dir damaged?)")
            log.info("sealing this manager's keys with a key-encryption key (%s)",
                     self.kek_file.path)
            self.create(RaftKeyRing.single(legacy))
            return
        if doc.get("Lock") == AUTOLOCK:
            raise SwarmletError("this manager is locked: it needs the unlock key")
        kek = self.kek_file.read()
        if kek is None:
            raise SwarmletError(f"the key-encryption key {self.kek_file.path} is missing: "
                                "this manager's keys cannot be opened")
        self._open(doc, kek)

    def unlock(self, unlock_key: str) -> None:
        """`swarm unlock`: InvalidUnlockKey unless keys.json opens with it."""
        doc = self.files.read_keys()
        if doc is None or doc.get("Lock") != AUTOLOCK:
            raise NotLocked()
        self._open(doc, parse_unlock_key(unlock_key))

    def _open(self, doc: dict, kek: bytes) -> None:
        data = json.loads(unseal(kek, PURPOSE, doc["Sealed"]))
        self.ring = RaftKeyRing.from_export(data["Keys"], data.get("SendEpoch"))
        self._password = data["NodeKeyPassword"].encode()
        self._kek, self._autolock = kek, doc.get("Lock") == AUTOLOCK
        self.files.node_key_password = self._password
        self._encrypt_node_key()  # a crash may have left it plain after keys.json was made

    # --- changes while it runs -----------------------------------------------------------

    def save(self) -> None:
        """Seal the ring (a new epoch, the epoch in use) and the node key's password: fsynced
        before the manager uses a new key."""
        assert self.ring is not None and self._password is not None and self._kek is not None
        data = {"Keys": self.ring.export(), "SendEpoch": self.ring.send_epoch,
                "NodeKeyPassword": self._password.decode()}
        self.files.save_keys({"Lock": AUTOLOCK if self._autolock else FILE_LOCK,
                              "Sealed": seal(self._kek, PURPOSE, json.dumps(data).encode())})
        if self._autolock:
            self.kek_file.remove()  # only once nothing on disk needs it

    def relock(self, unlock_kek: bytes | None) -> bool:
        """Seal with the swarm's unlock key (autolock) or the KEK file (None), if that is
        not what seals them now. True if it changed."""
        if self.ring is None:
            return False
        if unlock_kek is not None and self._autolock and same_kek(unlock_kek, self._kek):
            return False
        if unlock_kek is None and not self._autolock:
            return False
        self._set_kek(unlock_kek)
        self.save()
        log.info("this manager's keys are now sealed with %s",
                 "the unlock key" if unlock_kek else f"the KEK file {self.kek_file.path}")
        return True

    def _set_kek(self, unlock_kek: bytes | None) -> None:
        if unlock_kek is not None:
            self._kek, self._autolock = unlock_kek, True
        else:
            self._kek = self.kek_file.read() or self.kek_file.create()
            self._autolock = False

    # --- a manager's keys go -------------------------------------------------------------

    def forget(self) -> None:
        """A demotion or leaving: the node key becomes a worker's plain PEM again; the ring,
        keys.json and the KEK file go."""
        certs = self.files.certs_dir
        if (certs / NODE_KEY_FILE).exists():
            plain = read_node_key(certs, self._password)
            write_atomic(certs / NODE_KEY_FILE, plain, 0o600)
        self.files.forget_raft()
        self.kek_file.remove()
        self.ring, self._kek, self._password, self._autolock = None, None, None, False

    def _encrypt_node_key(self) -> None:
        assert self._password is not None
        path = self.files.certs_dir / NODE_KEY_FILE
        key_pem = path.read_bytes()
        if not is_encrypted_pem(key_pem):
            write_atomic(path, encrypt_key_pem(key_pem, self._password), 0o600)
        self.files.node_key_password = self._password
