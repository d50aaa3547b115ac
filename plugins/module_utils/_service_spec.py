# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""swarm_service's pure part: module parameters -> the options the user gave, a ServiceSpec
-> flattened facts (community.docker's ``swarm_service`` shape), their comparison, and the
merge of the given options onto the current spec.

The options a user gives are kept in facts form (``wanted``: flat name -> value, durations in
ns, memory in bytes, CPUs as a float); an option left unset is not in ``wanted`` at all, so
it is neither compared nor changed. ``None`` in ``wanted`` means "clear it".

Syntax only: the module's options in the API's shape. How values are written (durations,
sizes, CPUs, file modes, mounts, the health-check merge) is the spec core's syntax, vendored
as ``_spec_syntax``; the defaults and rules of a spec are the agent's, and the module asks it
for a plan (``?dry_run=1``) to learn what a change would store. An option set back to its
default ({} for a policy) is left out of the spec, so that the agent fills the default in.

Standard library only (it runs on the target's Python, and in plain pytest).
"""

from __future__ import annotations

import copy
import re
import shlex

from ansible_collections.swarmlet.swarm.plugins.module_utils import _spec_syntax as syntax
from ansible_collections.swarmlet.swarm.plugins.module_utils._paths import get_path, set_path

NANO = syntax.NANO

CS = ("TaskTemplate", "ContainerSpec")
PLACEMENT = ("TaskTemplate", "Placement")
RESOURCES = ("TaskTemplate", "Resources")
RESTART = ("TaskTemplate", "RestartPolicy")
NETWORKS = ("TaskTemplate", "Networks")
PORT_PROTOCOLS = ("tcp", "udp")
# Spec.Mode's key -> the module's mode.
MODES = {"Replicated": "replicated", "Global": "global", "ReplicatedJob": "replicated-job",
         "GlobalJob": "global-job"}
REPLICATED_MODES = ("replicated", "replicated-job")
JOB_MODES = ("replicated-job", "global-job")
PUBLISH_MODES = ("ingress", "host")

# Flat fact name -> where it lives in the ServiceSpec (simple values only).
PATHS = {
    "image": (*CS, "Image"),
    "command": (*CS, "Command"),
    "args": (*CS, "Args"),
    "env": (*CS, "Env"),
    "hostname": (*CS, "Hostname"),
    "user": (*CS, "User"),
    "working_dir": (*CS, "Dir"),
    "stop_signal": (*CS, "StopSignal"),
    "stop_grace_period": (*CS, "StopGracePeriod"),
    "container_labels": (*CS, "Labels"),
    "labels": ("Labels",),
    "constraints": (*PLACEMENT, "Constraints"),
    "replicas_max_per_node": (*PLACEMENT, "MaxReplicas"),
    "limit_memory": (*RESOURCES, "Limits", "MemoryBytes"),
    "reserve_memory": (*RESOURCES, "Reservations", "MemoryBytes"),
    "restart_policy": (*RESTART, "Condition"),
    "restart_policy_attempts": (*RESTART, "MaxAttempts"),
    "restart_policy_delay": (*RESTART, "Delay"),
    "restart_policy_window": (*RESTART, "Window"),
    "dns": (*CS, "DNSConfig", "Nameservers"),
    "dns_search": (*CS, "DNSConfig", "Search"),
    "dns_options": (*CS, "DNSConfig", "Options"),
    "groups": (*CS, "Groups"),
    "init": (*CS, "Init"),
    "read_only": (*CS, "ReadOnly"),
    "tty": (*CS, "TTY"),
    "sysctls": (*CS, "Sysctls"),
    "cap_add": (*CS, "CapabilityAdd"),
    "cap_drop": (*CS, "CapabilityDrop"),
    "log_driver": ("TaskTemplate", "LogDriver", "Name"),
    "log_driver_options": ("TaskTemplate", "LogDriver", "Options"),
}
# Booleans whose false is Docker's default (stored as absent); init's unset is dockerd's.
FALSE_IS_UNSET = ("read_only", "tty")
# Lists compared as sets (Docker's CLI sorts them); capabilities by Docker's normal name.
SET_LISTS = ("groups", "cap_add", "cap_drop")
CPU_PATHS = {"limit_cpu": (*RESOURCES, "Limits", "NanoCPUs"),
             "reserve_cpu": (*RESOURCES, "Reservations", "NanoCPUs")}
# update_config's sub-options are flat facts (community.docker's names); rollback_config is
# one dict fact.
POLICY_KEYS = (("parallelism", "Parallelism"), ("delay", "Delay"),
               ("failure_action", "FailureAction"), ("monitor", "Monitor"),
               ("max_failure_ratio", "MaxFailureRatio"), ("order", "Order"))
for _sub, _key in POLICY_KEYS:
    PATHS["update_" + _sub] = ("UpdateConfig", _key)
POLICY_SUBS = tuple(pair[0] for pair in POLICY_KEYS)
HEALTH_KEYS = (("test", "Test"), ("interval", "Interval"), ("timeout", "Timeout"),
               ("start_period", "StartPeriod"), ("retries", "Retries"))
# Values where 0 means "none" (no limit, no reservation, unlimited per node).
ZERO_IS_UNSET = ("replicas_max_per_node", "limit_cpu", "limit_memory", "reserve_cpu",
                 "reserve_memory")
# Dict facts of which only the sub-options given are compared and changed.
PARTIAL = ("healthcheck", "rollback_config")
# The order `changes` lists them in.
FACT_ORDER = (
    "image", "command", "args", "env", "mode", "replicas", "max_concurrent", "constraints",
    "placement_preferences", "replicas_max_per_node", "limit_cpu", "limit_memory",
    "reserve_cpu", "reserve_memory", "restart_policy", "restart_policy_attempts",
    "restart_policy_delay", "restart_policy_window", "healthcheck", "mounts", "secrets",
    "configs", "labels",
    "container_labels", "hostname", "user", "working_dir", "stop_grace_period", "stop_signal",
    "networks", "endpoint_mode", "publish", *("update_" + sub for sub in POLICY_SUBS),
    "rollback_config", "dns", "dns_search", "dns_options", "hosts", "groups", "init",
    "read_only", "tty", "sysctls", "cap_add", "cap_drop", "ulimits", "log_driver",
    "log_driver_options")


class SpecError(Exception):
    """A parameter the module cannot turn into a spec; the message names it."""


# --- units ------------------------------------------------------------------------------------

_OPERATOR = re.compile(r"\s*(==|!=)\s*")


def parse_duration(value, option):
    """Nanoseconds in a Go duration ("1m30s", ".5s", "500ms", "2h"), an integer of ns, or a
    string of digits (ns, as community.docker takes it)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = value.strip() if isinstance(value, str) else None
    if text and text.isdigit():
        return int(text)
    try:
        return syntax.parse_duration(text)
    except ValueError:
        raise SpecError(
            f'{option}: invalid duration "{value}": use a number with a unit (ns, us, ms, s, '
            "m, h) such as 500ms, 10s or 1m30s, or an integer number of nanoseconds") from None


def parse_memory(value, option):
    """Bytes in a size as Docker reads it ("64M", "1.5G", "512KiB": powers of 1024), or an
    integer of bytes."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return syntax.ram_in_bytes(value.strip())
    except ValueError:
        raise SpecError(
            f'{option}: invalid memory size "{value}": use a number with an optional unit '
            "B, K, M, G, T or P (powers of 1024), such as 64M or 1.5G") from None


def parse_cpus(value, option):
    """A CPU count (float) as stored: NanoCPUs / 1e9; None for 0 (no limit)."""
    if value is None:
        return None
    try:
        nanos = syntax.nano_cpus(value)
    except ValueError as exc:
        raise SpecError(f'{option}: invalid number of CPUs "{value}" ({exc})') from None
    if nanos < 0:
        raise SpecError(f"{option}: the number of CPUs cannot be negative, got {value}")
    return nanos / NANO if nanos else None


def parse_mode(value, option):
    """A file mode: an integer (YAML reads 01777 as octal), or an octal string "1777",
    "01777" or "0o1777"."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)
                         and 0 <= value <= 0o7777):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        mode = syntax.parse_file_mode(value)
        if mode > 0o7777:
            raise ValueError(value)
        return mode
    except ValueError:
        raise SpecError(f'{option}: invalid file mode "{value}": use an octal number such as '
                        "1777 or 0644") from None


def _non_negative(value, option):
    if value is not None and value < 0:
        raise SpecError(f"{option} cannot be negative, got {value}")
    return value


def _string_map(value, option):
    """A dict of strings: numbers are converted; booleans and nested values are refused
    (YAML turns yes/no/true into booleans: quote them)."""
    result = {}
    for key, item in (value or {}).items():
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise SpecError(f"{option}: the value of {key} must be a string, got {item!r} "
                            "(quote values YAML would read as booleans or numbers)")
        result[str(key)] = str(item)
    return result


# --- parameters -> wanted ---------------------------------------------------------------------

def parse_env(env):
    """KEY=VALUE strings from a dict, a list of KEY=VALUE, or a comma-separated string."""
    if isinstance(env, str):
        env = [item for item in env.split(",") if item]
    if isinstance(env, dict):
        return [f"{key}={value}" for key, value in _string_map(env, "env").items()]
    if not isinstance(env, list):
        raise SpecError(f"env must be a dict or a list of KEY=VALUE strings, got {env!r}")
    result = []
    for item in env:
        if not isinstance(item, str) or "=" not in item or item.startswith("="):
            raise SpecError(f"env: invalid item {item!r}: list items must be strings in the "
                            "format KEY=VALUE")
        result.append(item)
    return result


def parse_command(command):
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError as exc:
            raise SpecError(f"command: cannot split {command!r}: {exc}") from None
    if not isinstance(command, list):
        raise SpecError(f"command must be a string or a list of strings, got {command!r}")
    bad = [item for item in command if not isinstance(item, str)]
    if bad:
        raise SpecError("command: all items of a command list must be strings (check the "
                        f"quoting); invalid items: {bad!r}")
    return list(command)


def parse_healthcheck(health):
    """The sub-options given, in facts form; {} = clear the healthcheck override."""
    given = dict((k, v) for k, v in health.items() if v is not None)
    result = {}
    test = given.get("test")
    if test is not None:
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        if not isinstance(test, list) or not test or not all(isinstance(t, str) for t in test) \
                or test[0] not in ("NONE", "CMD", "CMD-SHELL"):
            raise SpecError("healthcheck.test must be a string (run by the shell) or a list "
                            f"of strings starting with NONE, CMD or CMD-SHELL, got {test!r}")
        if test == ["NONE"]:
            return {"test": ["NONE"]}
        result["test"] = test
    for key in ("interval", "timeout", "start_period"):
        if key in given:
            result[key] = parse_duration(given[key], "healthcheck." + key)
    if "retries" in given:
        result["retries"] = _non_negative(given["retries"], "healthcheck.retries")
    return result


def parse_mount(mount):
    """A mount as given, in facts form (the spec core's mount syntax and Docker's checks)."""
    kind = mount.get("type") or "bind"
    target = mount["target"]
    try:
        driver = mount.get("driver_config") or {}
        spec = syntax.mount_spec(
            kind, target, source=mount.get("source"), readonly=bool(mount.get("readonly")),
            tmpfs_size=parse_memory(mount.get("tmpfs_size"), "mounts.tmpfs_size"),
            tmpfs_mode=parse_mode(mount.get("tmpfs_mode"), "mounts.tmpfs_mode"),
            nocopy=mount.get("no_copy"), volume_labels=_strings(mount.get("labels")),
            driver=driver.get("name") if mount.get("driver_config") is not None else None,
            driver_opts=_strings(driver.get("options")),
            propagation=mount.get("propagation"))
    except ValueError as exc:
        raise SpecError(f"mounts: the {kind} mount at {target}: {exc}") from None
    return _mount_facts(spec)


def _strings(mapping):
    """A dict of YAML values as Docker's string map (None stays None)."""
    if mapping is None:
        return None
    return dict((str(k), str(v)) for k, v in mapping.items())


def parse_preference(pref):
    if not isinstance(pref, dict) or list(pref) != ["spread"] or not isinstance(
            pref["spread"], str):
        raise SpecError("placement.preferences: each item must be {spread: DESCRIPTOR} (for "
                        f"example node.labels.zone), got {pref!r}")
    return {"spread": pref["spread"]}


def parse_network(item):
    """A network as given: a name or ID, or {name, aliases, options}. Aliases and options
    left out (None) keep those the service has on that network (none on a new one)."""
    if isinstance(item, str):
        if not item.strip():
            raise SpecError("networks: a network name or ID cannot be empty")
        return {"name": item, "aliases": None, "options": None}
    if not isinstance(item, dict):
        raise SpecError("networks: only a list of strings (network names or IDs) or of "
                        f"dictionaries (name, aliases, options) is allowed, got {item!r}")
    unknown = sorted(str(key) for key in item if key not in ("name", "aliases", "options"))
    if unknown:
        raise SpecError(f"networks: unsupported key {', '.join(unknown)} in {item!r} (use "
                        "name, aliases and options)")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError('networks: "name" (a network name or ID) is required when networks '
                        f"are passed as dictionaries, got {item!r}")
    aliases = item.get("aliases")
    if aliases is not None:
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise SpecError(f"networks: the aliases of network {name} must be a list of "
                            f"strings, got {aliases!r}")
        aliases = list(dict.fromkeys(aliases))
    options = item.get("options")
    if options is not None:
        if not isinstance(options, dict):
            raise SpecError(f"networks: the options of network {name} must be a dict, got "
                            f"{options!r}")
        options = _string_map(options, f"networks: the options of network {name}")
    return {"name": name, "aliases": aliases, "options": options}


def _port_number(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SpecError(f"publish: {what} must be a port number between 1 and 65535, got "
                        f"{value!r}")
    return value


def parse_port(port):
    """A published port as given; published_port None: the swarm picks one (an ingress port
    gets one from 30000-32767), or, on an update, the service keeps the one it has."""
    if not isinstance(port, dict):
        raise SpecError(f"publish: each item must be a dict (target_port, published_port, "
                        f"protocol, mode), got {port!r}")
    target = port.get("target_port")
    if target is None:
        raise SpecError(f"publish: target_port is required, got {port!r}")
    _port_number(target, "target_port")
    published = port.get("published_port")
    if published is not None:
        _port_number(published, f"published_port (of target_port {target})")
    protocol = port.get("protocol") or "tcp"
    if protocol not in PORT_PROTOCOLS:
        raise SpecError(f"publish: protocol must be one of {', '.join(PORT_PROTOCOLS)}, got "
                        f"{protocol!r} (target_port {target})")
    mode = port.get("mode") or "ingress"
    if mode not in PUBLISH_MODES:
        raise SpecError(f"publish: mode must be one of {', '.join(PUBLISH_MODES)}, got "
                        f"{mode!r} (target_port {target})")
    return {"published_port": published, "target_port": target, "protocol": protocol,
            "mode": mode}


def parse_publish(ports):
    ports = [parse_port(p) for p in ports]
    seen = set()
    for port in ports:
        key = (port["published_port"], port["protocol"])
        if port["published_port"] is not None and key in seen:
            raise SpecError(f"publish: published port {key[0]}/{key[1]} is listed twice")
        seen.add(key)
    return ports


# Secrets and configs: ContainerSpec.Secrets / .Configs, each {File: {Name, UID, GID, Mode},
# SecretID, SecretName} (ConfigID, ConfigName). A secret's relative file name is under
# /run/secrets/; a config's is from / (the agent's worker, Docker's CLI).
REF_KINDS = ("secret", "config")
SECRETS_DIR = "/run/secrets"
DEFAULT_REF_MODE = 0o444


def parse_reference(kind, item):
    """A secret (config) as given: {secret_name and/or secret_id, filename, uid, gid, mode};
    the ID and the name are completed by ``resolve_references``."""
    option = kind + "s"
    if not isinstance(item, dict):
        raise SpecError(f"{option}: each item must be a dict ({kind}_name or {kind}_id, "
                        f"filename, uid, gid, mode), got {item!r}")
    name, ref_id = item.get(kind + "_name"), item.get(kind + "_id")
    if not name and not ref_id:
        given = dict((k, v) for k, v in item.items() if v is not None)
        raise SpecError(f"{option}: {kind}_name or {kind}_id is required, got {given!r}")
    mode = item.get("mode")
    label = name or ref_id
    if mode is None:
        mode = DEFAULT_REF_MODE
    elif isinstance(mode, bool) or not (
            (isinstance(mode, int) and 0 <= mode <= 0o777) or isinstance(mode, str)):
        raise SpecError(f'{option}: invalid file mode "{mode}" for {kind} {label}: use an '
                        "octal number between 0000 and 0777, such as 0400")
    if isinstance(mode, str):
        text = mode.strip().lower()
        text = text[2:] if text.startswith("0o") else text
        if not text or any(c not in "01234567" for c in text) or int(text, 8) > 0o777:
            raise SpecError(f'{option}: invalid file mode "{mode}" for {kind} {label}: use '
                            "an octal number between 0000 and 0777, such as 0400")
        mode = int(text, 8)
    filename = item.get("filename")
    if filename is not None and not str(filename).strip():
        raise SpecError(f"{option}: the filename of {kind} {label} cannot be empty")
    return {"id": ref_id or None, "name": name or None,
            "filename": str(filename) if filename is not None else None,
            "uid": str(item.get("uid") if item.get("uid") is not None else "0"),
            "gid": str(item.get("gid") if item.get("gid") is not None else "0"),
            "mode": mode}


def reference_path(kind, filename):
    """Where the file is in the container."""
    if filename.startswith("/"):
        return filename
    return f"{SECRETS_DIR}/{filename}" if kind == "secret" else "/" + filename


def resolve_references(wanted, lookup):
    """``wanted`` with the ID and name of each secret and config given (``lookup``: (kind,
    name, id) -> (id, name), raising SpecError when there is none), the file name defaulted
    to the name; a target given twice is an error."""
    for kind in REF_KINDS:
        option = kind + "s"
        if not wanted.get(option):
            continue
        resolved, targets = [], {}
        for ref in wanted[option]:
            ref_id, name = lookup(kind, ref["name"], ref["id"])
            filename = ref["filename"] or name
            if kind == "config" and not filename.startswith("/"):
                filename = "/" + filename
            path = reference_path(kind, filename)
            if path in targets:
                raise SpecError(f"{option}: {targets[path]} and {name} have the same target "
                                f"{path}: give each its own filename")
            targets[path] = name
            resolved.append(dict(ref, id=ref_id, name=name, filename=filename))
        wanted = dict(wanted, **{option: resolved})
    return wanted


def resolve_networks(wanted, resolve):
    """``wanted`` with the ID of each network given (``resolve``: name or ID -> network ID;
    the caller asks the agent, and raises SpecError naming what is wrong). A network given
    twice (by name and by ID, say) is an error."""
    if not wanted.get("networks"):
        return wanted
    resolved, seen = [], {}
    for network in wanted["networks"]:
        network_id = resolve(network["name"])
        if network_id in seen:
            raise SpecError(f"networks: {seen[network_id]} and {network['name']} are the same "
                            f"network ({network_id}); list it once")
        seen[network_id] = network["name"]
        resolved.append(dict(network, id=network_id))
    return dict(wanted, networks=resolved)


def _group_given(group):
    """None: the option was not given; {}: given with no sub-option set (= clear it)."""
    if group is None:
        return None
    return dict((k, v) for k, v in group.items() if v is not None)


def wanted_options(params):
    """The options the user gave, in facts form. SpecError names a bad value."""
    p = params
    wanted = {}
    for name in ("image", "hostname", "user", "working_dir", "stop_signal"):
        if p.get(name) is not None:
            wanted[name] = p[name] or None
    if p.get("command") is not None:
        wanted["command"] = parse_command(p["command"]) or None
    if p.get("args") is not None:
        wanted["args"] = [str(a) for a in p["args"]] or None
    if p.get("env") is not None:
        wanted["env"] = parse_env(p["env"]) or None
    for name in ("labels", "container_labels"):
        if p.get(name) is not None:
            wanted[name] = _string_map(p[name], name) or None
    if p.get("stop_grace_period") is not None:
        wanted["stop_grace_period"] = parse_duration(p["stop_grace_period"],
                                                     "stop_grace_period")
    if p.get("mode") is not None:
        wanted["mode"] = p["mode"]
    replicas = p.get("replicas")
    if replicas is not None and replicas != -1:
        if replicas < -1:
            raise SpecError(f"replicas must be a non-negative number (or -1 to keep the "
                            f"current count), got {replicas}")
        wanted["replicas"] = replicas
    if p.get("max_concurrent") is not None:
        wanted["max_concurrent"] = _non_negative(p["max_concurrent"], "max_concurrent")
    if p.get("mounts") is not None:
        mounts = [parse_mount(m) for m in p["mounts"]]
        targets = [m["target"] for m in mounts]
        dupes = sorted(set(t for t in targets if targets.count(t) > 1))
        if dupes:
            raise SpecError(f"mounts: duplicate mount target {', '.join(dupes)}")
        wanted["mounts"] = mounts or None
    if p.get("healthcheck") is not None:
        wanted["healthcheck"] = parse_healthcheck(p["healthcheck"])
    _placement(_group_given(p.get("placement")), wanted)
    for group, prefix in (("limits", "limit"), ("reservations", "reserve")):
        given = _group_given(p.get(group))
        if given is None:
            continue
        if not given or "cpus" in given:
            wanted[prefix + "_cpu"] = parse_cpus(given.get("cpus"), group + ".cpus")
        if not given or "memory" in given:
            wanted[prefix + "_memory"] = parse_memory(given.get("memory"),
                                                      group + ".memory") or None
    _restart(_group_given(p.get("restart_config")), wanted)
    update = _policy(_group_given(p.get("update_config")), "update_config")
    for key, value in (update or {}).items():
        wanted["update_" + key] = value
    rollback = _policy(_group_given(p.get("rollback_config")), "rollback_config")
    if rollback is not None:
        wanted["rollback_config"] = rollback
    if p.get("networks") is not None:
        wanted["networks"] = [parse_network(n) for n in p["networks"]] or None
    if p.get("publish") is not None:
        wanted["publish"] = parse_publish(p["publish"]) or None
    if p.get("endpoint_mode") is not None:
        wanted["endpoint_mode"] = p["endpoint_mode"]
    for kind in REF_KINDS:
        if p.get(kind + "s") is not None:
            wanted[kind + "s"] = [parse_reference(kind, r) for r in p[kind + "s"]] or None
    container_options(p, wanted)
    check_with_current(wanted, None)
    return wanted


def container_options(p, wanted):
    """The container's process and sandbox options (community.docker's names), and the
    env files (read on the target; O(env) wins over them, as there)."""
    for name in ("dns", "dns_search", "dns_options", "groups", "cap_add", "cap_drop"):
        if p.get(name) is not None:
            wanted[name] = [str(v) for v in p[name]] or None
    for name in ("init", "read_only", "tty"):
        if p.get(name) is not None:
            wanted[name] = p[name]
    if p.get("sysctls") is not None:
        wanted["sysctls"] = _string_map(p["sysctls"], "sysctls") or None
    if p.get("hosts") is not None:
        wanted["hosts"] = _string_map(p["hosts"], "hosts") or None
    if p.get("ulimits") is not None:
        wanted["ulimits"] = [parse_ulimit(u) for u in p["ulimits"]] or None
    logging = _group_given(p.get("logging"))
    if logging is not None:
        if not logging or "driver" in logging:
            wanted["log_driver"] = logging.get("driver") or None
        if not logging or "options" in logging:
            wanted["log_driver_options"] = _string_map(logging.get("options"),
                                                       "logging.options") or None
    if p.get("env_files"):
        env = []
        for path in p["env_files"]:
            env += read_env_file(path)
        if p.get("env") is not None:
            env += wanted.get("env") or []
        merged = {}
        for item in env:
            merged[syntax.env_name(item)] = item
        wanted["env"] = list(merged.values()) or None
    if p.get("resolve_image"):
        raise SpecError("resolve_image: swarmlet does not resolve image digests from a "
                        "registry; pin the digest in image (name@sha256:...) instead")


def parse_ulimit(item):
    """A ulimit as {name, soft, hard} (hard defaults to soft), or Docker's `name=soft:hard`."""
    if isinstance(item, str):
        try:
            item = syntax.parse_ulimit(item)
        except ValueError as exc:
            raise SpecError(f"ulimits: {exc}") from None
        return {"name": item["Name"], "soft": item["Soft"], "hard": item["Hard"]}
    if not isinstance(item, dict) or not item.get("name") or item.get("soft") is None:
        raise SpecError(f"ulimits: each item needs name and soft (and hard), got {item!r}")
    try:
        soft = int(item["soft"])
        hard = soft if item.get("hard") is None else int(item["hard"])
    except (TypeError, ValueError):
        raise SpecError(f"ulimits: soft and hard of {item['name']} must be integers") from None
    return {"name": str(item["name"]), "soft": soft, "hard": hard}


def read_env_file(path):
    """An env file on the target, in Docker's format (the spec core's syntax)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise SpecError(f"env_files: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return syntax.parse_env_file(raw, path)
    except ValueError as exc:
        raise SpecError(f"env_files: {exc}") from None


def check_with_current(wanted, facts):
    """What is only wrong given the current service (its facts; {} for a service to be
    created, None when that is not known yet: then only the combination of the options
    given is checked)."""
    mode = wanted.get("mode") or (None if facts is None else facts.get("mode") or "replicated")
    if "replicas" in wanted and mode not in (None, *REPLICATED_MODES):
        raise SpecError(f"replicas can only be used with mode replicated or replicated-job "
                        f"(the service is {mode}; set mode to rebuild it)")
    if "max_concurrent" in wanted and mode not in (None, "replicated-job"):
        raise SpecError(f"max_concurrent can only be used with mode replicated-job (the "
                        f"service is {mode})")
    if "endpoint_mode" in wanted or "publish" in wanted:
        endpoint_mode = wanted.get("endpoint_mode") or (facts or {}).get("endpoint_mode")
        ports = wanted["publish"] if "publish" in wanted else (facts or {}).get("publish")
        if endpoint_mode == "dnsrr" and any(p["mode"] == "ingress" for p in ports or []):
            raise SpecError("endpoint_mode dnsrr cannot be used with ports published in "
                            "ingress mode (a dnsrr service has no virtual IP for the routing "
                            "mesh): publish them with mode host, or use endpoint_mode vip")


def _placement(given, wanted):
    if given is None:
        return
    if not given or "constraints" in given:
        wanted["constraints"] = [str(c) for c in given.get("constraints") or []] or None
    if not given or "preferences" in given:
        wanted["placement_preferences"] = [
            parse_preference(pref) for pref in given.get("preferences") or []] or None
    if not given or "replicas_max_per_node" in given:
        wanted["replicas_max_per_node"] = _non_negative(
            given.get("replicas_max_per_node"), "placement.replicas_max_per_node") or None


def _restart(given, wanted):
    if given is None:
        return
    if not given:  # {}: back to the agent's defaults (left out of the spec)
        given = dict.fromkeys(("condition", "max_attempts", "delay", "window"))
    if "condition" in given:
        wanted["restart_policy"] = given["condition"]
    if "max_attempts" in given:
        wanted["restart_policy_attempts"] = _non_negative(given["max_attempts"],
                                                          "restart_config.max_attempts")
    for key, fact in (("delay", "restart_policy_delay"), ("window", "restart_policy_window")):
        if key in given:
            wanted[fact] = parse_duration(given[key], "restart_config." + key)


def _policy(given, option):
    if given is None:
        return None
    if not given:  # {}: back to the agent's defaults (left out of the spec)
        return dict.fromkeys(POLICY_SUBS)
    result = {}
    for sub in POLICY_SUBS:
        if sub not in given:
            continue
        value = given[sub]
        if sub in ("delay", "monitor"):
            value = parse_duration(value, f"{option}.{sub}")
        elif sub == "parallelism":
            value = _non_negative(value, f"{option}.parallelism")
        elif sub == "max_failure_ratio" and not 0 <= value <= 1:
            raise SpecError(f"{option}.max_failure_ratio must be between 0 and 1, got {value}")
        result[sub] = value
    return result


# --- spec -> facts ----------------------------------------------------------------------------


def _policy_facts(policy):
    if not policy:
        return None
    return dict((sub, policy.get(key)) for sub, key in POLICY_KEYS)


def _mount_facts(mount):
    tmpfs = mount.get("TmpfsOptions") or {}
    volume = mount.get("VolumeOptions") or {}
    driver = volume.get("DriverConfig")
    return {"source": mount.get("Source") or None, "target": mount.get("Target"),
            "type": mount.get("Type") or "volume", "readonly": bool(mount.get("ReadOnly")),
            "tmpfs_size": tmpfs.get("SizeBytes"), "tmpfs_mode": tmpfs.get("Mode"),
            "propagation": (mount.get("BindOptions") or {}).get("Propagation"),
            "no_copy": bool(volume.get("NoCopy")), "labels": dict(volume.get("Labels") or {})
            or None, "driver_config": None if driver is None else {
                "name": driver.get("Name") or None,
                "options": dict(driver.get("Options") or {}) or None}}


def _network_facts(networks, names=None):
    return [{"id": n.get("Target"), "name": (names or {}).get(n.get("Target")),
             "aliases": list(n.get("Aliases") or []), "options": dict(n.get("DriverOpts") or {})}
            for n in networks or []] or None


def _port_facts(ports):
    return [{"published_port": p.get("PublishedPort") or None,
             "target_port": p.get("TargetPort"), "protocol": p.get("Protocol") or "tcp",
             "mode": p.get("PublishMode") or "ingress"} for p in ports or []] or None


def _assigned_ports(publish, endpoint_spec, endpoint):
    """The published ports with the numbers the swarm picked for those given none, from the
    service's Endpoint, when it was allocated for this very EndpointSpec (its ports are in
    the spec's order)."""
    if not publish or not endpoint or endpoint.get("Spec") != endpoint_spec:
        return publish
    assigned = endpoint.get("Ports") or []
    if len(assigned) != len(publish):
        return publish
    result = []
    for index, port in enumerate(publish):
        given = assigned[index]
        if port["published_port"] is None and given.get("PublishedPort") and \
                given.get("TargetPort") == port["target_port"] and \
                (given.get("Protocol") or "tcp") == port["protocol"]:
            port = dict(port, published_port=given["PublishedPort"])
        result.append(port)
    return result


def _reference_facts(kind, refs):
    key = kind.capitalize()
    return [{kind + "_id": r.get(key + "ID"), kind + "_name": r.get(key + "Name"),
             "filename": (r.get("File") or {}).get("Name"),
             "uid": (r.get("File") or {}).get("UID") or "0",
             "gid": (r.get("File") or {}).get("GID") or "0",
             "mode": (r.get("File") or {}).get("Mode", DEFAULT_REF_MODE)}
            for r in refs or []] or None


def service_facts(spec, endpoint=None, network_names=None):
    """community.docker's flattened ``swarm_service`` facts of a ServiceSpec (the options this
    module manages). ``endpoint``: the service's Endpoint, for the published ports the swarm
    picked; ``network_names``: {network ID: name}, to name the networks."""
    facts = dict((name, get_path(spec, path)) for name, path in PATHS.items())
    for name, path in CPU_PATHS.items():
        nanos = get_path(spec, path)
        facts[name] = nanos / NANO if nanos else None
    for name in ZERO_IS_UNSET:
        facts[name] = facts[name] or None
    mode = spec.get("Mode") or {}
    facts["mode"] = next((name for key, name in MODES.items() if key in mode), "replicated")
    job = mode.get("ReplicatedJob")
    facts["replicas"] = None if facts["mode"] not in REPLICATED_MODES else \
        (job or {}).get("TotalCompletions", 1) if job is not None else \
        (mode.get("Replicated") or {}).get("Replicas", 1)
    facts["max_concurrent"] = None if job is None else job.get("MaxConcurrent", 1)
    prefs = get_path(spec, (*PLACEMENT, "Preferences")) or []
    facts["placement_preferences"] = [
        {"spread": get_path(p, ("Spread", "SpreadDescriptor"))} for p in prefs] or None
    mounts = get_path(spec, (*CS, "Mounts")) or []
    facts["mounts"] = [_mount_facts(m) for m in mounts] or None
    for kind in REF_KINDS:
        facts[kind + "s"] = _reference_facts(kind, get_path(spec, (*CS, kind.capitalize() + "s")))
    health = get_path(spec, (*CS, "Healthcheck"))
    facts["healthcheck"] = dict((sub, health[key]) for sub, key in HEALTH_KEYS
                                if health.get(key) is not None) if health else None
    facts["healthcheck_disabled"] = bool(health and health.get("Test") == ["NONE"])
    facts["rollback_config"] = _policy_facts(spec.get("RollbackConfig"))
    facts["force_update"] = get_path(spec, ("TaskTemplate", "ForceUpdate")) or 0
    facts["networks"] = _network_facts(get_path(spec, NETWORKS), network_names)
    endpoint_spec = spec.get("EndpointSpec") or {}
    facts["endpoint_mode"] = endpoint_spec.get("Mode") or "vip"
    facts["publish"] = _assigned_ports(_port_facts(endpoint_spec.get("Ports")),
                                       spec.get("EndpointSpec"), endpoint)
    hosts = get_path(spec, (*CS, "Hosts")) or []
    facts["hosts"] = dict((name, entry.split()[0]) for entry in hosts
                          for name in entry.split()[1:]) or None
    facts["ulimits"] = [{"name": u.get("Name"), "soft": u.get("Soft"), "hard": u.get("Hard")}
                        for u in get_path(spec, (*CS, "Ulimits")) or []] or None
    for name in FALSE_IS_UNSET:
        facts[name] = facts[name] or None
    return dict(sorted(facts.items()))


# --- comparison -------------------------------------------------------------------------------

def _normal(name, value):
    if value in (None, "", [], {}):
        return None
    if name in ZERO_IS_UNSET and value == 0:
        return None
    if name == "env":
        return dict(item.partition("=")[::2] for item in value)
    if name == "constraints":
        return sorted(_OPERATOR.sub(r"\1", c.strip()) for c in value)
    if name == "mounts":
        return sorted(value, key=lambda m: m["target"])
    if name in FALSE_IS_UNSET:
        return value or None
    if name in SET_LISTS:
        return sorted(set(capability(v) if name.startswith("cap_") else v for v in value))
    if name == "ulimits":
        return sorted(value, key=lambda u: u["name"])
    return value


def capability(name):
    """Docker's normal name of a capability (CAP_ prefix, upper case; ALL stays)."""
    upper = name.strip().upper()
    return upper if upper == "ALL" or upper.startswith("CAP_") else "CAP_" + upper


def _networks_same(wanted, current):
    """By network ID, in any order; aliases (in any order) and options only where given."""
    have = dict((n["id"], n) for n in current or [])
    if sorted(n["id"] for n in wanted or []) != sorted(have):
        return False
    for network in wanted or []:
        now = have[network["id"]]
        if network["aliases"] is not None and sorted(network["aliases"]) != sorted(
                now.get("aliases") or []):
            return False
        if network["options"] is not None and network["options"] != (now.get("options") or {}):
            return False
    return True


def _port_class(port):
    return (port["target_port"], port["protocol"], port["mode"])


def _match_ports(wanted, current):
    """Pairs (wanted port, current port or None): ports given with a number match that
    number; ports given without one match any current port of the same target port,
    protocol and mode (the number the swarm picked, or the one the service has)."""
    left = list(current or [])
    pairs = []
    given = [p for p in wanted or [] if p["published_port"] is not None]
    unnumbered = [p for p in wanted or [] if p["published_port"] is None]
    for port in given + unnumbered:
        match = next((c for c in left if _port_class(c) == _port_class(port) and (
            port["published_port"] is None or c["published_port"] == port["published_port"])),
            None)
        if match is not None:
            left.remove(match)
        pairs.append((port, match))
    return pairs, left


def _ports_same(wanted, current):
    pairs, left = _match_ports(wanted, current)
    return not left and all(match is not None for _port, match in pairs)


def _references_key(kind, refs, given):
    """Comparable form: (path in the container, ID, uid, gid, mode), sorted."""
    if given:
        return sorted((reference_path(kind, r["filename"]), r["id"], r["uid"], r["gid"],
                       r["mode"]) for r in refs or [])
    return sorted((reference_path(kind, r["filename"]), r[kind + "_id"], r["uid"], r["gid"],
                   r["mode"]) for r in refs or [])


def same(name, wanted, current):
    """Whether a given option already has the wanted value."""
    if name in ("secrets", "configs"):
        kind = name[:-1]
        return _references_key(kind, wanted, True) == _references_key(kind, current, False)
    if name == "networks":
        return _networks_same(wanted, current)
    if name == "publish":
        return _ports_same(wanted, current)
    if name == "healthcheck":
        if not wanted:
            return not current
        current = current or {}
        return all(current.get(k) == v if k == "test" else (current.get(k) or 0) == (v or 0)
                   for k, v in wanted.items())
    if name == "rollback_config":
        if not wanted:  # {}: the agent's defaults, which only its plan can compare
            return not current
        current = current or {}
        return all(current.get(k) == v for k, v in wanted.items())
    return _normal(name, wanted) == _normal(name, current)


def changed_facts(before, after):
    """The names of the facts that differ between two specs' facts (the current spec and the
    agent's plan of the change), in FACT_ORDER."""
    return [name for name in (*FACT_ORDER, "force_update")
            if before.get(name) != after.get(name)]


def planned_tasks(plan):
    """How many tasks the agent's plan of a change places, or cannot place yet."""
    placement = plan.get("Placement") or {}
    return sum((placement.get("Nodes") or {}).values()) + sum(
        item.get("Tasks") or 0 for item in placement.get("Unplaced") or [])


def differences(wanted, facts):
    """The names of the given options whose value differs, in FACT_ORDER."""
    return [name for name in FACT_ORDER if name in wanted
            and not same(name, wanted[name], facts.get(name))]


# --- wanted -> spec ---------------------------------------------------------------------------

def _mount_spec(mount):
    spec = {"Type": mount["type"], "Target": mount["target"]}
    if mount.get("source"):
        spec["Source"] = mount["source"]
    if mount.get("readonly"):
        spec["ReadOnly"] = True
    tmpfs = {}
    if mount.get("tmpfs_size"):
        tmpfs["SizeBytes"] = mount["tmpfs_size"]
    if mount.get("tmpfs_mode") is not None:
        tmpfs["Mode"] = mount["tmpfs_mode"]
    if tmpfs:
        spec["TmpfsOptions"] = tmpfs
    volume = {}
    if mount.get("no_copy"):
        volume["NoCopy"] = True
    if mount.get("labels"):
        volume["Labels"] = dict(mount["labels"])
    driver = mount.get("driver_config")
    if driver is not None:
        volume["DriverConfig"] = dict(
            ([("Name", driver["name"])] if driver.get("name") else [])
            + ([("Options", dict(driver["options"]))] if driver.get("options") else []))
    if volume:
        spec["VolumeOptions"] = volume
    if mount.get("propagation"):
        spec["BindOptions"] = {"Propagation": mount["propagation"]}
    return spec


def _merge_health(current, wanted):
    """The healthcheck sub-options given over the current ones (the spec core's merge, as
    Docker's updateHealthcheck); {} clears it."""
    if not wanted:
        return None
    given = dict((key, wanted[sub]) for sub, key in HEALTH_KEYS if sub in wanted)
    return syntax.merge_healthcheck(current, given)


def _merge_networks(current, wanted):
    """TaskTemplate.Networks: the networks given (by ID, in the order given, as `service
    create` sends them); aliases and options not given are kept from the current
    attachment."""
    have = dict((n.get("Target"), n) for n in current or [])
    networks = []
    for network in wanted or []:
        old = have.get(network["id"]) or {}
        aliases = network["aliases"] if network["aliases"] is not None else \
            old.get("Aliases") or []
        entry = {"Target": network["id"], "Aliases": list(aliases)}
        options = network["options"] if network["options"] is not None else \
            old.get("DriverOpts")
        if options:
            entry["DriverOpts"] = dict(options)
        networks.append(entry)
    return networks or None


def _port_spec(port, number):
    spec = {"Protocol": port["protocol"], "TargetPort": port["target_port"],
            "PublishMode": port["mode"]}
    if number:
        spec["PublishedPort"] = number
    return spec


def _merge_ports(current, wanted):
    """EndpointSpec.Ports: the ports given, in their order; a port given without a number
    keeps the number the service has for it (none: the swarm picks one)."""
    pairs, _left = _match_ports(wanted, _port_facts(current))
    numbers = dict((id(port), port["published_port"] or (match or {}).get("published_port"))
                   for port, match in pairs)
    return [_port_spec(port, numbers[id(port)]) for port in wanted or []] or None


def merged_spec(spec, wanted, force_update=False):
    """A copy of ``spec`` with the given options set; everything else kept as it is, and so
    are the options given with the value they have (another order, another spelling)."""
    spec = copy.deepcopy(spec)
    before = service_facts(spec)
    wanted = dict((name, value) for name, value in wanted.items()
                  if name not in before or not same(name, value, before[name]))
    for name, value in wanted.items():
        if name in PATHS:
            set_path(spec, PATHS[name], value)
        elif name in CPU_PATHS:
            set_path(spec, CPU_PATHS[name], round(value * NANO) if value else None)
    if "mode" in wanted or "replicas" in wanted or "max_concurrent" in wanted:
        spec["Mode"] = _mode_spec(spec.get("Mode") or {}, wanted.get("mode") or before["mode"],
                                  wanted)
    if "placement_preferences" in wanted:
        prefs = [{"Spread": {"SpreadDescriptor": p["spread"]}}
                 for p in wanted["placement_preferences"] or []]
        set_path(spec, (*PLACEMENT, "Preferences"), prefs or None)
    if "mounts" in wanted:
        mounts = [_mount_spec(m) for m in wanted["mounts"] or []]
        set_path(spec, (*CS, "Mounts"), mounts or None)
    if "healthcheck" in wanted:
        health = _merge_health(get_path(spec, (*CS, "Healthcheck")), wanted["healthcheck"])
        set_path(spec, (*CS, "Healthcheck"), health)
    if "rollback_config" in wanted:
        policy = dict(spec.get("RollbackConfig") or {})
        for sub, key in POLICY_KEYS:
            if sub in wanted["rollback_config"]:
                set_path(policy, (key,), wanted["rollback_config"][sub])
        if wanted["rollback_config"] and policy:
            spec["RollbackConfig"] = policy
        else:  # {}: the agent's defaults
            spec.pop("RollbackConfig", None)
    # Networks and ports left alone when they are the same (another order, a port given
    # without its number): rewriting them would roll the tasks out again for nothing.
    current = service_facts(spec)
    if "networks" in wanted and not same("networks", wanted["networks"], current["networks"]):
        set_path(spec, NETWORKS, _merge_networks(get_path(spec, NETWORKS), wanted["networks"]))
    if "endpoint_mode" in wanted and wanted["endpoint_mode"] != current["endpoint_mode"]:
        endpoint = spec.get("EndpointSpec") or {}
        spec["EndpointSpec"] = dict(endpoint, Mode=wanted["endpoint_mode"])
    if "publish" in wanted and not same("publish", wanted["publish"], current["publish"]):
        endpoint = dict(spec.get("EndpointSpec") or {})
        ports = _merge_ports(endpoint.get("Ports"), wanted["publish"])
        if ports:
            endpoint["Ports"] = ports
        else:
            endpoint.pop("Ports", None)
        spec["EndpointSpec"] = endpoint
    for kind in REF_KINDS:
        name = kind + "s"
        if name in wanted and not same(name, wanted[name], current[name]):
            key = kind.capitalize()
            refs = [{"File": {"Name": r["filename"], "UID": r["uid"], "GID": r["gid"],
                              "Mode": r["mode"]}, key + "ID": r["id"], key + "Name": r["name"]}
                    for r in wanted[name] or []]
            set_path(spec, (*CS, key + "s"), refs or None)
    if "hosts" in wanted:
        set_path(spec, (*CS, "Hosts"), [f"{ip} {name}" for name, ip in
                                        (wanted["hosts"] or {}).items()] or None)
    if "ulimits" in wanted:
        set_path(spec, (*CS, "Ulimits"), [{"Name": u["name"], "Soft": u["soft"],
                                           "Hard": u["hard"]}
                                          for u in wanted["ulimits"] or []] or None)
    for name in FALSE_IS_UNSET:
        if name in wanted and not wanted[name]:
            set_path(spec, PATHS[name], None)
    for path in ((*CS, "DNSConfig"), ("TaskTemplate", "LogDriver")):
        if get_path(spec, path) == {}:  # its last field cleared
            set_path(spec, path, None)
    if force_update:
        task = spec.setdefault("TaskTemplate", {})
        task["ForceUpdate"] = int(task.get("ForceUpdate") or 0) + 1
    return spec


def _mode_spec(current, mode, wanted):
    """Spec.Mode for ``mode`` with the replicas (a job's completions) and max_concurrent
    given; what is not given is kept (none: the agent's default). A new replicated job
    runs as many tasks at once as it wants completions unless max_concurrent says
    otherwise, as Docker's CLI makes it."""
    key = dict((name, key) for key, name in MODES.items())[mode]
    fields = dict(current.get(key) or {})
    if mode == "replicated" and wanted.get("replicas") is not None:
        fields["Replicas"] = wanted["replicas"]
    if mode == "replicated-job":
        if wanted.get("replicas") is not None:
            fields["TotalCompletions"] = wanted["replicas"]
        if wanted.get("max_concurrent") is not None:
            fields["MaxConcurrent"] = wanted["max_concurrent"]
        elif key not in current and wanted.get("replicas") is not None:
            fields["MaxConcurrent"] = wanted["replicas"]
    return {key: fields}


def new_spec(name, wanted):
    """The spec of a new service: the given options; the agent fills in the rest."""
    return merged_spec({"Name": name, "TaskTemplate": {"ContainerSpec": {}}}, wanted)


def rebuilt_spec(spec, wanted):
    """The spec of a service removed and created again in another mode: the current spec with
    the given options (the agent's default replica count unless given, when it becomes
    replicated)."""
    mode = wanted.get("mode") or "replicated"
    dropped = ("Mode", "UpdateConfig", "RollbackConfig") if mode in JOB_MODES else ("Mode",)
    spec = dict((k, v) for k, v in spec.items() if k not in dropped)  # (a job has no policy)
    return merged_spec(spec, dict(wanted, mode=mode))
