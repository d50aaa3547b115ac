"""Several loaded compose files made one, in order, as Docker merges them
(cli/compose/loader/merge.go, mergo with WithOverride and WithAppendSlice):

- a service named in two files is merged key by key; a later file's value replaces the
  earlier one unless it is empty (false, 0, "": as Go's zero values, they do not override)
  — except the keys Go holds as pointers (replicas, init, durations of policies...),
  which any given value overrides;
- mappings (environment, labels, deploy, sysctls, networks...) merge key by key;
- lists are appended (cap_add, dns, constraints...), except command and entrypoint
  (replaced) and ports, volumes, secrets and configs, merged by published port, target and
  source;
- logging: the same driver merges its options, another driver replaces it;
- top-level networks, volumes, secrets and configs: a later definition replaces the whole
  earlier one.

One difference: Docker keys ports by published port only, so two unpublished ports of one
service collapse into one; swarmlet keeps both (they differ by target port)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
POINTERS = frozenset(("replicas", "init", "stop_grace_period", "parallelism", "max_attempts",
                      "retries", "interval", "timeout", "start_period", "start_interval",
                      "delay", "window"))
REPLACED = frozenset(("command", "entrypoint", "test"))


def _port_key(port: Obj) -> Any:
    published = port.get("published") or 0
    return published if published else (0, port.get("target"), port.get("protocol") or "tcp")


def _sort_port(port: Obj) -> Any:
    return (port.get("published") or 0, port.get("target") or 0)


KEYED = {
    "ports": (_port_key, _sort_port),
    "volumes": (lambda v: v.get("target"), lambda v: v.get("target") or ""),
    "secrets": (lambda v: v.get("source"), lambda v: v.get("source") or ""),
    "configs": (lambda v: v.get("source"), lambda v: v.get("source") or ""),
}


def _empty(value: Any) -> bool:
    return value is None or value is False or value == 0 or value == "" or value == [] \
        or value == {}


def merge_value(key: str, base: Any, over: Any) -> Any:
    if over is None:
        return base
    if base is None:
        return over
    if key in KEYED and isinstance(base, list) and isinstance(over, list):
        by_key, order = KEYED[key]
        merged = {by_key(item): item for item in base}
        merged.update({by_key(item): item for item in over})
        return sorted(merged.values(), key=order)
    if key in REPLACED:
        return over if over else base
    if key == "logging":
        return _logging(base, over)
    if key == "networks" and isinstance(base, dict):
        return _service_networks(base, over)
    if isinstance(base, dict) and isinstance(over, dict):
        return merge_mapping(base, over)
    if isinstance(base, list) and isinstance(over, list):
        return base + over
    if key in POINTERS or not _empty(over):
        return over
    return base


def merge_mapping(base: Obj, over: Obj) -> Obj:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = merge_value(key, base.get(key), value) if key in base else value
    return merged


def _logging(base: Obj, over: Obj) -> Obj:
    if base.get("driver") == over.get("driver") or not base.get("driver") or \
            not over.get("driver"):
        return {"driver": base.get("driver") or over.get("driver") or "",
                "options": {**(base.get("options") or {}), **(over.get("options") or {})}}
    return over


def _service_networks(base: Obj, over: Obj) -> Obj:
    """A later file's settings of a network the service already names replace its aliases
    (and its addresses when given); a network without settings changes nothing."""
    merged = dict(base)
    for name, cfg in over.items():
        if name not in merged or merged[name] is None:
            merged[name] = cfg
        elif cfg:
            merged[name] = {**merged[name], "aliases": cfg.get("aliases"),
                            **{k: cfg[k] for k in ("ipv4_address", "ipv6_address")
                               if cfg.get(k)}}
    return merged


def merge_files(files: list[Obj]) -> Obj:
    """The loaded files merged in order into one."""
    base: Obj = {"services": {}, "networks": {}, "volumes": {}, "secrets": {}, "configs": {}}
    for loaded in files:
        for name, service in loaded["services"].items():
            old = base["services"].get(name)
            base["services"][name] = service if old is None else merge_mapping(old, service)
        for kind in ("networks", "volumes", "secrets", "configs"):
            base[kind].update(loaded[kind])
    base["services"] = dict(sorted(base["services"].items()))
    return base
