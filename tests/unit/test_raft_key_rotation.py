"""The Raft key rotation of manager/raft_keys.py over one in-memory store seen by three
managers: a manager leaves Raft, the leader makes a new epoch, the remaining manager fetches
it, both switch once both hold it, and the former manager never gets it."""

from __future__ import annotations

from swarmlet.ca.kek import format_unlock_key, new_kek, parse_unlock_key
from swarmlet.manager import cluster_secrets
from swarmlet.manager.raft_keys import RaftKeys
from swarmlet.manager.sealing import DataKeys, sealed_epoch
from swarmlet.store.keyring import RaftKeyRing
from swarmlet.store.memory import MemoryStore

ADDRS = {"m1": "10.9.0.1:2378", "m2": "10.9.0.2:2378", "m3": "10.9.0.3:2378"}


class Holder:
    def __init__(self, ring: RaftKeyRing) -> None:
        self.ring = ring
        self.saved = 0
        self.locked_with: bytes | None = None

    def save(self) -> None:
        self.saved += 1

    def relock(self, unlock_kek: bytes | None) -> bool:
        self.locked_with = unlock_kek
        return False


class ManagerView(MemoryStore):
    """One manager's view of the shared store: its own ring, the shared Raft members."""

    def __init__(self, shared: MemoryStore, world: dict, ring: RaftKeyRing, addr: str) -> None:
        self.shared, self.world, self.keys, self.addr = shared, world, ring, addr

    def list(self, kind):
        return self.shared.list(kind)

    def get(self, kind, oid):
        return self.shared.get(kind, oid)

    def write(self, batch, **_):
        return self.shared.write(batch)

    def members(self):
        return list(self.world["members"])

    def has_quorum(self):
        return True

    def leads(self):
        return self.world["leader"] == self.addr


def swarm(unlock: str | None = None):
    shared = MemoryStore()
    world = {"members": list(ADDRS.values()), "leader": ADDRS["m1"]}
    rings = {name: RaftKeyRing.single("epoch-0") for name in ADDRS}
    cluster = {"ID": "c1", "Spec": {}, "RootCA": {"CACert": "cert", "CAKey": "ca-key"},
               "JoinTokens": {"Worker": "SWMTKN-w", "Manager": "SWMTKN-m"},
               "RaftKeyMembers": list(ADDRS.values())}
    if unlock:
        cluster["UnlockKey"] = unlock
    shared.write([{"op": "create", "kind": "cluster",
                   "object": cluster_secrets.sealed(cluster, DataKeys(rings["m1"]))}]
                 + [{"op": "create", "kind": "node", "object": {
                     "ID": name, "Spec": {"Role": "manager"},
                     "ManagerStatus": {"Addr": f"{addr[:-5]}:2377", "RaftAddr": addr}}}
                    for name, addr in ADDRS.items()])
    managers = {}
    for name, addr in ADDRS.items():
        view = ManagerView(shared, world, rings[name], addr)
        keys = RaftKeys(view, Holder(rings[name]), DataKeys(rings[name]), name,
                        lambda: [f"{a[:-5]}:2377" for a in world["members"]],
                        lambda addr=addr: f"{addr[:-5]}:2377")
        managers[name] = keys

    def fetcher(asking: str):
        def fetch(addr: str, epoch: int) -> dict[str, str]:
            """POST /raft/keys to the manager at addr: served to Raft members only."""
            if ADDRS[asking] not in world["members"]:
                raise RuntimeError("403: the raft keys are for the swarm's raft members only")
            owner = next(m for n, m in managers.items() if f"{ADDRS[n][:-5]}:2377" == addr)
            answer = owner.export_for(epoch)
            if answer is None:
                raise RuntimeError(f"404: no epoch {epoch}")
            return answer
        return fetch

    for name, keys in managers.items():
        keys.fetch = fetcher(name)
    return shared, world, rings, managers


def test_a_departed_manager_never_gets_the_new_key_and_the_others_switch_to_it():
    shared, world, rings, managers = swarm()
    for keys in managers.values():
        keys.tick()
    assert {r.send_epoch for r in rings.values()} == {0}  # nobody left: no rotation

    world["members"].remove(ADDRS["m3"])  # m3 demoted: out of Raft
    managers["m1"].tick()  # the leader makes epoch 1 (and keeps sealing with 0 for now)
    assert shared.list("cluster")[0]["RaftKeyEpoch"] == 1
    assert rings["m1"].holds(1) and rings["m1"].send_epoch == 0
    managers["m2"].tick()  # fetches it, records it
    managers["m3"].tick()  # asks too: refused
    assert rings["m2"].holds(1) and not rings["m3"].holds(1)
    for name in ("m1", "m2"):
        managers[name].tick()
    assert rings["m1"].send_epoch == rings["m2"].send_epoch == 1
    assert rings["m3"].send_epoch == 0

    managers["m1"].tick()  # the cluster's secrets are sealed again under the new epoch
    stored = shared.list("cluster")[0]
    assert sealed_epoch(stored["RootCA"]["SealedCAKey"])[0] == 1
    assert cluster_secrets.opened(stored, DataKeys(rings["m2"]))["RootCA"]["CAKey"] == "ca-key"
    assert "CAKey" not in stored["RootCA"] and "JoinTokens" not in stored


def test_each_manager_seals_its_keys_with_the_unlock_key_while_the_swarm_has_autolock():
    kek = new_kek()
    _, _, _, managers = swarm(unlock=format_unlock_key(kek))
    for keys in managers.values():
        keys.tick()
        assert keys.holder.locked_with == parse_unlock_key(format_unlock_key(kek))
