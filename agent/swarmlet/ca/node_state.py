"""What this node keeps on disk about its identity and swarm membership (<data_dir>/swarm/),
beside its certificates: read by the node when it starts, and by its dispatcher session.

    swarm/state.json   node ID, cluster ID, role, addresses, known managers
    swarm/keys.json    the swarm's Raft keys and the node key's password, sealed with the
                       key-encryption key (managers only, 0600; ca/kek.py, node/keys.py)
    certificates/      swarm-root-ca.crt, swarm-node.crt, swarm-node.key (as Docker's; a
                       manager's key is an encrypted PEM)
    raft/              the Raft journal and dump (managers only)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from swarmlet.ca.files import write_atomic


@dataclass
class NodeState:
    node_id: str
    cluster_id: str
    role: str                   # "manager" | "worker": the role of our certificate
    advertise_addr: str         # IP other nodes reach us at
    api_port: int               # the cluster API (mTLS)
    raft_port: int
    managers: list[str] = field(default_factory=list)  # API addresses "ip:port" of managers
    managers_raft: list[str] = field(default_factory=list)  # Raft members, as last seen
    listen_host: str = "0.0.0.0"  # where a manager serves the cluster API

    @property
    def api_addr(self) -> str:
        return f"{self.advertise_addr}:{self.api_port}"

    @property
    def raft_addr(self) -> str:
        return f"{self.advertise_addr}:{self.raft_port}"


class NodeFiles:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.swarm_dir = data_dir / "swarm"
        self.certs_dir = data_dir / "certificates"
        self.raft_dir = data_dir / "raft"
        # The node key's PEM password while this node is an unlocked manager (node/keys.py)
        self.node_key_password: bytes | None = None

    @property
    def state_path(self) -> Path:
        return self.swarm_dir / "state.json"

    def load(self) -> NodeState | None:
        try:
            return NodeState(**json.loads(self.state_path.read_text()))
        except FileNotFoundError:
            return None

    def save(self, state: NodeState) -> None:
        self.swarm_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.state_path, json.dumps(asdict(state), indent=2).encode(), 0o600)

    def legacy_raft_key(self) -> str | None:
        """The Raft key in clear, as releases before sealed keys kept it (swarm/raft.key)."""
        try:
            return (self.swarm_dir / "raft.key").read_text().strip()
        except FileNotFoundError:
            return None

    def read_keys(self) -> dict | None:
        try:
            return json.loads((self.swarm_dir / "keys.json").read_text())
        except FileNotFoundError:
            return None

    def save_keys(self, sealed: dict) -> None:
        self.swarm_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.swarm_dir / "keys.json", json.dumps(sealed).encode(), 0o600)
        (self.swarm_dir / "raft.key").unlink(missing_ok=True)

    def forget_raft(self) -> None:
        """After a demotion: this node no longer holds the cluster state or its keys."""
        shutil.rmtree(self.raft_dir, ignore_errors=True)
        for name in ("keys.json", "raft.key"):
            (self.swarm_dir / name).unlink(missing_ok=True)
        self.node_key_password = None

    def wipe(self) -> None:
        """`swarm leave`: everything of the swarm goes; the data dir itself stays."""
        for d in (self.swarm_dir, self.certs_dir, self.raft_dir):
            shutil.rmtree(d, ignore_errors=True)
        self.node_key_password = None
