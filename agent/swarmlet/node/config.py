"""swarmletd's configuration: /etc/swarmlet/swarmlet.yml.

Every key is optional; an unknown key or a value of the wrong kind is an error that names it,
so a typo never silently falls back to a default.

    advertise_addr: 198.18.0.2        # address other nodes reach this one at (default: none
                                      # until `swarm init/join` gives or finds one)
    listen_addr: 0.0.0.0:2377         # the cluster API (mutual TLS)
    raft_port: 2378                   # Raft between managers, on the advertise address
    data_dir: /var/lib/swarmlet
    kek_file: null                    # a manager's key-encryption key when autolock is off
                                      # (ca/kek.py): outside the data dir, root only; null:
                                      # /etc/swarmlet/swarm.kek, or DATA_DIR.kek beside a
                                      # data dir that is not the default
    socket: /run/swarmlet/swarmlet.sock
    engine_socket: /run/swarmlet/docker.sock  # the Docker Engine API (docs/docker-api.md);
                                      # null: not served on a unix socket
    dockerd_socket: /var/run/docker.sock  # the node's own dockerd, where the Engine API
                                      # sends what is not about the swarm
    log_file: null                    # null: stderr
    log_level: info                   # debug | info | warning | error
    heartbeat_period: 5               # seconds; see protocol/heartbeat.py for what follows
    cluster_connections_per_peer: 64  # the cluster port's connections from one IP address
                                      # (each node holds about 2; NAT puts many behind one)
    dns_upstreams: null               # where the node's DNS resolver forwards names that
                                      # are not the swarm's: up to 3 "IP" or "IP:PORT";
                                      # null: the host's (/etc/resolv.conf); []: none
    metrics_addr: null                # plain-HTTP GET /metrics (as dockerd's metrics-addr),
                                      # "IP" or "IP:PORT" (port 9323): readable by anyone who
                                      # reaches it; null: only the API serves /metrics
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from swarmlet.errors import SwarmletError

DEFAULT_CONFIG_PATH = Path("/etc/swarmlet/swarmlet.yml")
API_PORT = 2377
RAFT_PORT = 2378
METRICS_PORT = 9323  # dockerd's metrics-addr port
LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_DATA_DIR = Path("/var/lib/swarmlet")
DEFAULT_KEK_FILE = Path("/etc/swarmlet/swarm.kek")


@dataclass(frozen=True)
class Config:
    advertise_addr: str | None = None
    listen_addr: str = f"0.0.0.0:{API_PORT}"
    raft_port: int = RAFT_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    kek_file: Path | None = None
    socket: Path = Path("/run/swarmlet/swarmlet.sock")
    engine_socket: Path | None = Path("/run/swarmlet/docker.sock")
    dockerd_socket: Path = Path("/var/run/docker.sock")
    log_file: Path | None = None
    log_level: str = "info"
    heartbeat_period: float = 5.0
    cluster_connections_per_peer: int = 64
    dns_upstreams: tuple[str, ...] | None = None
    metrics_addr: str | None = None

    @property
    def kek_path(self) -> Path:
        if self.kek_file is not None:
            return self.kek_file
        if self.data_dir == DEFAULT_DATA_DIR:
            return DEFAULT_KEK_FILE
        return self.data_dir.with_name(self.data_dir.name + ".kek")

    @property
    def listen_host_port(self) -> tuple[str, int]:
        return split_host_port(self.listen_addr, API_PORT)

    @property
    def metrics_host_port(self) -> tuple[str, int] | None:
        if self.metrics_addr is None:
            return None
        return split_host_port(self.metrics_addr, METRICS_PORT)


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    """'A', 'A:P' → (A, P), checking that A is an IP address and P a port."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(default_port)
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise SwarmletError(
            f'invalid address "{text}": expected an IP address, or IP:PORT') from exc
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SwarmletError(f'invalid port in "{text}"')
    return host, int(port)


_KINDS: dict[str, tuple[type, ...]] = {
    "advertise_addr": (str, type(None)),
    "listen_addr": (str,),
    "raft_port": (int,),
    "data_dir": (str,),
    "kek_file": (str, type(None)),
    "socket": (str,),
    "engine_socket": (str, type(None)),
    "dockerd_socket": (str,),
    "log_file": (str, type(None)),
    "log_level": (str,),
    "heartbeat_period": (int, float),
    "cluster_connections_per_peer": (int,),
    "dns_upstreams": (list, type(None)),
    "metrics_addr": (str, type(None)),
}


def parse_config(data: dict[str, Any], source: str = "config") -> Config:
    known = {f.name for f in fields(Config)}
    for key, value in data.items():
        if key not in known:
            raise SwarmletError(
                f"{source}: unknown key {key!r} (known keys: {', '.join(sorted(known))})"
            )
        if isinstance(value, bool) or not isinstance(value, _KINDS[key]):
            want = " or ".join("null" if k is type(None) else k.__name__ for k in _KINDS[key])
            raise SwarmletError(f"{source}: {key} must be {want}, not {value!r}")
    values = dict(data)
    for key in ("data_dir", "kek_file", "socket", "engine_socket", "dockerd_socket",
                "log_file"):
        if values.get(key) is not None:
            values[key] = Path(values[key])
    if values.get("dns_upstreams") is not None:
        values["dns_upstreams"] = _dns_upstreams(values["dns_upstreams"], source)
    config = Config(**values)
    if config.advertise_addr is not None:
        split_host_port(config.advertise_addr, API_PORT)
    config.listen_host_port  # noqa: B018 - validates listen_addr
    config.metrics_host_port  # noqa: B018 - validates metrics_addr
    if config.log_level not in LOG_LEVELS:
        raise SwarmletError(f"{source}: log_level must be one of {', '.join(LOG_LEVELS)}")
    if config.heartbeat_period <= 0:
        raise SwarmletError(f"{source}: heartbeat_period must be more than 0 seconds")
    if config.cluster_connections_per_peer < 1:
        raise SwarmletError(f"{source}: cluster_connections_per_peer must be at least 1")
    if config.kek_path.is_relative_to(config.data_dir):
        raise SwarmletError(f"{source}: kek_file must be outside data_dir: a copy of the data "
                            "dir must not hold the key that opens it")
    if not 0 < config.raft_port < 65536:
        raise SwarmletError(f"{source}: raft_port must be a TCP port (1-65535)")
    return config


def _dns_upstreams(items: list[Any], source: str) -> tuple[str, ...]:
    from swarmlet.net.dns_forward import MAX_UPSTREAMS, parse_upstream

    if len(items) > MAX_UPSTREAMS:
        raise SwarmletError(f"{source}: dns_upstreams: at most {MAX_UPSTREAMS} servers, "
                            f"not {len(items)}")
    for item in items:
        try:
            parse_upstream(item if isinstance(item, str) else "")
        except ValueError as exc:
            raise SwarmletError(f"{source}: dns_upstreams: {item!r} is not an IP address "
                                "or IP:PORT") from exc
    return tuple(items)


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> Config:
    """The config at `path`; the defaults when that file does not exist."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise SwarmletError(f"cannot read {path}: {exc.strerror}") from exc
    import yaml  # only when there is a file to read: a host without one never loads it

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SwarmletError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SwarmletError(f"{path}: expected a mapping of settings")
    return parse_config(data, source=str(path))
