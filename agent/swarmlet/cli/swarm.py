"""`swarmlet swarm`: init, join, join-token, leave, update, inspect — Docker's commands and
output."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from swarmlet.ca.expiry import check_cert_expiry
from swarmlet.cli.durations import parse_duration
from swarmlet.cli.flags import go_bool
from swarmlet.client import Client
from swarmlet.errors import SwarmletError


def register(commands: argparse._SubParsersAction) -> None:
    swarm = commands.add_parser("swarm", help="Manage the swarm")
    sub = swarm.add_subparsers(dest="swarm_command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="Initialize a swarm")
    p.add_argument("--advertise-addr", help="Advertised address (format: <ip>[:port])")
    p.add_argument("--listen-addr", help="Listen address (format: <ip>[:port]) "
                   "(default 0.0.0.0:2377)")
    p.add_argument("--force-new-cluster", action="store_true",
                   help="Force create a new cluster from current state")
    p.add_argument("--dispatcher-heartbeat", default="5s", metavar="DURATION",
                   help="Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)")
    _autolock_flag(p, "Enable manager autolocking (requiring an unlock key to start a "
                   "stopped manager)")
    p.add_argument("--default-addr-pool", action="append", default=[], metavar="ipNetSlice",
                   help="default address pool in CIDR format (default [])")
    p.add_argument("--default-addr-pool-mask-length", type=_uint("default-addr-pool-mask-"
                   "length"), metavar="uint32",
                   help="default address pool subnet mask length (default 24)")
    p.add_argument("--data-path-port", type=_uint("data-path-port"), metavar="uint32",
                   help="Port number to use for data path traffic (1024 - 49151). If no value "
                   "is set or is set to 0, the default port (4789) is used.")
    p.add_argument("--ca-cert", metavar="pem-file",
                   help="Path to the PEM-formatted root CA certificate the swarm uses "
                   "(with --ca-key; as `docker swarm ca --ca-cert`)")
    p.add_argument("--ca-key", metavar="pem-file",
                   help="Path to the PEM-formatted root CA key")
    p.set_defaults(run=cmd_init)

    p = sub.add_parser("join", help="Join a swarm as a node and/or manager")
    p.add_argument("--token", required=True, help="Token for entry into the swarm")
    p.add_argument("--advertise-addr", help="Advertised address (format: <ip>[:port])")
    p.add_argument("--listen-addr", help="Listen address (format: <ip>[:port])")
    p.add_argument("--availability", default="active", choices=["active", "pause", "drain"],
                   help='Availability of the node ("active"|"pause"|"drain") '
                   '(default "active")')
    p.add_argument("remote", metavar="HOST:PORT")
    p.set_defaults(run=cmd_join)

    p = sub.add_parser("join-token", help="Manage join tokens")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display token")
    p.add_argument("--rotate", action="store_true", help="Rotate join token")
    p.add_argument("role", choices=["worker", "manager"])
    p.set_defaults(run=cmd_join_token)

    p = sub.add_parser("leave", help="Leave the swarm")
    p.add_argument("-f", "--force", action="store_true",
                   help="Force this node to leave the swarm, ignoring warnings")
    p.set_defaults(run=cmd_leave)

    p = sub.add_parser("update", help="Update the swarm")
    p.add_argument("--cert-expiry", metavar="DURATION",
                   help="Validity period for node certificates (ns|us|ms|s|m|h) "
                   "(default 2160h0m0s)")
    p.add_argument("--dispatcher-heartbeat", metavar="DURATION",
                   help="Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)")
    p.add_argument("--task-history-limit", type=int, metavar="INT",
                   help="Task history retention limit (default 5)")
    _autolock_flag(p, "Change manager autolocking setting (true|false)")
    p.set_defaults(run=cmd_update)

    p = sub.add_parser("unlock", help="Unlock swarm")
    p.set_defaults(run=cmd_unlock)

    p = sub.add_parser("unlock-key", help="Manage the unlock key")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display token")
    p.add_argument("--rotate", action="store_true", help="Rotate unlock key")
    p.set_defaults(run=cmd_unlock_key)

    p = sub.add_parser("inspect", help="Display detailed information on the swarm")
    p.set_defaults(run=cmd_inspect)

    ca = sub.add_parser("ca", help="Manage the swarm's certificate authority")
    ca_sub = ca.add_subparsers(dest="ca_command", metavar="COMMAND", required=True)
    p = ca_sub.add_parser("client-cert", help="Issue a client certificate for remote access "
                          "to the managers' API (Ansible modules, inventory, -H tcp://)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="Directory to write ca.pem, cert.pem and key.pem to")
    p.set_defaults(run=cmd_client_cert)


def _autolock_flag(parser: argparse.ArgumentParser, text: str) -> None:
    """--autolock alone is true, as Docker's bool flags; --autolock=false turns it off."""
    parser.add_argument("--autolock", nargs="?", const=True, default=None,
                        type=go_bool("autolock"), metavar="BOOL", help=text)


def _print_unlock_key(key: str) -> None:
    print("To unlock a swarm manager after it restarts, run the `swarmlet swarm unlock`\n"
          f"command and provide the following key:\n\n    {key}\n\n"
          "Please remember to store this key in a password manager, since without it you\n"
          "will not be able to restart the manager.")


def _join_command(client: Client, role: str, token: str) -> str:
    info = client.get("/info")["Swarm"]
    me = client.get(f"/nodes/{info['NodeID']}")
    addr = me.get("ManagerStatus", {}).get("Addr") or f"{info['NodeAddr']}:2377"
    return (f"To add a {role} to this swarm, run the following command:\n\n"
            f"    swarmlet swarm join --token {token} {addr}\n")


def cmd_init(args: argparse.Namespace) -> None:
    client = Client(args.host)
    node_id = client.post("/swarm/init", init_request(args))
    print(f"Swarm initialized: current node ({node_id}) is now a manager.\n")
    token = client.get("/swarm")["JoinTokens"]["Worker"]
    print(_join_command(client, "worker", token))
    print("To add a manager to this swarm, run 'swarmlet swarm join-token manager' and follow "
          "the instructions.\n")
    if args.autolock:
        _print_unlock_key(client.get("/swarm/unlockkey")["UnlockKey"])


def init_request(args: argparse.Namespace) -> dict[str, Any]:
    """The body of POST /swarm/init for `swarm init`'s flags (the agent checks the values)."""
    period = parse_duration(args.dispatcher_heartbeat)
    spec: dict[str, Any] = {"Dispatcher": {"HeartbeatPeriod": int(period * 10**9)}}
    if args.ca_cert or args.ca_key:
        if not (args.ca_cert and args.ca_key):
            raise SwarmletError("--ca-cert and --ca-key must be given together")
        spec["CAConfig"] = {"SigningCACert": _read_text(args.ca_cert),
                            "SigningCAKey": _read_text(args.ca_key)}
    body: dict[str, Any] = {"AdvertiseAddr": args.advertise_addr,
                            "ListenAddr": args.listen_addr,
                            "ForceNewCluster": args.force_new_cluster,
                            "AutoLockManagers": bool(args.autolock), "Spec": spec}
    if args.default_addr_pool:
        body["DefaultAddrPool"] = list(args.default_addr_pool)
    if args.default_addr_pool_mask_length is not None:
        body["SubnetSize"] = args.default_addr_pool_mask_length
    if args.data_path_port is not None:
        body["DataPathPort"] = args.data_path_port
    return body


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise SwarmletError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None


def _uint(flag: str) -> Any:
    def parse(value: str) -> int:
        if not value.isascii() or not value.isdigit() or int(value) >= 2**32:
            raise SwarmletError(f'invalid argument "{value}" for "--{flag}" flag: '
                                f'strconv.ParseUint: parsing "{value}": invalid syntax')
        return int(value)
    return parse


def cmd_join(args: argparse.Namespace) -> None:
    client = Client(args.host)
    client.post("/swarm/join", {"JoinToken": args.token, "RemoteAddrs": [args.remote],
                                "AdvertiseAddr": args.advertise_addr,
                                "ListenAddr": args.listen_addr,
                                "Availability": args.availability})
    role = "manager" if client.get("/info")["Swarm"]["ControlAvailable"] else "worker"
    print(f"This node joined a swarm as a {role}.")


def cmd_join_token(args: argparse.Namespace) -> None:
    client = Client(args.host)
    key = "Worker" if args.role == "worker" else "Manager"
    if args.rotate:
        cluster = client.get("/swarm")
        client.post("/swarm/update", None, version=cluster["Version"]["Index"],
                    **{f"rotate{key}Token": "true"})
        if not args.quiet:
            print(f"Successfully rotated {args.role} join token.\n")
    token = client.get("/swarm")["JoinTokens"][key]
    if args.quiet:
        print(token)
        return
    print(_join_command(client, args.role, token))


def cmd_leave(args: argparse.Namespace) -> None:
    Client(args.host).post("/swarm/leave", None, **({"force": "true"} if args.force else {}))
    print("Node left the swarm.")


def cmd_client_cert(args: argparse.Namespace) -> None:
    """The key is made here and never leaves this machine; the manager signs its CSR."""
    from swarmlet.ca.files import write_atomic
    from swarmlet.ca.node import make_csr, new_key

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = new_key()
    answer = Client(args.host).post("/ca/client", {"CSR": make_csr(key).decode()})
    write_atomic(out / "key.pem", key, 0o600)
    write_atomic(out / "cert.pem", answer["Certificate"].encode(), 0o644)
    write_atomic(out / "ca.pem", answer["CACertificate"].encode(), 0o644)
    print(f"Client certificate {answer['ID']} written to {out}/ (ca.pem, cert.pem, key.pem)")


def cmd_update(args: argparse.Namespace) -> None:
    """Docker's read-modify-write: the whole current spec goes back with the flags applied."""
    client = Client(args.host)
    cluster = client.get("/swarm")
    spec = cluster["Spec"]
    if args.cert_expiry is not None:
        expiry = check_cert_expiry(timedelta(seconds=parse_duration(args.cert_expiry)))
        spec["CAConfig"] = {**(spec.get("CAConfig") or {}),
                            "NodeCertExpiry": expiry // timedelta(microseconds=1) * 1000}
    if args.dispatcher_heartbeat is not None:
        spec["Dispatcher"] = {**(spec.get("Dispatcher") or {}), "HeartbeatPeriod":
                              int(parse_duration(args.dispatcher_heartbeat) * 10**9)}
    if args.task_history_limit is not None:
        spec["Orchestration"] = {**(spec.get("Orchestration") or {}),
                                 "TaskHistoryRetentionLimit": args.task_history_limit}
    locked_before = bool((spec.get("EncryptionConfig") or {}).get("AutoLockManagers"))
    if args.autolock is not None:
        spec["EncryptionConfig"] = {**(spec.get("EncryptionConfig") or {}),
                                    "AutoLockManagers": args.autolock}
    client.post("/swarm/update", spec, version=cluster["Version"]["Index"])
    print("Swarm updated.")
    if args.autolock and not locked_before:
        _print_unlock_key(client.get("/swarm/unlockkey")["UnlockKey"])


def cmd_unlock(args: argparse.Namespace) -> None:
    """The key from a prompt on a terminal, else the first line of stdin, as Docker's."""
    client = Client(args.host)
    state = client.get("/info")["Swarm"]["LocalNodeState"]
    if state == "inactive":
        raise SwarmletError("Error: This node is not part of a swarm")
    if state != "locked":
        raise SwarmletError("Error: swarm is not locked")
    tty = sys.stdin.isatty()
    key = getpass.getpass("Enter unlock key: ") if tty else sys.stdin.readline()
    client.post("/swarm/unlock", {"UnlockKey": key.strip()})


def cmd_unlock_key(args: argparse.Namespace) -> None:
    client = Client(args.host)
    if args.rotate:
        cluster = client.get("/swarm")
        if not (cluster["Spec"].get("EncryptionConfig") or {}).get("AutoLockManagers"):
            raise SwarmletError("cannot rotate because autolock is not turned on")
        client.post("/swarm/update", cluster["Spec"], version=cluster["Version"]["Index"],
                    rotateManagerUnlockKey="true")
        if not args.quiet:
            print("Successfully rotated manager unlock key.\n")
    key = client.get("/swarm/unlockkey")["UnlockKey"]
    if not key:
        raise SwarmletError("no unlock key is set")
    if args.quiet:
        print(key)
        return
    _print_unlock_key(key)


def cmd_inspect(args: argparse.Namespace) -> None:
    cluster: dict[str, Any] = Client(args.host).get("/swarm")
    print(json.dumps([cluster], indent=4))
