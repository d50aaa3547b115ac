"""The swarm's Raft keys on every manager (store/keyring.py): a new epoch when a manager
leaves Raft, fetched by the others over mutual TLS, used once every member holds it; and
this manager's keys sealed the way the cluster asks (autolock or the KEK file).

What the store holds (no key, only epochs):
    cluster.RaftKeyEpoch            the newest epoch the leader made
    cluster.RaftKeyMembers          the Raft members when it was made (or since joined)
    node.ManagerStatus.RaftKeyEpoch the newest epoch that manager holds

Each manager, about once a second: fetch the cluster's epoch if it lacks it (from any other
manager: POST /raft/keys, served to Raft members only), record the epoch it holds, and seal
with the lowest epoch any member records (all hold it). The leader makes a new epoch when a
recorded member is no longer a member: the departed manager never gets it, and once the
others switch, frames and newly sealed data under the old keys are refused or unopenable.
A key is on this manager's disk (fsynced) before the store names its epoch.

Runs in its own thread: a fetch waits on the network, and the leader loop must not.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from swarmlet.ca.kek import parse_unlock_key
from swarmlet.manager import cluster_secrets
from swarmlet.manager.sealing import DataKeys, sealed_epoch
from swarmlet.store.keyring import RaftKeyRing
from swarmlet.store.raft import RaftStore
from swarmlet.store.state import StoreError

log = logging.getLogger("swarmlet.manager")

PERIOD = 1.0
FETCH_TIMEOUT = 5.0
# The cluster names an epoch no reachable manager holds (its maker lost its disk): the
# leader makes a newer one after this long.
ORPHAN_AFTER = 15.0

Obj = dict[str, Any]


class KeyHolder(Protocol):
    """This manager's keys on disk (node/keys.py)."""

    ring: RaftKeyRing | None

    def save(self) -> None: ...

    def relock(self, unlock_kek: bytes | None) -> bool: ...


def new_raft_key() -> str:
    return secrets.token_urlsafe(32)


class RaftKeys:
    def __init__(self, store: RaftStore, holder: KeyHolder, data_keys: DataKeys, node_id: str,
                 manager_addrs: Callable[[], list[str]], my_addr: Callable[[], str]) -> None:
        self.store = store
        self.holder = holder
        self.ring: RaftKeyRing = store.keys
        self.data_keys = data_keys
        self.node_id = node_id
        self.manager_addrs = manager_addrs
        self.my_addr = my_addr
        # Set by the node: POST /raft/keys on another manager -> its ring's export
        self.fetch: Callable[[str, int], dict[str, str]] | None = None
        self._missing_since: float | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raft-keys", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.wait(PERIOD):
            try:
                self.tick()
            except StoreError as exc:
                log.debug("raft keys: %s", exc)
            except Exception:
                log.exception("raft keys: a pass failed; going on")

    # --- one pass ------------------------------------------------------------------------

    def tick(self) -> None:
        clusters = self.store.list("cluster")
        if not clusters or not self.store.has_quorum():
            return
        cluster = clusters[0]
        epoch = int(cluster.get("RaftKeyEpoch", 0))
        self._hold(epoch)
        self._record()
        self._use()
        self._relock(cluster)
        if self.store.leads():
            self._lead(cluster, epoch)

    def _hold(self, epoch: int) -> None:
        if self.ring.holds(epoch):
            self._missing_since = None
            return
        if self._missing_since is None:
            self._missing_since = time.monotonic()
        for addr in self.manager_addrs():
            if addr == self.my_addr() or self.fetch is None:
                continue
            try:
                keys = self.fetch(addr, epoch)
            except Exception as exc:  # that manager is down or lacks it too: the next one
                log.debug("raft key epoch %d from %s: %s", epoch, addr, exc)
                continue
            if self.ring.merge({int(e): k for e, k in keys.items()}):
                self.holder.save()
            if self.ring.holds(epoch):
                log.info("fetched raft key epoch %d from %s", epoch, addr)
                self._missing_since = None
                return

    def _record(self) -> None:
        node = self.store.get("node", self.node_id)
        status = (node or {}).get("ManagerStatus")
        if not status or int(status.get("RaftKeyEpoch", 0)) >= self.ring.newest:
            return
        status["RaftKeyEpoch"] = self.ring.newest
        self.store.write([{"op": "update", "kind": "node", "object": node}])

    def _use(self) -> None:
        """Seal with the lowest epoch recorded by a member: every member holds it."""
        members = set(self.store.members())
        epochs = {s["RaftAddr"]: int(s.get("RaftKeyEpoch", 0))
                  for n in self.store.list("node") if (s := n.get("ManagerStatus"))
                  and s.get("RaftAddr") in members}
        if set(epochs) != members:
            return  # a member not yet in the store (joining): wait for its record
        target = min(epochs.values())
        if target > self.ring.send_epoch and self.ring.holds(target):
            self.ring.use(target)
            self.holder.save()
            log.info("raft traffic and new sealed data now use key epoch %d", target)

    def _relock(self, cluster: Obj) -> None:
        """Seal this manager's keys with the unlock key while the swarm has autolock, else
        with the KEK file."""
        unlock = cluster_secrets.opened(cluster, self.data_keys).get("UnlockKey")
        self.holder.relock(parse_unlock_key(unlock) if unlock else None)

    # --- the leader ----------------------------------------------------------------------

    def _lead(self, cluster: Obj, epoch: int) -> None:
        members = sorted(self.store.members())
        recorded = set(cluster.get("RaftKeyMembers") or [])
        orphan = (self._missing_since is not None
                  and time.monotonic() - self._missing_since > ORPHAN_AFTER)
        if recorded - set(members) or orphan:
            self.rotate(cluster, epoch, members)
        elif set(members) - recorded:
            self._write_cluster({**cluster, "RaftKeyMembers": members})
        elif cluster_secrets.in_clear(cluster) or self._stale(cluster):
            self._write_cluster(cluster_secrets.sealed(
                cluster_secrets.opened(cluster, self.data_keys), self.data_keys))

    def rotate(self, cluster: Obj, epoch: int, members: list[str]) -> None:
        new = max(epoch, self.ring.newest) + 1
        self.ring.add(new, new_raft_key())
        self.holder.save()  # on disk before the store names it
        node = self.store.get("node", self.node_id)
        batch = [{"op": "update", "kind": "cluster",
                  "object": {**cluster, "RaftKeyEpoch": new, "RaftKeyMembers": members}}]
        if node and node.get("ManagerStatus"):
            node["ManagerStatus"]["RaftKeyEpoch"] = new
            batch.append({"op": "update", "kind": "node", "object": node})
        self.store.write(batch)
        self._missing_since = None
        log.info("a manager left raft: new raft key epoch %d for %d members", new,
                 len(members))

    def _stale(self, cluster: Obj) -> bool:
        """The cluster's secrets are sealed under an epoch older than the one in use."""
        values = [(cluster.get("RootCA") or {}).get("SealedCAKey"),
                  *(cluster.get("SealedJoinTokens") or {}).values(),
                  cluster.get("SealedUnlockKey")]
        return any(sealed_epoch(v)[0] < self.ring.send_epoch for v in values if v)

    def _write_cluster(self, cluster: Obj) -> None:
        self.store.write([{"op": "update", "kind": "cluster", "object": cluster}])

    # --- served to other managers --------------------------------------------------------

    def export_for(self, epoch: int) -> dict[str, str] | None:
        """The ring, if it holds `epoch`, for a manager that lacks it."""
        return self.ring.export() if self.ring.holds(epoch) else None
