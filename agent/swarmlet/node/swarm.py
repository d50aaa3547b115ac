"""This node in a swarm: `swarm init`, `join` and `leave`, the manager role coming and going,
and what is restored when the daemon restarts.

State changes are serialised by one lock; the session thread reports role changes here.

The manager's parts (the Raft store, pysyncobj, the control loops, the control API, the
root CA and the crypto library) are imported only when this node takes the manager role: a
worker never runs them, and they are megabytes of its resident memory (bench/agent_idle.py).
A worker's key and CSR are made in a child process (ca/csr.py).
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from swarmlet.ca.csr import check_issued_for, join_request
from swarmlet.ca.files import save_node_files
from swarmlet.ca.identity import MANAGER
from swarmlet.ca.kek import KekFile
from swarmlet.ca.node_state import NodeFiles, NodeState
from swarmlet.ca.tls import client_context, fetch_checked_ca, unverified_client_context
from swarmlet.ca.tokens import JoinToken, generate_join_token
from swarmlet.client import Client
from swarmlet.errors import InvalidArgument, SwarmletError
from swarmlet.net.dataplane import NodeNetworks
from swarmlet.net.inet import restore_inet_ntop
from swarmlet.net.raft_guard import RaftPortGuard
from swarmlet.node.config import API_PORT, Config, split_host_port
from swarmlet.node.description import describe_node
from swarmlet.node.keys import LocalKeys, NotLocked
from swarmlet.spec import swarm as swarm_spec
from swarmlet.spec.swarm import merged_swarm_spec
from swarmlet.store.objects import new_id
from swarmlet.transport.threads import Server, serve_in_thread
from swarmlet.worker.executor import remove_node_containers
from swarmlet.worker.session import Session
from swarmlet.worker.worker import Worker

if TYPE_CHECKING:
    from swarmlet.manager.controlapi.nodes import ControlAPI
    from swarmlet.manager.manager import Manager
    from swarmlet.store.keyring import RaftKeyRing
    from swarmlet.store.raft import RaftStore

log = logging.getLogger("swarmlet.node")

# (address, TLS context source, peer identity of a socket, node lookup) -> a server to run.
ClusterServerFactory = Callable[[tuple[str, int], Any, Callable[[Any], Any],
                                 Callable[[str], Any]], Server]

ALREADY_IN_SWARM = ('This node is already part of a swarm. Use "swarmlet swarm leave" to leave '
                    "this swarm and join another one.")
NOT_IN_SWARM = "This node is not part of a swarm"
RAFT_KEYS_TIMEOUT = 5.0


class SwarmNode:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.files = NodeFiles(config.data_dir)
        self.state: NodeState | None = None
        self.manager: Manager | None = None
        self.control: ControlAPI | None = None
        self.session: Session | None = None
        # A manager's keys on disk (node/keys.py); `locked`: they wait for the unlock key
        self.keys = LocalKeys(self.files, KekFile(config.kek_path))
        self.locked = False
        self.worker: Worker | None = None
        self.networks: NodeNetworks | None = None  # overlays and the Docker network driver
        self._tls: Server | None = None
        self._lock = threading.RLock()
        self._raft_guard = RaftPortGuard()  # only managers reach this manager's Raft port
        # Set by the daemon, which owns the routes: makes the cluster port's mTLS server.
        self.cluster_server: ClusterServerFactory | None = None

    # --- what /info shows -----------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        state = self.state
        if state is None:
            return {"LocalNodeState": "inactive", "NodeID": "", "ControlAvailable": False}
        if self.locked:
            return {"LocalNodeState": "locked", "NodeID": "", "ControlAvailable": False}
        info = {"LocalNodeState": "active", "NodeID": state.node_id,
                "ClusterID": state.cluster_id, "ControlAvailable": state.role == MANAGER,
                "NodeAddr": state.advertise_addr, "RemoteManagers": state.managers}
        manager = self.manager
        if manager is not None:
            info["Raft"] = manager.store.status()
        return info

    # --- boot -----------------------------------------------------------------------------

    def restore(self) -> None:
        """At daemon start: take up the role the data dir says this node has."""
        with self._lock:
            self.state = self.files.load()
            if self.state is None:
                return
            log.info("restoring swarm node %s (%s)", self.state.node_id, self.state.role)
            if self.state.role == MANAGER:
                if self.keys.sealed_with_unlock_key():
                    self.locked = True
                    log.warning("this manager is locked (autolock): it waits for `swarmlet "
                                "swarm unlock`")
                    return
                self.keys.open()
                self._start_manager(partners=self.state.managers_raft)
            self._start_session()

    def unlock(self, unlock_key: str) -> None:
        """`swarm unlock`: open this manager's keys with the swarm's unlock key and start."""
        with self._lock:
            if self.state is None:
                raise SwarmletError(NOT_IN_SWARM)
            if not self.locked:
                raise NotLocked()
            self.keys.unlock(unlock_key)  # InvalidUnlockKey: stays locked
            self.locked = False
            log.info("unlocked: starting the manager")
            self._start_manager(partners=self.state.managers_raft)
            self._start_session()

    # --- swarm init ----------------------------------------------------------------------

    def init(self, advertise_addr: str | None, listen_addr: str | None,
             force_new_cluster: bool, spec: dict[str, Any] | None = None,
             pools: tuple[list[str] | None, int | None] = (None, None),
             data_path_port: int | None = None) -> str:
        """`spec`: the SwarmSpec settings to start with (Docker's InitRequest.Spec), over the
        defaults; the heartbeat period defaults to the config file's. `pools`: the default
        address pools and subnet size of overlay networks (InitRequest.DefaultAddrPool,
        SubnetSize); a CAConfig.SigningCACert/Key in `spec` is the swarm's root CA."""
        from swarmlet.ca.authority import RootCA
        from swarmlet.ca.kek import format_unlock_key, new_kek
        from swarmlet.ca.node import NodeCertificates, make_csr, new_key
        from swarmlet.manager import cluster_secrets
        from swarmlet.manager.controlapi.host_networks import host_networks
        from swarmlet.manager.controlapi.networks import NetworkDefaults, ingress_network
        from swarmlet.manager.objects import SECOND, new_cluster, new_node
        from swarmlet.manager.raft_keys import new_raft_key
        from swarmlet.manager.sealing import DataKeys
        from swarmlet.store.keyring import RaftKeyRing

        merged_swarm_spec({}, spec)  # refused before anything is made or written
        address_pools = swarm_spec.address_pools(*pools)
        port = swarm_spec.data_path_port(data_path_port)
        external_ca = _external_root_ca(swarm_spec.signing_ca(spec))
        autolock = bool(((spec or {}).get("EncryptionConfig") or {}).get("AutoLockManagers"))
        with self._lock:
            if force_new_cluster and self.state is not None:
                return self._force_new_cluster()
            if self.state is not None:
                raise SwarmletError(ALREADY_IN_SWARM)
            addr = self._advertise_addr(advertise_addr, None)
            listen_host, api_port = self._listen(listen_addr)
            root = external_ca or RootCA.create()
            cluster_id, node_id = new_id(), new_id()
            key = new_key()
            cert = root.sign_csr(make_csr(key), node_id, MANAGER, cluster_id,
                                 addresses=[addr])
            self.files.wipe()
            NodeCertificates(key, cert, root.cert_pem).save(self.files.certs_dir)
            unlock_kek = new_kek() if autolock else None
            self.keys.create(RaftKeyRing.single(new_raft_key()), unlock_kek)
            state = NodeState(node_id, cluster_id, MANAGER, addr, api_port,
                              self.config.raft_port, [f"{addr}:{api_port}"],
                              listen_host=listen_host)
            state.managers_raft = [state.raft_addr]
            self.state = state
            store = self._open_store([])
            period = int(self.config.heartbeat_period * SECOND)
            cluster = new_cluster(cluster_id, root.cert_pem.decode(), root.key_pem.decode(),
                                  generate_join_token(root.cert_pem),
                                  generate_join_token(root.cert_pem), period)
            cluster["Spec"] = merged_swarm_spec(cluster["Spec"], spec)
            cluster["DefaultAddrPool"], cluster["SubnetSize"] = address_pools
            cluster["DataPathPort"] = port
            cluster["RaftKeyMembers"] = [state.raft_addr]
            if unlock_kek is not None:
                cluster["UnlockKey"] = format_unlock_key(unlock_kek)
            cluster = cluster_secrets.sealed(cluster, DataKeys(store.keys))
            node = new_node(node_id, MANAGER, self._description(api_port), addr,
                            state.api_addr, state.raft_addr)
            store.write([{"op": "create", "kind": "cluster", "object": cluster},
                         {"op": "create", "kind": "node", "object": node},
                         {"op": "create", "kind": "network",
                          "object": ingress_network(
                              host_networks(), NetworkDefaults(*address_pools, port))}])
            self.files.save(state)
            self._run_manager(store)
            self._start_session()
            log.info("swarm initialized: node %s is a manager of cluster %s", node_id,
                     cluster_id)
            return node_id

    def _force_new_cluster(self) -> str:
        state = self.state
        assert state is not None
        if state.role != MANAGER or self.manager is None:
            raise SwarmletError("--force-new-cluster can only be used on a manager")
        self._stop_manager()
        store = _raft_store().force_new_cluster(state.raft_addr, self.files.raft_dir,
                                            self._raft_key())
        state.managers_raft = [state.raft_addr]
        self.files.save(state)
        deadline = time.monotonic() + 30
        while not store.is_leader():  # a one-member Raft elects itself within a timeout
            if time.monotonic() > deadline:
                store.close()
                raise SwarmletError("the new one-manager cluster elected no leader in 30 s")
            time.sleep(0.05)
        self._run_manager(store)
        log.info("forced a new cluster with this node as its only manager")
        return state.node_id

    # --- swarm join ----------------------------------------------------------------------

    def join(self, token: str, remote_addrs: list[str], advertise_addr: str | None,
             listen_addr: str | None, availability: str = "active") -> None:
        with self._lock:
            if self.state is not None:
                raise SwarmletError(ALREADY_IN_SWARM)
            JoinToken.parse(token)
            if not remote_addrs:
                raise SwarmletError("at least 1 RemoteAddr is required to join")
            host, port = split_host_port(remote_addrs[0], API_PORT)
            remote = f"{host}:{port}"
            # Trust nothing the manager says until its CA matches the digest in the token.
            offered = Client(f"tcp://{remote}", tls_context=unverified_client_context(),
                             timeout=10).get("/ca/root")
            ca_pem = fetch_checked_ca(offered if isinstance(offered, bytes)
                                      else str(offered).encode(), token)
            addr = self._advertise_addr(advertise_addr, host)
            listen_host, api_port = self._listen(listen_addr)
            key, csr = join_request(ca_pem)
            client = Client(f"tcp://{remote}", tls_context=client_context(None, ca_pem),
                            timeout=30)
            answer = client.post("/ca/join", {
                "Token": token, "CSR": csr.decode(), "AdvertiseAddr": addr,
                "ApiPort": api_port, "RaftPort": self.config.raft_port,
                "Description": self._description(api_port), "Availability": availability})
            cert = answer["Certificate"].encode()
            check_issued_for(cert, csr)
            self.files.wipe()
            save_node_files(self.files.certs_dir, key, cert, ca_pem)
            state = NodeState(answer["NodeID"], answer["ClusterID"], answer["Role"], addr,
                              api_port, self.config.raft_port, answer["Managers"],
                              listen_host=listen_host)
            self.state = state
            try:
                if state.role == MANAGER:
                    self._become_manager(answer)
                self.files.save(state)
            except Exception:
                self._stop_manager()
                self.files.wipe()
                self.state = None
                raise
            self._start_session()
            log.info("joined cluster %s as %s %s", state.cluster_id, state.role, state.node_id)

    # --- swarm leave ---------------------------------------------------------------------

    def leave(self, force: bool) -> None:
        with self._lock:
            if self.state is None:
                raise SwarmletError(NOT_IN_SWARM)
            if self.state.role == MANAGER and not force:
                raise SwarmletError(self._leave_warning())
            self._stop_session()
            self._stop_manager()
            remove_node_containers(self.state.node_id)  # dockerd calls our driver meanwhile
            self._stop_networks(remove=True)
            self.files.wipe()
            self.keys.kek_file.remove()
            self.keys.ring, self.locked = None, False
            self.state = None
            log.info("left the swarm")

    def _on_removed(self) -> None:
        """Every manager refuses this node as removed (`node rm --force` while it ran): it
        leaves as `swarm leave` would, so no key or state of the swarm stays on it."""
        try:
            self.leave(force=True)
        except SwarmletError as err:
            log.warning("leaving after removal: %s", err)

    def _leave_warning(self) -> str:
        text = ("You are attempting to leave the swarm on a node that is participating as a "
                "manager. ")
        managers = self.manager.store.members() if self.manager else []
        reachable = [a for a, s in (self.manager.store.status()["members"].items()
                                    if self.manager else []) if s != "unreachable"]
        if len(managers) <= 1:
            text += ("Removing the last manager erases all current state of the swarm. Use "
                     "`--force` to ignore this message. ")
        elif len(reachable) - 1 < len(managers) // 2 + 1:
            text += (f"Removing this node leaves {len(reachable) - 1} managers out of "
                     f"{len(managers)}. Without a Raft quorum your swarm will be inaccessible. ")
        text += ("The only way to restore a swarm that has lost consensus is to reinitialize it "
                 "with `--force-new-cluster`. Use `--force` to suppress this message.")
        return text

    # --- roles ---------------------------------------------------------------------------

    def on_role_change(self, answer: dict[str, Any]) -> None:
        """The session got a certificate for another role: promoted or demoted."""
        with self._lock:
            state = self.state
            if state is None:
                return
            state.role = answer["Role"]
            if state.role == MANAGER:
                self._become_manager(answer)
            else:
                self._stop_manager()
                self.keys.forget()
            self.files.save(state)

    def _become_manager(self, answer: dict[str, Any]) -> None:
        from swarmlet.store.keyring import RaftKeyRing

        assert self.state is not None
        self.keys.create(RaftKeyRing.from_export(answer["RaftKeys"], answer["RaftKeyEpoch"]))
        self.state.managers_raft = answer["RaftMembers"]
        self._start_manager(partners=answer["RaftMembers"])

    def _start_manager(self, partners: list[str]) -> None:
        self._run_manager(self._open_store(partners))

    def _open_store(self, partners: list[str]) -> RaftStore:
        assert self.state is not None
        return _raft_store()(self.state.raft_addr, partners, self.files.raft_dir, self._raft_key())

    def _raft_key(self) -> RaftKeyRing:
        if self.keys.ring is None:
            raise SwarmletError("this manager has no raft key (data dir damaged?)")
        return self.keys.ring

    def _run_manager(self, store: RaftStore) -> None:
        from swarmlet.manager.controlapi.nodes import ControlAPI
        from swarmlet.manager.manager import Manager

        assert self.state is not None
        self._raft_guard.admit(store.self_addr, store.members())
        try:
            self.manager = Manager(store, self.keys, self.state.node_id,
                                   on_members=self._save_members)
        except Exception:
            store.close()
            raise
        self.manager.peer_client = self._peer_client
        self.manager.raft_keys.fetch = self._fetch_raft_keys
        self.control = ControlAPI(self.manager)
        self.manager.start()
        self._start_tls()

    def _peer_client(self, addr: str) -> Client:
        """A client of another manager's API, with this node's certificate."""
        return Client(f"tcp://{addr}", tls_context=self._client_context(), timeout=30)

    def _client_context(self) -> Any:
        return client_context(self.files.certs_dir, None, self.files.node_key_password)

    def _fetch_raft_keys(self, addr: str, epoch: int) -> dict[str, str]:
        """The key ring of the manager at `addr`, which holds `epoch` (manager/raft_keys.py)."""
        client = Client(f"tcp://{addr}", tls_context=self._client_context(),
                        timeout=RAFT_KEYS_TIMEOUT)
        return client.post("/raft/keys", {"Epoch": epoch})["Keys"]

    def _save_members(self, members: list[str]) -> None:
        """Remember the Raft members, to restart with them as partners. Called from the
        manager's loop: never wait for the node lock (its holder may be stopping that loop)."""
        if not self._lock.acquire(timeout=0.1):
            return
        try:
            if self.state is not None and self.state.managers_raft != members:
                self.state.managers_raft = members
                self.files.save(self.state)
            raft_addr = self.state.raft_addr if self.state is not None else None
        finally:
            self._lock.release()
        if raft_addr is not None:
            self._raft_guard.admit(raft_addr, members)  # nft runs only when they changed

    def _stop_manager(self) -> None:
        if self._tls is not None:
            self._tls.shutdown()
            self._tls.server_close()
            self._tls = None
        if self.manager is not None:
            self.manager.stop()
            self.manager.store.close()
            self.manager = None
            self.control = None
        self._raft_guard.remove()

    def _start_tls(self) -> None:
        from swarmlet.ca.authority import RootCA
        from swarmlet.ca.tls_server import ServerContextSource, peer_identity

        assert self.state is not None
        host = self.state.listen_host
        root = RootCA.load(self.files.certs_dir)
        assert self.manager is not None
        store = self.manager.store
        try:
            # Only managers serve the cluster port: every request is checked against this
            # manager's replica of the store (removed nodes, demotions; api/access.py).
            assert self.cluster_server is not None, "the daemon sets cluster_server"
            self._tls = self.cluster_server((host, self.state.api_port),
                                            ServerContextSource(
                                                self.files.certs_dir,
                                                lambda: self.files.node_key_password),
                                            lambda sock: peer_identity(sock, root),
                                            lambda node_id: store.peek("node", node_id))
        except OSError as exc:
            raise SwarmletError(f"cannot listen on {host}:{self.state.api_port}: "
                                f"{exc.strerror}") from exc
        serve_in_thread(self._tls, "api-tls")

    def _start_session(self) -> None:
        assert self.state is not None
        self.session = Session(self.files, self.state, self.config.heartbeat_period,
                               self.on_role_change, self._on_removed)
        self.session.start()
        if self.networks is None:
            self.networks = _start_networks(self.config)
        self.worker = Worker(self.session, self.state.node_id, self.networks)
        self.worker.start()

    def _stop_networks(self, remove: bool = False) -> None:
        """Stop serving the network driver; with `remove` (leaving the swarm), first remove
        this node's overlays and Docker networks."""
        if self.networks is None:
            return
        if remove:
            try:
                self.networks.remove_all()
            except Exception as exc:
                log.warning("could not remove this node's networks: %s", exc)
        self.networks.stop()
        self.networks = None

    def _stop_session(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.session is not None:
            self.session.stop()
            self.session = None

    def shutdown(self) -> None:
        """The agent stops (SIGTERM): it will be back, so the swarm keeps its tasks."""
        with self._lock:
            if self.session is not None:
                self.session.say_restarting()
            self._stop_session()
            self._stop_manager()
            self._stop_networks()

    # --- helpers -------------------------------------------------------------------------

    def _listen(self, listen_addr: str | None) -> tuple[str, int]:
        """Where the cluster API listens: --listen-addr, else the config's listen_addr."""
        if listen_addr:
            return split_host_port(listen_addr, API_PORT)
        return self.config.listen_host_port

    def _description(self, api_port: int) -> dict[str, Any]:
        return {**describe_node(), "ApiPort": api_port}

    def _advertise_addr(self, given: str | None, remote_host: str | None) -> str:
        """The given address, the configured one, the one that routes to the manager we
        join, or this host's only global IPv4 address."""
        for candidate in (given, self.config.advertise_addr):
            if candidate:
                return split_host_port(candidate, API_PORT)[0]
        if remote_host:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((remote_host, API_PORT))  # UDP connect: chooses a route only
                return probe.getsockname()[0]
        out = subprocess.run(["ip", "-j", "-4", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, check=False).stdout
        found = [(a["local"], link["ifname"]) for link in json.loads(out or "[]")
                 for a in link.get("addr_info", [])]
        if len(found) == 1:
            return found[0][0]
        if not found:
            raise SwarmletError("could not find an IP address to advertise: use --advertise-addr")
        listing = " and ".join(f"{ip} on {ifname}" for ip, ifname in found)
        raise SwarmletError("could not choose an IP address to advertise since this system has "
                            f"multiple addresses on different interfaces ({listing})")


def _raft_store() -> type[RaftStore]:
    """The Raft store, imported when the node first takes the manager role. Its pysyncobj
    breaks socket.inet_ntop on import, which pyroute2 needs: mended at once (net/inet.py)."""
    from swarmlet.store.raft import RaftStore

    restore_inet_ntop()
    return RaftStore


def _start_networks(config: Config) -> NodeNetworks | None:
    """The node's overlays and its Docker network driver, served while it is in a swarm. A
    node that cannot serve them still runs tasks without networks (and says why)."""
    networks = NodeNetworks(dns_upstreams=config.dns_upstreams)
    try:
        networks.start()
    except Exception as exc:
        log.error("overlay networks unavailable on this node: %s", exc)
        networks.stop()
        return None
    return networks


def _external_root_ca(given: tuple[str, str] | None) -> Any:
    """The swarm's root CA from the PEM certificate and key given at init (Docker's
    CAConfig.SigningCACert/Key), or None to make one."""
    if given is None:
        return None
    from swarmlet.ca.authority import RootCA

    try:
        return RootCA(given[0].encode(), given[1].encode())
    except (SwarmletError, ValueError, TypeError) as exc:
        raise InvalidArgument(f"signing CA: {exc}") from None
