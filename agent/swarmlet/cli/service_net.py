"""The network and port flags of `service create` / `service update`, as Docker's CLI reads
them: `--network NAME` or `--network name=N,alias=A`, `--endpoint-mode vip|dnsrr`,
`-p/--publish` (service_spec.parse_port), and on update `--network-add/--network-rm`,
`--publish-add/--publish-rm`.

Network names become IDs before the spec is sent, as Docker's CLI does: `resolve` is the
lookup (the API's GET /networks/{name}); pure otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from swarmlet.cli.flags import flag_error
from swarmlet.errors import SwarmletError

Spec = dict[str, Any]
Resolve = Callable[[str], str]
PROTOCOLS = ("tcp", "udp", "sctp")


def add_endpoint_option(p: argparse.ArgumentParser) -> None:
    """Shared by create and update."""
    p.add_argument("--endpoint-mode", metavar="string",
                   help='Endpoint mode (vip or dnsrr) (default "vip")')


def add_create_network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", action="append", default=[], metavar="network",
                   help="Network attachments")


def add_update_network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network-add", action="append", default=[], metavar="network",
                   help="Add a network")
    p.add_argument("--network-rm", action="append", default=[], metavar="list",
                   help="Remove a network")
    p.add_argument("--publish-add", action="append", default=[], metavar="port",
                   help="Add or update a published port")
    p.add_argument("--publish-rm", action="append", default=[], metavar="port",
                   help="Remove a published port by its target port")


def parse_network(value: str, flag: str = "network") -> Spec:
    """NAME, or CSV fields name=, alias= (repeatable), as Docker's NetworkOpt."""
    if "=" not in value:
        return {"Target": value, "Aliases": []}
    attachment: Spec = {"Target": "", "Aliases": []}
    for field in value.split(","):
        key, sep, val = field.partition("=")
        if not sep or not val:
            raise flag_error(flag, value, f"invalid field {field}")
        if key.lower() == "name":
            attachment["Target"] = val
        elif key.lower() == "alias":
            attachment["Aliases"].append(val)
        else:
            raise flag_error(flag, value, f"invalid field key {key}")
    if not attachment["Target"]:
        raise flag_error(flag, value, "network name/id is not specified")
    return attachment


def create_endpoint(args: argparse.Namespace) -> Spec | None:
    """The EndpointSpec `service create` sends (None: the server's default, vip)."""
    if not args.publish and args.endpoint_mode is None:
        return None
    endpoint: Spec = {"Mode": (args.endpoint_mode or "vip").lower()}
    if args.publish:
        endpoint["Ports"] = [parse_port(p) for p in args.publish]
    return endpoint


def create_networks(values: list[str], resolve: Resolve) -> list[Spec]:
    attachments = []
    for value in values:
        attachment = parse_network(value)
        attachments.append({**attachment, "Target": resolve(attachment["Target"])})
    return attachments


def update_networks(task: Spec, add: list[str], remove: list[str], resolve: Resolve) -> None:
    """Docker's updateNetworks: removals (by name or ID) first, then additions; a network
    the service is on already is an error; sorted by ID."""
    if not add and not remove:
        return
    gone = {resolve(ref) for ref in remove}
    kept = [n for n in task.get("Networks") or [] if n.get("Target") not in gone]
    have = {n["Target"] for n in kept}
    for value in add:
        attachment = parse_network(value, "network-add")
        network_id = resolve(attachment["Target"])
        if network_id in have:
            raise SwarmletError(f"service is already attached to network "
                                f"{attachment['Target']}")
        kept.append({**attachment, "Target": network_id})
        have.add(network_id)
    task["Networks"] = sorted(kept, key=lambda n: n["Target"])


def port_key(port: Spec) -> str:
    """Docker's portConfigToString: published:target/protocol/mode."""
    return (f"{port.get('PublishedPort', 0)}:{port.get('TargetPort', 0)}/"
            f"{port.get('Protocol', 'tcp')}/{port.get('PublishMode', 'ingress')}")


def update_ports(endpoint: Spec, add: list[str], remove: list[str]) -> None:
    """Docker's updatePorts: --publish-rm drops the ports with that target port, protocol
    and mode; --publish-add adds what is not there already; sorted by port_key."""
    if not add and not remove:
        return
    unique = {port_key(p): p for p in reversed(endpoint.get("Ports") or [])}
    gone = [parse_port(v) for v in remove]
    ports = [p for p in unique.values() if not any(
        p.get("TargetPort") == r["TargetPort"] and p.get("Protocol", "tcp") == r["Protocol"]
        and p.get("PublishMode", "ingress") == r["PublishMode"] for r in gone)]
    for value in add:
        port = parse_port(value)
        if port_key(port) not in unique:
            ports.append(port)
            unique[port_key(port)] = port
    ports.sort(key=port_key)
    if ports:
        endpoint["Ports"] = ports
    else:
        endpoint.pop("Ports", None)


def update_endpoint(spec: Spec, args: argparse.Namespace) -> None:
    """--endpoint-mode, --publish-add, --publish-rm onto the spec's EndpointSpec."""
    if args.endpoint_mode is None and not args.publish_add and not args.publish_rm:
        return
    endpoint = spec.setdefault("EndpointSpec", {"Mode": "vip"})
    if args.endpoint_mode is not None:
        endpoint["Mode"] = args.endpoint_mode.lower()
    update_ports(endpoint, args.publish_add, args.publish_rm)


def parse_port(value: str) -> Spec:
    """-p: [published:]target[/protocol], or published=,target=,protocol=,mode= as Docker."""
    if "=" in value:
        port: Spec = {"Protocol": "tcp", "PublishMode": "ingress"}
        for field in value.split(","):
            key, _, val = field.partition("=")
            if key in ("published", "target"):
                port["PublishedPort" if key == "published" else "TargetPort"] = _port(val, value)
            elif key == "protocol" and val in PROTOCOLS:
                port["Protocol"] = val
            elif key == "mode" and val in ("ingress", "host"):
                port["PublishMode"] = val
            else:
                raise flag_error("publish", value, f"invalid field key {key}")
        if "TargetPort" not in port:
            raise flag_error("publish", value, "missing mandatory field \"target\"")
        return port
    ports, _, protocol = value.partition("/")
    protocol = protocol or "tcp"
    if protocol not in PROTOCOLS:
        raise flag_error("publish", value, f"invalid proto: {protocol}")
    published, _, target = ports.rpartition(":")
    port = {"Protocol": protocol, "TargetPort": _port(target, value), "PublishMode": "ingress"}
    if published:
        port["PublishedPort"] = _port(published, value)
    return port


def _port(text: str, value: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise flag_error("publish", value, f"invalid port: {text or value}")
    return int(text)
