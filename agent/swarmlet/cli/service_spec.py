"""`service create` flags -> a partial ServiceSpec (Docker's Engine API shape), as Docker's
CLI builds it.

Syntax only: what the flags say, in the API's shape. The values' syntax (durations, sizes,
CPUs, the --mount CSV, labels, the health-check merge) is the spec core's
(swarmlet.spec.syntax); the defaults and rules of a spec are the agent's (it fills in and
checks what is not given). Pure apart from reading --env-file files and looking bare
`-e NAME` up in the environment given. `add_common_options` / `apply_common` hold the flags
`service update` shares with `create` (the --update-* / --rollback-* policies among them), so
update can apply them onto an existing spec; keys the user did not set are left out.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from swarmlet.cli import service_container
from swarmlet.cli.flags import flag_error
from swarmlet.cli.service_net import (
    add_create_network_options,
    add_endpoint_option,
    create_endpoint,
    create_networks,
)
from swarmlet.cli.service_net import parse_port as parse_port  # re-exported
from swarmlet.cli.service_refs import Lookup, create_references
from swarmlet.cli.service_refs import add_create_options as add_reference_options
from swarmlet.cli.units import duration_nanos, nano_cpus, ram_in_bytes
from swarmlet.errors import SwarmletError
from swarmlet.spec import syntax
from swarmlet.spec.syntax import MOUNT_TYPES as MOUNT_TYPES  # re-exported

Spec = dict[str, Any]
RESTART_CONDITIONS = ("none", "on-failure", "any")
# Update and rollback policies: flag prefix -> spec key, and the failure actions it takes.
# Only the fields given are sent; the agent fills in the rest (on update the current spec
# already has them).
POLICIES = {"update": "UpdateConfig", "rollback": "RollbackConfig"}
FAILURE_ACTIONS = {"update": ("pause", "continue", "rollback"), "rollback": ("pause", "continue")}
UPDATE_ORDERS = ("stop-first", "start-first")


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Flags `service create` and `service update` share (same names, same meaning)."""
    p.add_argument("-d", "--detach", action="store_true",
                   help="Exit immediately instead of waiting for the service to converge")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output")
    p.add_argument("--replicas", metavar="uint", help="Number of tasks")
    p.add_argument("--replicas-max-per-node", metavar="uint",
                   help="Maximum number of tasks per node (default 0 = unlimited)")
    for flag, helptext in (("reserve-cpu", "Reserve CPUs"), ("reserve-memory", "Reserve Memory"),
                           ("limit-cpu", "Limit CPUs"), ("limit-memory", "Limit Memory")):
        p.add_argument(f"--{flag}", metavar="value", help=helptext)
    p.add_argument("--restart-condition", metavar="string",
                   help='Restart when condition is met ("none"|"on-failure"|"any") '
                   '(default "any")')
    p.add_argument("--restart-delay", metavar="duration",
                   help="Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)")
    p.add_argument("--restart-max-attempts", metavar="uint",
                   help="Maximum number of restarts before giving up")
    p.add_argument("--restart-window", metavar="duration",
                   help="Window used to evaluate the restart policy (ns|us|ms|s|m|h)")
    p.add_argument("--health-cmd", metavar="string", help="Command to run to check health")
    p.add_argument("--health-interval", metavar="duration",
                   help="Time between running the check (ms|s|m|h)")
    p.add_argument("--health-timeout", metavar="duration",
                   help="Maximum time to allow one check to run (ms|s|m|h)")
    p.add_argument("--health-retries", metavar="int",
                   help="Consecutive failures needed to report unhealthy")
    p.add_argument("--health-start-period", metavar="duration",
                   help="Start period for the container to initialize before counting "
                   "retries towards unstable (ms|s|m|h)")
    p.add_argument("--no-healthcheck", action="store_true",
                   help="Disable any container-specified HEALTHCHECK")
    p.add_argument("--entrypoint", metavar="command",
                   help="Overwrite the default ENTRYPOINT of the image")
    p.add_argument("-w", "--workdir", metavar="string",
                   help="Working directory inside the container")
    p.add_argument("-u", "--user", metavar="string",
                   help="Username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("--hostname", metavar="string", help="Container hostname")
    p.add_argument("--stop-grace-period", metavar="duration",
                   help="Time to wait before force killing a container (ns|us|ms|s|m|h) "
                   "(default 10s)")
    p.add_argument("--stop-signal", metavar="string", help="Signal to stop the container")
    add_endpoint_option(p)
    add_policy_options(p)
    service_container.add_shared_options(p)


def add_policy_options(p: argparse.ArgumentParser) -> None:
    """--update-* and --rollback-*: the service's UpdateConfig and RollbackConfig."""
    words = {"update": ("updated", "update all", "updates", "update", "an update"),
             "rollback": ("rolled back", "roll back all", "task rollbacks", "rollback",
                          "a rollback")}
    for prefix, (doing, every, between, noun, during) in words.items():
        actions = ", ".join(f'"{a}"' for a in FAILURE_ACTIONS[prefix])
        p.add_argument(f"--{prefix}-parallelism", metavar="uint",
                       help=f"Maximum number of tasks {doing} simultaneously (0 to {every} at "
                       "once) (default 1)")
        p.add_argument(f"--{prefix}-delay", metavar="duration",
                       help=f"Delay between {between} (ns|us|ms|s|m|h) (default 0s)")
        p.add_argument(f"--{prefix}-failure-action", metavar="string",
                       help=f'Action on {noun} failure ({actions}) (default "pause")')
        p.add_argument(f"--{prefix}-monitor", metavar="duration",
                       help=f"Duration after each task {noun} to monitor for failure "
                       "(ns|us|ms|s|m|h) (default 5s)")
        p.add_argument(f"--{prefix}-max-failure-ratio", metavar="float",
                       help=f"Failure rate to tolerate during {during} (default 0)")
        p.add_argument(f"--{prefix}-order", metavar="string",
                       help=f'{noun.capitalize()} order ("start-first", "stop-first") '
                       '(default "stop-first")')


def add_create_options(p: argparse.ArgumentParser) -> None:
    """Flags of `service create` only (update has --*-add/--*-rm forms instead)."""
    p.add_argument("--name", metavar="string", help="Service name")
    p.add_argument("--mode", metavar="string",
                   help='Service mode ("replicated", "global", "replicated-job", '
                   '"global-job") (default "replicated")')
    p.add_argument("--max-concurrent", metavar="uint",
                   help="Number of job tasks to run concurrently (default equal to --replicas)")
    many = (("constraint", "Placement constraints"),
            ("placement-pref", "Add a placement preference"),
            ("env-file", "Read in a file of environment variables"),
            ("label", "Service labels"), ("container-label", "Container labels"),
            ("mount", "Attach a filesystem mount to the service"))
    for flag, helptext in many:
        p.add_argument(f"--{flag}", action="append", default=[], metavar="value",
                       help=helptext)
    p.add_argument("-e", "--env", action="append", default=[], metavar="value",
                   help="Set environment variables")
    p.add_argument("-p", "--publish", action="append", default=[], metavar="port",
                   help="Publish a port as a node port")
    add_create_network_options(p)
    add_reference_options(p)
    service_container.add_create_options(p)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="[COMMAND] [ARG...]")


def spec_from_create_args(args: argparse.Namespace,
                          environ: Mapping[str, str] | None = None,
                          resolve: Callable[[str], str] | None = None,
                          lookup: Lookup | None = None) -> Spec:
    """The ServiceSpec `service create` sends for these parsed arguments; `resolve` turns
    network names into IDs, `lookup` secret and config names (as given when None)."""
    environ = os.environ if environ is None else environ
    container: Spec = {"Image": args.image}
    spec: Spec = {"TaskTemplate": {"ContainerSpec": container}, "Mode": service_mode(args)}
    if args.name:
        spec["Name"] = args.name
    if args.label:
        spec["Labels"] = labels(args.label, "label")
    if args.container_label:
        container["Labels"] = labels(args.container_label, "container-label")
    if args.args:
        container["Args"] = list(args.args)
    env = merge_env(args.env_file, args.env, environ)
    if env:
        container["Env"] = env
    if args.mount:
        container["Mounts"] = [parse_mount(m) for m in args.mount]
    create_references(container, args, lookup or (lambda _kind, name: name))
    service_container.apply_create(spec, args)
    placement: Spec = {}
    if args.constraint:
        placement["Constraints"] = list(args.constraint)
    if args.placement_pref:
        placement["Preferences"] = [placement_pref(p) for p in args.placement_pref]
    if placement:
        spec["TaskTemplate"]["Placement"] = placement
    if args.network:
        spec["TaskTemplate"]["Networks"] = create_networks(args.network,
                                                           resolve or (lambda name: name))
    endpoint = create_endpoint(args)
    if endpoint is not None:
        spec["EndpointSpec"] = endpoint
    apply_common(spec, args)
    return spec


def service_mode(args: argparse.Namespace) -> Spec:
    """--mode, --replicas and --max-concurrent as Docker's CLI reads them (ToServiceMode):
    the flags each mode takes; a replicated job runs as many tasks at once as it wants
    completions unless --max-concurrent says otherwise. What is not given, the agent fills
    in."""
    mode = args.mode or "replicated"
    if mode not in ("replicated", "global", "replicated-job", "global-job"):
        raise SwarmletError(f"Unknown mode: {mode}, only replicated and global supported")
    replicas = None if args.replicas is None else parse_uint(args.replicas, "replicas")
    concurrent = None if args.max_concurrent is None else parse_uint(
        args.max_concurrent, "max-concurrent")
    replicated = mode in ("replicated", "replicated-job")
    if not replicated and args.replicas is not None:
        raise SwarmletError("replicas can only be used with replicated or replicated-job mode")
    if not replicated and args.replicas_max_per_node is not None:
        raise SwarmletError("replicas-max-per-node can only be used with replicated or "
                            "replicated-job mode")
    if mode != "replicated-job" and concurrent is not None:
        raise SwarmletError("max-concurrent can only be used with replicated-job mode")
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    if mode == "replicated-job":
        job = {"MaxConcurrent": replicas if concurrent is None else concurrent,
               "TotalCompletions": replicas}
        return {"ReplicatedJob": {k: v for k, v in job.items() if v is not None}}
    return {"Replicated": {"Replicas": 1 if replicas is None else replicas}}


def apply_common(spec: Spec, args: argparse.Namespace, updating: bool = False) -> Spec:
    """Set, onto `spec`, what the shared flags say; leave everything else as it is."""
    task = spec.setdefault("TaskTemplate", {})
    container = task.setdefault("ContainerSpec", {})
    for flag, key in (("workdir", "Dir"), ("user", "User"), ("hostname", "Hostname"),
                      ("stop_signal", "StopSignal")):
        if getattr(args, flag) is not None:
            container[key] = getattr(args, flag)
    if args.entrypoint is not None:
        try:
            container["Command"] = shlex.split(args.entrypoint)
        except ValueError as exc:
            raise flag_error("entrypoint", args.entrypoint, str(exc)) from None
    if args.stop_grace_period is not None:
        container["StopGracePeriod"] = parse_duration_flag(args.stop_grace_period,
                                                           "stop-grace-period")
    health = healthcheck(args)
    if health is not None:
        merged = merge_health(container.get("Healthcheck"), health)
        if merged is None:
            container.pop("Healthcheck", None)
        else:
            container["Healthcheck"] = merged
    if args.replicas_max_per_node is not None:
        task.setdefault("Placement", {})["MaxReplicas"] = parse_uint(
            args.replicas_max_per_node, "replicas-max-per-node")
    for group, prefix in (("Limits", "limit"), ("Reservations", "reserve")):
        cpu, memory = getattr(args, f"{prefix}_cpu"), getattr(args, f"{prefix}_memory")
        if cpu is None and memory is None:
            continue
        values = task.setdefault("Resources", {}).setdefault(group, {})
        if cpu is not None:
            values["NanoCPUs"] = _flag(nano_cpus, cpu, f"{prefix}-cpu")
        if memory is not None:
            values["MemoryBytes"] = _flag(ram_in_bytes, memory, f"{prefix}-memory")
    service_container.apply_shared(spec, args, updating=updating)
    restart = restart_policy(args)
    if restart:
        task.setdefault("RestartPolicy", {}).update(restart)
    for prefix, key in POLICIES.items():
        changes = policy_changes(args, prefix)
        if changes:
            spec[key] = {**(spec.get(key) or {}), **changes}
    return spec


def policy_changes(args: argparse.Namespace, prefix: str) -> Spec:
    """The UpdateConfig (or RollbackConfig) fields the --update-* (--rollback-*) flags set.
    Only the syntax is checked here; what a value may be is the agent's rule (a refused one
    comes back from it with Docker's daemon words)."""
    def given(name: str) -> str | None:
        return getattr(args, f"{prefix}_{name.replace('-', '_')}")

    changes: Spec = {}
    if given("parallelism") is not None:
        changes["Parallelism"] = parse_uint(given("parallelism") or "", f"{prefix}-parallelism")
    for name, key in (("delay", "Delay"), ("monitor", "Monitor")):
        value = given(name)
        if value is not None:
            changes[key] = parse_signed_duration(value, f"{prefix}-{name}")
    for name, key in (("failure-action", "FailureAction"), ("order", "Order")):
        if given(name) is not None:
            changes[key] = given(name)
    ratio = given("max-failure-ratio")
    if ratio is not None:
        changes["MaxFailureRatio"] = parse_ratio(ratio, f"{prefix}-max-failure-ratio")
    return changes


def parse_signed_duration(value: str, flag: str) -> int:
    """A Go duration, which may be negative ("-5s")."""
    return _flag(lambda text: duration_nanos(text, negative=True), value, flag)


def parse_ratio(value: str, flag: str) -> float:
    """strconv.ParseFloat as pflag's float flag reads it (the agent checks the range)."""
    try:
        if "_" in value or value.strip() != value:
            raise ValueError(value)
        ratio = float(value)
        if not math.isfinite(ratio):  # NaN and infinities have no JSON form to send
            raise ValueError(value)
    except ValueError:
        raise flag_error(flag, value, f'strconv.ParseFloat: parsing "{value}": invalid syntax'
                         ) from None
    return int(ratio) if ratio.is_integer() else ratio


def restart_policy(args: argparse.Namespace) -> Spec:
    policy: Spec = {}
    if args.restart_condition is not None:
        if args.restart_condition not in RESTART_CONDITIONS:
            raise flag_error("restart-condition", args.restart_condition,
                             'must be one of "none", "on-failure" or "any"')
        policy["Condition"] = args.restart_condition
    if args.restart_delay is not None:
        policy["Delay"] = parse_duration_flag(args.restart_delay, "restart-delay")
    if args.restart_max_attempts is not None:
        policy["MaxAttempts"] = parse_uint(args.restart_max_attempts, "restart-max-attempts")
    if args.restart_window is not None:
        policy["Window"] = parse_duration_flag(args.restart_window, "restart-window")
    return policy


def healthcheck(args: argparse.Namespace) -> Spec | None:
    """Docker's toHealthConfig: NONE, or only the settings given (0/absent = the image's)."""
    durations = {"Interval": "health-interval", "Timeout": "health-timeout",
                 "StartPeriod": "health-start-period"}
    given = [getattr(args, flag.replace("-", "_")) for flag in durations.values()]
    retries = args.health_retries
    have_settings = bool(args.health_cmd) or any(v is not None for v in given) or (
        retries is not None)
    if args.no_healthcheck:
        if have_settings:
            raise SwarmletError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have_settings:
        return None
    health: Spec = {}
    if args.health_cmd:
        health["Test"] = ["CMD-SHELL", args.health_cmd]
    for (key, flag), value in zip(durations.items(), given, strict=True):
        if value is not None:
            health[key] = parse_duration_flag(value, flag)
    if retries is not None:
        try:
            health["Retries"] = int(retries, 10)
        except ValueError:
            raise flag_error("health-retries", retries,
                             f'strconv.ParseInt: parsing "{retries}": invalid syntax') from None
        if health["Retries"] < 0:
            raise SwarmletError("--health-retries cannot be negative")
    return health


def merge_health(old: Spec | None, given: Spec) -> Spec | None:
    """The --health-* settings given over the spec's healthcheck (Docker's updateHealthcheck;
    on create there is none): the spec core's merge (a NONE test is dropped once settings
    are given; a 0 setting is the image's again)."""
    return syntax.merge_healthcheck(old, given)


def parse_uint(value: str, flag: str) -> int:
    """strconv.ParseUint as pflag uses it, with its error wording."""
    if not value.isascii() or not value.isdigit():
        raise flag_error(flag, value, f'strconv.ParseUint: parsing "{value}": invalid syntax')
    number = int(value)
    if number >= 2**64:
        raise flag_error(flag, value,
                         f'strconv.ParseUint: parsing "{value}": value out of range')
    return number


def parse_duration_flag(value: str, flag: str) -> int:
    return _flag(duration_nanos, value, flag)


def _flag(parse: Any, value: str, flag: str) -> Any:
    try:
        return parse(value)
    except SwarmletError as exc:
        raise flag_error(flag, value, str(exc)) from None


def labels(pairs: list[str], flag: str) -> dict[str, str]:
    """key=value (or bare key, value "") as Docker's ConvertKVStringsToMap."""
    for pair in pairs:
        try:
            syntax.parse_labels([pair])
        except ValueError as exc:
            raise flag_error(flag, pair, str(exc)) from None
    return syntax.parse_labels(pairs)


def placement_pref(value: str, flag: str = "placement-pref") -> Spec:
    fields = value.split("=")
    if len(fields) != 2:
        raise flag_error(flag, value,
                         'placement preference must be of the format "<strategy>=<arg>"')
    if fields[0] != "spread":
        raise flag_error(flag, value, f"unsupported placement preference "
                         f"{fields[0]} (only spread is supported)")
    return {"Spread": {"SpreadDescriptor": fields[1]}}


def merge_env(files: list[str], pairs: list[str], environ: Mapping[str, str]) -> list[str]:
    """--env-file contents, then -e values; a later value of a name replaces the earlier one."""
    values: list[str] = []
    for path in files:
        values += read_env_file(path, environ)
    for pair in pairs:
        key, sep, _ = pair.partition("=")
        if not key:
            raise flag_error("env", pair, f"invalid environment variable: {pair}")
        values.append(pair if sep or key not in environ else f"{key}={environ[key]}")
    merged: list[str] = []
    for value in values:
        name = value.split("=", 1)[0]
        merged = [v for v in merged if v != name and not v.startswith(name + "=")]
        merged.append(value)
    return merged


def read_env_file(path: str, environ: Mapping[str, str]) -> list[str]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise SwarmletError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
    return parse_env_lines(raw, path, environ)


def parse_env_lines(raw: bytes, path: str, environ: Mapping[str, str]) -> list[str]:
    """Docker's env-file format (the spec core's syntax), with the CLI's error."""
    try:
        return syntax.parse_env_file(raw, path, environ)
    except ValueError as exc:
        raise SwarmletError(str(exc)) from None


def parse_mount(value: str, flag: str = "mount") -> Spec:
    """Docker's --mount CSV (the spec core's parser), with pflag's error wording."""
    try:
        return syntax.parse_mount(value)
    except ValueError as exc:
        raise flag_error(flag, value, str(exc)) from None
