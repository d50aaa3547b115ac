"""This node's overlay networks: programmed from the assignments' "Networks", served to
dockerd through the network driver, and handed to the executor for its containers.

An overlay's devices are made when the assignments first list its network and removed once
they no longer do and no container is attached to it any more (a task's container stops after
its task leaves the assignments: it keeps its network until then). Every pass compares the
desired state with the kernel's and dockerd's, so it is idempotent, repairs drift and carries
over agent restarts. Docker networks are made lazily, when a container needs one: only nodes
that run tasks of an overlay have one, except for attachable networks: every node has
theirs, so that `docker run --network` finds them. Such a container (no task) gets its
address from the manager when dockerd creates its endpoint (an attachment,
manager/dispatcher/attachments.py), which takes the node onto the network as a task would; the
attachment goes when the endpoint does. The node's DNS resolver (net/dns_server.py) listens on
the node's address on each network programmed here, with records from "Services" and "Tasks".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from swarmlet.errors import SwarmletError
from swarmlet.metrics import DATAPLANE
from swarmlet.net import dns_records, names
from swarmlet.net.dns_forward import Upstreams
from swarmlet.net.dns_redirect import DnsRedirect
from swarmlet.net.dns_server import DnsServer
from swarmlet.net.dockernet import DockerNetworks
from swarmlet.net.driver import NetworkDriver
from swarmlet.net.driver_server import DriverServer
from swarmlet.net.lb_backend import load_balancer
from swarmlet.net.netlink import Netlink
from swarmlet.net.overlay import Overlays
from swarmlet.net.spec import (
    AttachableNetwork,
    OverlaySpec,
    parse_attachable,
    parse_networks,
    vni_of,
)
from swarmlet.net.veth import EndpointLinks
from swarmlet.transport.threads import serve_in_thread

log = logging.getLogger("swarmlet.net")

PASS_PERIOD = 10.0  # seconds between passes that repair drift; changes wake a pass at once
RETRY_PERIOD = 1.0  # ...and while something waits to be removed (a container still leaving)
ATTACH_WAIT = 15.0  # seconds a new attachment's overlay may take to be built here


class NetworkNotReady(SwarmletError):
    """A task's network is not (yet) programmed on this node: try again on a later pass."""


class AttachmentControl(Protocol):
    """The manager's side of attachments (the worker's session with the leader)."""

    def attach_network(self, network_id: str, endpoint_id: str) -> dict[str, Any]: ...
    def detach_network(self, endpoint_id: str) -> None: ...


class NodeNetworks:
    def __init__(self, machine: str | None = None,
                 dns_upstreams: list[str] | tuple[str, ...] | None = None) -> None:
        self.machine = machine if machine is not None else names.machine()
        self.driver_name = names.driver_name(self.machine)
        self.netlink = Netlink()
        self.overlays = Overlays(self.netlink)
        self.links = EndpointLinks(self.netlink)
        self.lb = load_balancer(self.netlink)
        self._services: list[dict[str, Any]] | None = None  # None: no load balancer
        self._ingress_id: str | None = None
        self._host_ports: list[dict[str, Any]] = []
        self.docker = DockerNetworks(self.driver_name, self.machine)
        # DNS (net/dns_*.py): served while the manager sends "Services", as the balancer
        self._records = dns_records.Records()
        self.dns = DnsServer(self._dns_lookup, Upstreams(dns_upstreams))
        self.dns_redirect = DnsRedirect()  # for containers that are no task
        self.driver = NetworkDriver(self)
        self._server: DriverServer | None = None
        self._wanted: dict[int, OverlaySpec] = {}
        self._programmed: dict[int, OverlaySpec] = {}  # by VNI: devices made from this spec
        # containers on attachable networks (no tasks): see the module's docstring
        self._control: AttachmentControl | None = None
        self._attachable: dict[int, AttachableNetwork] = {}
        self._attachments: dict[str, dict[str, Any]] = {}  # this node's, by endpoint ID
        self._attaching: set[str] = set()  # endpoints this agent attached, until deleted
        self._detaching: set[str] = set()  # endpoints to detach (the passes retry)
        self._local_addr: str | None = None
        self._have_assignments = False
        self._settled: tuple[Any, ...] | None = None  # inputs of the last pass left clean
        self.last_pass: dict[str, float] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Serve the driver (dockerd may call it at any time, for containers already running)
        and start the repair passes."""
        self._server = DriverServer(names.plugin_socket(self.driver_name), self.driver)
        serve_in_thread(self._server, "net-driver")
        self._thread = threading.Thread(target=self._run, name="net-passes", daemon=True)
        self._thread.start()
        log.info("network driver %s on %s", self.driver_name, self._server.path)

    def stop(self) -> None:
        """At agent shutdown: devices and Docker networks stay, for the containers that keep
        running and for the agent that comes next."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.dns.stop()  # no listener outlives the agent
        self.netlink.close()
        self.docker.close()

    # --- from the worker --------------------------------------------------------------------

    def use_control(self, control: AttachmentControl) -> None:
        self._control = control

    def update(self, entries: list[dict[str, Any]], local_addr: str,
               services: list[dict[str, Any]] | None = None,
               host_ports: list[dict[str, Any]] | None = None,
               tasks: list[dict[str, Any]] | None = None,
               attachments: list[dict[str, Any]] | None = None,
               attachable: list[dict[str, Any]] | None = None) -> None:
        """New assignments: program what they list (at once, before their tasks start), and
        the load balancer from their "Services" and "HostPorts" (none when services is
        None: a manager without them), the DNS records from "Services", "Tasks" and
        "Attachments", the Docker networks of "AttachableNetworks"."""
        if self._stopping.is_set():
            return  # a late answer of the session that is ending: nothing may come back
        with self._lock:
            self._wanted = parse_networks(entries)
            self._local_addr = local_addr
            self._attachable = parse_attachable(attachable or [])
            self._attachments = {a.get("EndpointID", ""): a for a in attachments or []}
            if services is not None:
                self._services = services
                self._host_ports = host_ports or []
                self._records = dns_records.build(services, [*(tasks or []),
                                                             *self._attachments.values()])
                self._ingress_id = next((e["Network"]["ID"] for e in entries if (
                    (e.get("Network") or {}).get("Spec") or {}).get("Ingress")), None)
            self._have_assignments = True
            inputs = self._inputs()
            if inputs == self._settled:
                return  # nothing of this node's networks changed (most answers: a task's status)
            self._settled = None if self.reconcile() else inputs

    def _inputs(self) -> tuple[Any, ...]:
        """All that a pass programs from: a pass over the same inputs as the last one that
        left nothing pending would change nothing (drift is the repair passes' job)."""
        return (self._wanted, self._local_addr, self._attachable, self._attachments,
                self._services, self._host_ports, self._records, self._ingress_id)

    def remove_all(self) -> None:
        """`swarm leave`: the node's task containers are gone; so go its networks."""
        with self._lock:
            self._settled = None
            self._wanted = {}
            self._attachable = {}
            self._attachments = {}
            self._have_assignments = True
            balancing = self._services is not None
            self._services = [] if balancing else None
            self._host_ports = []
            self._records = dns_records.Records()
            self.reconcile()
            self._have_assignments = False
            if balancing:  # this session's manager sent "Services": tables and VIPs go
                try:
                    self.lb.remove()
                    self.dns_redirect.remove()
                except Exception:
                    log.exception("load balancer not removed")
            self._services = None

    def attach(self, attachments: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """For a task's NetworksAttachments: (Docker network name, address) each, making the
        Docker networks if needed. NetworkNotReady when an overlay is not programmed yet."""
        plan = []
        for attachment in attachments:
            network = attachment.get("Network") or {}
            vni = vni_of(network)
            with self._lock:
                spec = self._programmed.get(vni) if vni in self._wanted else None
            if spec is None:
                name = (network.get("Spec") or {}).get("Name", network.get("ID", "?"))
                raise NetworkNotReady(f"network {name} is not set up on this node yet")
            addresses = attachment.get("Addresses") or []
            if not addresses:
                raise SwarmletError(f"network {spec.name}: the task has no address on it")
            plan.append((self.docker.ensure(spec), addresses[0]))
        return plan

    # --- containers on attachable networks (dockerd's calls, through the driver) ------------

    def attach_endpoint(self, vni: int, endpoint_id: str) -> str:
        """An endpoint with no task address (`docker run --network`): the manager's address
        for it (CIDR form), once its overlay is built here."""
        network = self._attachable.get(vni)
        if network is None:
            spec = self._programmed.get(vni)
            name = spec.name if spec else f"of VXLAN ID {vni}"
            raise SwarmletError(f"Could not attach to network {name}: network {name} not "
                                "manually attachable (only tasks of services may join it; "
                                "a network created with --attachable takes containers)")
        if self._control is None:
            raise SwarmletError("swarmlet: this node is not part of a swarm")
        self._attaching.add(endpoint_id)
        self._detaching.discard(endpoint_id)
        try:
            attachment = self._control.attach_network(network.network_id, endpoint_id)
            address = next(a for e in attachment.get("NetworksAttachments") or []
                           for a in e.get("Addresses") or [])
        except (SwarmletError, StopIteration) as exc:
            self.detach_endpoint(endpoint_id)
            raise SwarmletError(f"swarmlet: {exc or 'the manager gave no address'}") from exc
        deadline = time.monotonic() + ATTACH_WAIT
        while vni not in self._wanted or vni not in self._programmed:
            if time.monotonic() > deadline:
                self.detach_endpoint(endpoint_id)
                raise SwarmletError(f"swarmlet: network {network.name} was not set up on "
                                    f"this node within {ATTACH_WAIT:.0f}s")
            time.sleep(0.05)
        return str(address)

    def detach_endpoint(self, endpoint_id: str) -> None:
        """The endpoint is gone: its attachment goes (by the passes: dockerd is waiting)."""
        if endpoint_id in self._attaching or endpoint_id in self._attachments:
            self._attaching.discard(endpoint_id)
            self._detaching.add(endpoint_id)
            self._wake.set()

    def _send_detaches(self) -> bool:
        """Tell the manager of the endpoints gone; True if some must be tried again."""
        for endpoint_id in list(self._detaching):
            if self._control is None:
                return True
            try:
                self._control.detach_network(endpoint_id)
            except SwarmletError as exc:
                log.debug("endpoint %s not detached yet: %s", endpoint_id[:12], exc)
                continue
            self._detaching.discard(endpoint_id)
        return bool(self._detaching)

    def _find_stale_attachments(self, live: set[str]) -> None:
        """Attachments whose endpoint is gone though no DeleteEndpoint reached this agent
        (it was down when their container ended)."""
        for endpoint_id in self._attachments:
            if endpoint_id not in live and endpoint_id not in self._attaching \
                    and not self.driver.has_endpoint(endpoint_id):
                log.info("endpoint %s is gone: detaching it", endpoint_id[:12])
                self._detaching.add(endpoint_id)

    # --- the passes -------------------------------------------------------------------------

    def _run(self) -> None:
        pending = False
        while not self._stopping.is_set():
            self._wake.wait(RETRY_PERIOD if pending else PASS_PERIOD)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                pending = self._send_detaches()
                with self._lock:
                    pending |= self.reconcile()
                    if pending:
                        self._settled = None
            except Exception:
                log.exception("network pass failed; going on")

    def reconcile(self) -> bool:
        """One pass (under the lock): make the wanted overlays, remove the others unless a
        container still uses them. True if something unwanted had to stay for now."""
        if not self._have_assignments or (self._local_addr is None and self._wanted):
            return False  # before the first assignments nothing may be judged unwanted
        steps = self.last_pass = {}  # seconds per step, for the log of a slow pass
        mark = time.monotonic()

        def step(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            steps[name] = now - mark
            DATAPLANE.labels(name.replace(" ", "_")).observe(now - mark)
            mark = now

        for vni, spec in self._wanted.items():
            try:
                self.overlays.ensure(spec, self._local_addr or "")
                self._programmed[vni] = spec
            except Exception as exc:
                log.warning("overlay %s (%s) not programmed: %s", vni, spec.name, exc)
        step("overlays")
        self._sync_lb()
        step("balancer")
        self._sync_dns()
        self._sync_dns_redirect()
        step("dns")
        live = self._live_endpoints()
        if live is not None:
            self._prune_links(live)
            self._find_stale_attachments(live)
        step("endpoints")
        ours = self.docker.ours()
        for network in self._attachable.values():
            try:
                self.docker.ensure(network, ours)
            except Exception as exc:
                log.warning("docker network of %s not made: %s", network.name, exc)
        step("docker networks")
        wanted_ids = {spec.network_id for spec in self._wanted.values()}
        wanted_ids |= {network.network_id for network in self._attachable.values()}
        kept = set()
        for vni in (self.overlays.present() | set(self._programmed)) - set(self._wanted):
            if self.overlays.endpoints(vni):
                kept.add(vni)  # a container still stops there; next pass
                continue
            self._programmed.pop(vni, None)
            self.overlays.remove(vni)
        pending = bool(kept)
        for network_id, net in ours.items():
            vni = (net.get("Options") or {}).get(names.OPT_VNI, "")
            if network_id in wanted_ids or (vni.isdigit() and int(vni) in kept):
                continue
            # dockerd may still count an endpoint that our driver has just deleted
            pending |= not self.docker.remove(network_id)
        step("cleanup")
        return pending

    def _sync_lb(self) -> None:
        """The load balancer over the networks programmed here (net/lb.py, net/nft.py)."""
        if self._services is None:
            return
        here = {spec.network_id: spec.name for vni, spec in self._programmed.items()
                if vni in self._wanted}
        try:
            self.lb.sync(self._services, here, self._ingress_id, self._host_ports)
        except Exception as exc:
            log.warning("load balancer not programmed: %s", exc)

    def _sync_dns(self) -> None:
        """A resolver on the node's address on each network programmed here (the gateway
        of its containers there), ingress included (names are forwarded there)."""
        if self._services is None:
            return
        self.dns.sync({spec.gateway for vni, spec in self._programmed.items()
                       if vni in self._wanted})

    def _sync_dns_redirect(self) -> None:
        """Attached containers' DNS to the node's resolver (net/dns_redirect.py)."""
        if self._services is None:
            return
        listening = self.dns.addresses()
        redirects = []
        for attachment in self._attachments.values():
            for entry in attachment.get("NetworksAttachments") or []:
                try:
                    vni = vni_of(entry.get("Network") or {})
                except SwarmletError:
                    continue
                spec = self._programmed.get(vni) if vni in self._wanted else None
                if spec is not None and spec.gateway in listening:
                    redirects += [(str(a).split("/")[0], spec.gateway)
                                  for a in entry.get("Addresses") or []]
        try:
            self.dns_redirect.sync(redirects)
        except Exception as exc:
            log.warning("DNS of attached containers not redirected: %s", exc)

    def _dns_lookup(self, qname: str, qtype: str, asker: str) -> dns_records.Answer:
        return self._records.answer(qname, qtype, asker)  # an immutable object, swapped

    def dns_servers(self, attachments: list[dict[str, Any]]) -> list[str]:
        """The `dns` of a task's container: the node's address on its first network,
        where the node's resolver listens (none while that network is not here, or when
        the manager sends no "Services", or it could not listen there: the container then
        has dockerd's default, the host's resolvers)."""
        if not attachments or self._services is None:
            return []
        try:
            spec = self._programmed.get(vni_of(attachments[0].get("Network") or {}))
        except SwarmletError:
            return []
        return [spec.gateway] if spec and spec.gateway in self.dns.addresses() else []

    def _live_endpoints(self) -> set[str] | None:
        """The endpoints dockerd has on our networks; None when it cannot be asked."""
        try:
            return self.docker.endpoint_ids()
        except Exception as exc:  # dockerd away: judge nothing
            log.debug("endpoints not listed: %s", exc)
            return None

    def _prune_links(self, live: set[str]) -> None:
        """Delete container links that dockerd no longer knows: their DeleteEndpoint never
        reached us (the agent was down when their container ended; dockerd then hands the
        container's end back to its own namespace and gives up). Links made moments ago are
        spared: dockerd lists an endpoint only once its Join is done."""
        for vni in self.overlays.present():
            for name in self.overlays.endpoints(vni):
                suffix = name[len(names.HOST_VETH_PREFIX):]
                if (not name.startswith(names.HOST_VETH_PREFIX) or self.links.young(name)
                        or any(e.startswith(suffix) for e in live)):
                    continue
                log.info("overlay %s: removing %s, a link of an endpoint dockerd no longer has",
                         vni, name)
                self.links.delete(suffix)

    # --- what the driver needs (driver.Backend) ---------------------------------------------

    # These run on dockerd's calls and take no lock: a pass holds the lock while it waits for
    # dockerd (removing a Docker network), and dockerd may be waiting for this answer. A dict
    # lookup is atomic, and specs are immutable.

    def gateway(self, vni: int) -> str | None:
        spec = self._programmed.get(vni)
        return spec.gateway if spec else None

    def prefixlen(self, vni: int) -> int | None:
        spec = self._programmed.get(vni)
        return spec.prefixlen if spec else None

    def docker_network_vni(self, docker_id: str) -> int | None:
        return self.docker.vni_of(docker_id)

    def create_link(self, endpoint_id: str, vni: int, address: str) -> str:
        name = self.links.create(endpoint_id, vni, address)
        try:  # hairpin: a task reaching itself through its service's VIP (net/nft.py)
            self.lb.hairpin()
        except Exception as exc:
            log.warning("hairpin mode not set: %s", exc)
        return name

    def delete_link(self, endpoint_id: str) -> None:
        self.links.delete(endpoint_id)
        self.detach_endpoint(endpoint_id)
        # An overlay kept for this container may go now. Not from this thread: dockerd is
        # waiting for our answer and holds the network meanwhile.
        self._wake.set()
