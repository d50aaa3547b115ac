"""A compose service as a Docker ServiceSpec, as Docker's convert.Service makes it
(cli/compose/convert/service.go): named STACK_name, labelled with the stack and the image,
on its networks (the stack's `default` one when it names none) with the service's name as
an alias, its secrets and configs by name (the manager resolves them to IDs), its deploy
settings as the spec's mode, resources, policies and placement.

Only keys with a value are written: the spec core (spec/service.py) fills in Docker's
defaults, so a file redeployed unchanged makes the same spec."""

from __future__ import annotations

import ipaddress
from typing import Any

from swarmlet.spec.compose.mounts import mount
from swarmlet.spec.compose.names import (
    DEFAULT_NETWORK,
    LABEL_IMAGE,
    scope,
    with_stack_label,
)
from swarmlet.spec.syntax import SyntaxValueError, nano_cpus, parse_duration, ram_in_bytes

Obj = dict[str, Any]
BUILTIN_NETWORKS = ("host", "bridge", "none", "default")


class ConvertError(ValueError):
    """A value Docker's convert refuses; `key` is the service key it is under."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _compact(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if v not in (None, "", [], {}, 0, False)}


def _duration(value: str | None) -> int | None:
    return None if value is None else parse_duration(value)


def service_spec(stack: str, name: str, service: Obj, project: Obj) -> Obj:
    """The ServiceSpec of `service`; ConvertError names the key Docker refuses."""
    deploy = service.get("deploy") or {}
    image = service.get("image") or ""
    container = _compact({
        "Image": image,
        "Command": service.get("entrypoint"),
        "Args": service.get("command"),
        "Hostname": service.get("hostname"),
        "Hosts": [f"{ip} {host}" for host, _, ip in
                  (h.partition(":") for h in service.get("extra_hosts") or [])],
        "DNSConfig": _dns(service),
        "Healthcheck": _key("healthcheck", _healthcheck, service.get("healthcheck")),
        "Env": _environment(service.get("environment") or {}),
        "Labels": with_stack_label(stack, service.get("labels")),
        "Dir": service.get("working_dir"),
        "User": service.get("user"),
        "Mounts": [_key(f"volumes.{i}", mount, stack, v, project["volumes"])
                   for i, v in enumerate(service.get("volumes") or [])],
        "StopGracePeriod": _key("stop_grace_period", _duration,
                                service.get("stop_grace_period")),
        "StopSignal": service.get("stop_signal"),
        "TTY": service.get("tty"),
        "OpenStdin": service.get("stdin_open"),
        "Secrets": _refs(stack, "secrets", service, project),
        "Configs": _refs(stack, "configs", service, project),
        "ReadOnly": service.get("read_only"),
        "Sysctls": service.get("sysctls"),
        "Ulimits": _ulimits(service.get("ulimits") or {}),
        "OomScoreAdj": service.get("oom_score_adj"),
        **_capabilities(service.get("cap_add") or [], service.get("cap_drop") or []),
    })
    if service.get("init") is not None:  # false is a choice (the daemon's default is not)
        container["Init"] = service["init"]
    isolation = service.get("isolation")
    if isolation and isolation != "default":
        raise ConvertError("isolation", f'invalid isolation "{isolation}": only "default" '
                                        "exists on Linux")
    template = _compact({
        "ContainerSpec": container,
        "Resources": _key("deploy.resources", _resources, deploy.get("resources") or {}),
        "RestartPolicy": _key("deploy.restart_policy", _restart_policy,
                              service.get("restart"), deploy.get("restart_policy")),
        "Placement": _placement(deploy.get("placement") or {}),
        "Networks": _key("networks", _networks, stack, name, service.get("networks"),
                         project["networks"]),
        "LogDriver": _compact({"Name": (service.get("logging") or {}).get("driver"),
                               "Options": (service.get("logging") or {}).get("options")}),
    })
    labels = with_stack_label(stack, deploy.get("labels"))
    labels[LABEL_IMAGE] = image
    spec = _compact({
        "Name": scope(stack, name),
        "Labels": labels,
        "TaskTemplate": template,
        "Mode": _key("deploy.mode", _mode, deploy.get("mode"), deploy.get("replicas")),
        "UpdateConfig": _key("deploy.update_config", _update_config,
                             deploy.get("update_config")),
        "RollbackConfig": _key("deploy.rollback_config", _update_config,
                               deploy.get("rollback_config")),
        "EndpointSpec": _endpoint(deploy.get("endpoint_mode"), service.get("ports") or []),
    })
    return spec


def _key(key: str, func: Any, *args: Any) -> Any:
    """func(*args), its ValueError as a ConvertError naming `key`."""
    try:
        return func(*args)
    except ConvertError:
        raise
    except ValueError as exc:
        raise ConvertError(key, str(exc)) from None


def _environment(env: dict[str, str | None]) -> list[str]:
    return sorted(k if v is None else f"{k}={v}" for k, v in env.items())


def _dns(service: Obj) -> Obj:
    servers = []
    for server in service.get("dns") or []:
        try:
            servers.append(str(ipaddress.ip_address(server)))
        except ValueError:
            continue  # Docker drops what is not an IP address
    return _compact({"Nameservers": servers, "Search": service.get("dns_search")})


def _healthcheck(check: Obj | None) -> Obj | None:
    if check is None:
        return None
    if check.get("disable"):
        if check.get("test"):
            raise ValueError("test and disable can't be set at the same time")
        return {"Test": ["NONE"]}
    return _compact({
        "Test": check.get("test"),
        "Interval": _duration(check.get("interval")),
        "Timeout": _duration(check.get("timeout")),
        "Retries": check.get("retries"),
        "StartPeriod": _duration(check.get("start_period")),
        "StartInterval": _duration(check.get("start_interval")),
    }) or None


def _capabilities(add: list[str], drop: list[str]) -> Obj:
    """opts.EffectiveCapAddCapDrop: CAP_ names, ALL wins, an added one is not dropped."""
    def normal(cap: str) -> str:
        cap = cap.strip().upper()
        return cap if cap in ("ALL", "RESET") or cap.startswith("CAP_") else f"CAP_{cap}"

    adds, drops = {normal(c) for c in add}, {normal(c) for c in drop}
    adds = {"ALL"} if "ALL" in adds else adds
    drops = {"ALL"} if "ALL" in drops else drops
    return {"CapabilityAdd": sorted(adds - {"RESET"}),
            "CapabilityDrop": sorted(drops - adds - {"RESET"})}


def _ulimits(limits: dict[str, Obj]) -> list[Obj]:
    found = []
    for name, limit in sorted(limits.items()):
        soft, hard = limit.get("soft", 0), limit.get("hard", 0)
        if limit.get("single"):
            soft = hard = limit["single"]
        found.append({"Name": name, "Soft": soft, "Hard": hard})
    return found


def _refs(stack: str, kind: str, service: Obj, project: Obj) -> list[Obj]:
    """Secret or config references by name (convertFileObject): the stack's object or the
    external one, at /run/secrets/<target> (or /<target>), uid and gid 0, mode 0444."""
    field = "Secret" if kind == "secrets" else "Config"
    refs = []
    for i, ref in enumerate(service.get(kind) or []):
        source = ref["source"]
        declared = project[kind].get(source)
        if declared is None:
            raise ConvertError(f"{kind}.{i}", f'undefined {kind[:-1]} "{source}"')
        refs.append({
            "File": {"Name": ref.get("target") or source, "UID": ref.get("uid") or "0",
                     "GID": ref.get("gid") or "0",
                     "Mode": 0o444 if ref.get("mode") is None else ref["mode"]},
            f"{field}Name": declared.get("name") or scope(stack, source),
        })
    return sorted(refs, key=lambda r: r[f"{field}Name"])


def _resources(resources: Obj) -> Obj:
    result = {}
    for key, field in (("limits", "Limits"), ("reservations", "Reservations")):
        given = resources.get(key)
        if not given:
            continue
        if given.get("generic_resources") or given.get("devices"):
            raise ValueError(f"{key}: generic resources and devices are not supported by "
                             "swarmlet")
        values = {}
        if given.get("cpus") not in (None, ""):
            try:
                values["NanoCPUs"] = nano_cpus(str(given["cpus"]))
            except SyntaxValueError as exc:
                raise ValueError(f"cpus: {exc}") from None
        memory = given.get("memory")
        if memory not in (None, ""):
            values["MemoryBytes"] = memory if isinstance(memory, int) else ram_in_bytes(memory)
        if given.get("pids"):
            values["Pids"] = given["pids"]
        result[field] = _compact(values)
    return _compact(result)


def _restart_policy(restart: str | None, policy: Obj | None) -> Obj | None:
    """deploy.restart_policy, or else the service's `restart` as Docker falls back to it."""
    if policy is not None:
        return _compact({"Condition": policy.get("condition"),
                         "Delay": _duration(policy.get("delay")),
                         "MaxAttempts": policy.get("max_attempts"),
                         "Window": _duration(policy.get("window"))}) or None
    if not restart:
        return None
    name, _, count = restart.partition(":")
    attempts = 0
    if count:
        if not count.lstrip("-").isdigit():
            raise ValueError(f"invalid restart policy: maximum retry count must be an "
                             f"integer: {count}")
        attempts = int(count)
        if attempts < 0:
            raise ValueError("invalid restart policy: maximum retry count cannot be negative")
    if name == "no":
        return None
    if name in ("always", "unless-stopped"):
        return _compact({"Condition": "any", "MaxAttempts": attempts})
    if name == "on-failure":
        return _compact({"Condition": "on-failure", "MaxAttempts": attempts})
    raise ValueError(f"invalid restart policy: unknown policy '{name}' (must be one of 'no', "
                     "'always', 'on-failure', or 'unless-stopped')")


def _placement(placement: Obj) -> Obj:
    return _compact({
        "Constraints": placement.get("constraints"),
        "Preferences": [{"Spread": {"SpreadDescriptor": p["spread"]}}
                        for p in placement.get("preferences") or []],
        "MaxReplicas": placement.get("max_replicas_per_node"),
    })


def _networks(stack: str, service: str, networks: Obj | None, declared: Obj) -> list[Obj]:
    """convertServiceNetworks: the `default` network when none is named; the service's name
    as an alias on each; sorted by target."""
    found = []
    for net, cfg in (networks or {DEFAULT_NETWORK: None}).items():
        config = declared.get(net)
        if config is None and net != DEFAULT_NETWORK:
            raise ValueError(f'undefined network "{net}"')
        target = (config or {}).get("name") or scope(stack, net)
        aliases = list((cfg or {}).get("aliases") or [])
        if target not in BUILTIN_NETWORKS:
            aliases.append(service)
        found.append(_compact({"Target": target, "Aliases": aliases,
                               "DriverOpts": (cfg or {}).get("driver_opts")}))
    return sorted(found, key=lambda n: n["Target"])


def _mode(mode: str | None, replicas: int | None) -> Obj:
    if mode in ("global", "global-job"):
        if replicas is not None:
            raise ValueError("replicas can only be used with replicated or replicated-job "
                             "mode")
        return {"Global": {}} if mode == "global" else {"GlobalJob": {}}
    if mode == "replicated-job":
        return {"ReplicatedJob": _compact({"MaxConcurrent": replicas,
                                           "TotalCompletions": replicas})}
    if mode in (None, "", "replicated"):
        return {"Replicated": {} if replicas is None else {"Replicas": replicas}}
    raise ValueError(f"unknown mode: {mode}")


def _update_config(config: Obj | None) -> Obj | None:
    if config is None:
        return None
    parallelism = config.get("parallelism")
    return {"Parallelism": 1 if parallelism is None else parallelism, **_compact({
        "Delay": _duration(config.get("delay")),
        "FailureAction": config.get("failure_action"),
        "Monitor": _duration(config.get("monitor")),
        "MaxFailureRatio": config.get("max_failure_ratio"),
        "Order": config.get("order"),
    })}


def _endpoint(mode: str | None, ports: list[Obj]) -> Obj:
    configs = [_compact({"Protocol": p.get("protocol"), "TargetPort": p.get("target"),
                         "PublishedPort": p.get("published"), "PublishMode": p.get("mode")})
               for p in ports]
    configs.sort(key=lambda p: (p.get("PublishedPort", 0), p.get("TargetPort", 0),
                                p.get("Protocol", ""), p.get("PublishMode", "")))
    return _compact({"Mode": (mode or "").lower(), "Ports": configs})
