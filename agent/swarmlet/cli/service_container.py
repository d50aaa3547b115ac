"""The container's process and sandbox flags of `service create` / `service update`, as
Docker's CLI spells them: --dns, --dns-search, --dns-option, --host, --group, --cap-add,
--cap-drop, --sysctl, --ulimit (update: --*-add / --*-rm pairs, and --cap-add/--cap-drop),
and --init, --read-only, -t/--tty, --log-driver, --log-opt on both.

Syntax only (`name:IP` to the spec's "IP name", `nofile=1024:2048` to a Ulimit): the spec
core checks the values and normalises the capabilities when the agent stores the spec."""

from __future__ import annotations

import argparse
from typing import Any

from swarmlet.cli.flags import flag_error, go_bool
from swarmlet.spec import syntax

Spec = dict[str, Any]
BOOL_FLAGS = ("--init", "--read-only", "--tty")
BOOL_VALUE = "-value"  # the hidden twin of a bool flag that takes `=value`
# create's list flag -> (spec place, update's add/rm flags); the DNS ones live in DNSConfig
LISTS = {"dns": ("DNSConfig", "Nameservers"), "dns-search": ("DNSConfig", "Search"),
         "dns-option": ("DNSConfig", "Options"), "host": ("Hosts",), "group": ("Groups",)}
HELP = {"dns": "Set custom DNS servers", "dns-search": "Set custom DNS search domains",
        "dns-option": "Set DNS options", "host": "Set one or more custom host-to-IP mappings "
        "(host:ip)", "group": "Set one or more supplementary user groups for the container",
        "sysctl": "Sysctl options", "ulimit": "Ulimit options"}


def add_shared_options(p: argparse.ArgumentParser) -> None:
    """Flags create and update share."""
    for flag, helptext in (("init", "Use an init inside each service container to forward "
                            "signals and reap processes"),
                           ("read-only", "Mount the container's root filesystem as read only"),
                           ("tty", "Allocate a pseudo-TTY")):
        names = ["-t", "--tty"] if flag == "tty" else [f"--{flag}"]
        dest = flag.replace("-", "_")
        p.add_argument(*names, action="store_const", const=True, default=None, dest=dest,
                       help=helptext)
        # `--init=false`: bool_values (main) turns it into this hidden form, since a bool
        # flag must not take the IMAGE that follows it as its value
        p.add_argument(f"--{flag}{BOOL_VALUE}", type=go_bool(flag), dest=dest,
                       help=argparse.SUPPRESS)
    p.add_argument("--log-driver", metavar="string", help="Logging driver for service")
    p.add_argument("--log-opt", action="append", default=[], metavar="list",
                   help="Logging driver options")
    p.add_argument("--cap-add", action="append", default=[], metavar="list",
                   help="Add Linux capabilities")
    p.add_argument("--cap-drop", action="append", default=[], metavar="list",
                   help="Drop Linux capabilities")


def bool_values(argv: list[str]) -> list[str]:
    """`--init=false` as pflag reads a bool flag with a value: to the hidden twin
    `--init-value false` (argparse's bool flags take no `=value`)."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            out += argv[i:]
            break
        name, sep, value = arg.partition("=")
        out += [name + BOOL_VALUE, value] if sep and name in BOOL_FLAGS else [arg]
    return out


def add_create_options(p: argparse.ArgumentParser) -> None:
    for flag in (*LISTS, "sysctl", "ulimit"):
        p.add_argument(f"--{flag}", action="append", default=[], metavar="list",
                       help=HELP[flag], dest=_dest(flag))


def _dest(flag: str) -> str:
    """The attribute of a create flag: --host's is not `host`, the global -H/--host's."""
    return "extra_hosts" if flag == "host" else flag.replace("-", "_")


def add_update_options(p: argparse.ArgumentParser) -> None:
    for flag in (*LISTS, "sysctl", "ulimit"):
        what = HELP[flag].replace("Set ", "").replace("one or more ", "")
        p.add_argument(f"--{flag}-add", action="append", default=[], metavar="list",
                       help=f"Add or update {what}")
        p.add_argument(f"--{flag}-rm", action="append", default=[], metavar="list",
                       help=f"Remove {what}")


def _get(container: Spec, place: tuple[str, ...]) -> list[str]:
    obj: Any = container
    for key in place:
        obj = (obj or {}).get(key)
    return list(obj or [])


def _set(container: Spec, place: tuple[str, ...], values: list[Any]) -> None:
    obj = container
    for key in place[:-1]:
        obj = obj.setdefault(key, {})
    if values:
        obj[place[-1]] = values
    else:
        obj.pop(place[-1], None)
        if len(place) > 1 and not obj:
            container.pop(place[0], None)


def hosts(values: list[str], flag: str) -> list[str]:
    return [_syntax(syntax.host_entry, v, flag) for v in values]


def ulimits(values: list[str], flag: str) -> list[Spec]:
    return [_syntax(syntax.parse_ulimit, v, flag) for v in values]


def sysctls(values: list[str], flag: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise flag_error(flag, value, f"invalid argument {value!r}: want key=value")
        out[key] = val
    return out


def _syntax(parse: Any, value: str, flag: str) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise flag_error(flag, value, str(exc)) from None


def apply_create(spec: Spec, args: argparse.Namespace) -> None:
    """create's list flags onto a new spec."""
    container = spec["TaskTemplate"]["ContainerSpec"]
    for flag, place in LISTS.items():
        values = getattr(args, _dest(flag))
        _set(container, place, hosts(values, flag) if flag == "host" else list(values))
    if args.sysctl:
        container["Sysctls"] = sysctls(args.sysctl, "sysctl")
    if args.ulimit:
        container["Ulimits"] = ulimits(args.ulimit, "ulimit")


def apply_update(spec: Spec, args: argparse.Namespace) -> None:
    """update's --*-add / --*-rm onto the current spec (removals first, as Docker's)."""
    container = spec["TaskTemplate"]["ContainerSpec"]
    for flag, place in LISTS.items():
        add = getattr(args, f"{flag.replace('-', '_')}_add")
        remove = getattr(args, f"{flag.replace('-', '_')}_rm")
        if not add and not remove:
            continue
        if flag == "host":  # --host-rm name:IP drops that mapping, --host-rm name all its
            add = hosts(add, "host-add")
            names = {r for r in remove if ":" not in r and "=" not in r}
            pairs = set(hosts([r for r in remove if r not in names], "host-rm"))
            kept = [e for e in _get(container, place)
                    if e not in pairs and not names & set(e.split()[1:])]
        else:
            kept = [v for v in _get(container, place) if v not in remove]
        _set(container, place, kept + [v for v in add if v not in kept])
    if args.sysctl_add or args.sysctl_rm:
        values = {k: v for k, v in (container.get("Sysctls") or {}).items()
                  if k not in {r.partition("=")[0] for r in args.sysctl_rm}}
        values.update(sysctls(args.sysctl_add, "sysctl-add"))
        _set(container, ("Sysctls",), values)  # type: ignore[arg-type]
    if args.ulimit_add or args.ulimit_rm:
        new = ulimits(args.ulimit_add, "ulimit-add")
        names = set(args.ulimit_rm) | {u["Name"] for u in new}
        kept = [u for u in container.get("Ulimits") or [] if u["Name"] not in names]
        _set(container, ("Ulimits",), sorted(kept + new, key=lambda u: u["Name"]))


def apply_shared(spec: Spec, args: argparse.Namespace, updating: bool = False) -> None:
    """--init, --read-only, --tty, --log-driver, --log-opt, --cap-add, --cap-drop."""
    task = spec.setdefault("TaskTemplate", {})
    container = task.setdefault("ContainerSpec", {})
    for flag, key in (("init", "Init"), ("read_only", "ReadOnly"), ("tty", "TTY")):
        if getattr(args, flag) is not None:
            container[key] = getattr(args, flag)
    if args.log_driver is not None or args.log_opt:
        driver = dict(task.get("LogDriver") or {})
        if args.log_driver is not None:
            driver["Name"] = args.log_driver
        if args.log_opt:
            driver["Options"] = {**(driver.get("Options") or {}),
                                 **sysctls(args.log_opt, "log-opt")}
        task["LogDriver"] = driver
    adds, drops = _caps(args.cap_add), _caps(args.cap_drop)
    if not adds and not drops:
        return
    if updating:  # Docker's updateCapabilities: an added one leaves the drops, and back
        old_add = [c for c in _caps(container.get("CapabilityAdd") or []) if c not in drops]
        old_drop = [c for c in _caps(container.get("CapabilityDrop") or []) if c not in adds]
        adds = sorted(set(old_add) | set(adds))
        drops = sorted(set(old_drop) | set(drops))
    _set(container, ("CapabilityAdd",), adds)
    _set(container, ("CapabilityDrop",), drops)


def _caps(values: list[str]) -> list[str]:
    """Docker's CLI takes comma-separated lists and normalises the names (CAP_ prefix)."""
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip().upper()
            if name:
                out.append(name if name == "ALL" or name.startswith("CAP_") else f"CAP_{name}")
    return sorted(set(out))
