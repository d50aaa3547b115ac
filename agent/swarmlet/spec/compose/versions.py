"""Compose file versions: which are read, and which version brought which key.

Docker reads versions 3.0 to 3.13 ("3" is the latest) and validates each file against its
version's schema: a key newer than the file's version is an "Additional property". A file
without `version` is read as the Compose Specification: every 3.x key, and the
Specification's own keys that this table marks SPEC."""

from __future__ import annotations

from typing import Any

LATEST = (3, 13)
SPEC = (99, 0)  # keys of the Compose Specification only: files without `version`

# (path, version): the path's last part is the key; "*" is any name, "[]" any list item,
# "{}" that item in its long (mapping) form, "x-" any extension field.
SINCE: tuple[tuple[tuple[str, ...], tuple[int, int]], ...] = (
    (("secrets",), (3, 1)),
    (("services", "*", "secrets"), (3, 1)),
    (("networks", "*", "attachable"), (3, 2)),
    (("services", "*", "deploy", "endpoint_mode"), (3, 2)),
    (("services", "*", "ports", "[]", "{}"), (3, 2)),
    (("services", "*", "volumes", "[]", "{}"), (3, 2)),
    (("configs",), (3, 3)),
    (("services", "*", "configs"), (3, 3)),
    (("services", "*", "credential_spec"), (3, 3)),
    (("services", "*", "deploy", "placement", "preferences"), (3, 3)),
    (("x-",), (3, 4)),
    (("services", "*", "deploy", "update_config", "order"), (3, 4)),
    (("services", "*", "healthcheck", "start_period"), (3, 4)),
    (("volumes", "*", "name"), (3, 4)),
    (("configs", "*", "name"), (3, 5)),
    (("networks", "*", "name"), (3, 5)),
    (("secrets", "*", "name"), (3, 5)),
    (("services", "*", "deploy", "resources", "reservations", "generic_resources"), (3, 5)),
    (("services", "*", "isolation"), (3, 5)),
    (("services", "*", "volumes", "[]", "tmpfs"), (3, 6)),
    (("services", "*", "x-"), (3, 7)),
    (("networks", "*", "x-"), (3, 7)),
    (("volumes", "*", "x-"), (3, 7)),
    (("secrets", "*", "x-"), (3, 7)),
    (("configs", "*", "x-"), (3, 7)),
    (("services", "*", "deploy", "rollback_config"), (3, 7)),
    (("services", "*", "init"), (3, 7)),
    (("configs", "*", "template_driver"), (3, 8)),
    (("secrets", "*", "driver"), (3, 8)),
    (("secrets", "*", "driver_opts"), (3, 8)),
    (("secrets", "*", "template_driver"), (3, 8)),
    (("services", "*", "credential_spec", "config"), (3, 8)),
    (("services", "*", "deploy", "placement", "max_replicas_per_node"), (3, 8)),
    (("services", "*", "cgroupns_mode"), (3, 9)),
    (("services", "*", "deploy", "resources", "limits", "pids"), (3, 9)),
    (("services", "*", "healthcheck", "start_interval"), (3, 12)),
    (("services", "*", "networks", "*", "driver_opts"), (3, 13)),
    (("services", "*", "oom_score_adj"), (3, 13)),
    # the Compose Specification's own
    (("name",), SPEC),
    (("include",), SPEC),
    (("models",), SPEC),
    (("networks", "*", "enable_ipv6"), SPEC),
    (("networks", "*", "ipam", "options"), SPEC),
    (("networks", "*", "ipam", "config", "[]", "ip_range"), SPEC),
    (("networks", "*", "ipam", "config", "[]", "gateway"), SPEC),
    (("networks", "*", "ipam", "config", "[]", "aux_addresses"), SPEC),
    (("secrets", "*", "environment"), SPEC),
    (("configs", "*", "environment"), SPEC),
    (("configs", "*", "content"), SPEC),
    (("services", "*", "env_file", "[]", "{}"), SPEC),
    (("services", "*", "ports", "[]", "host_ip"), SPEC),
    (("services", "*", "ports", "[]", "name"), SPEC),
    (("services", "*", "ports", "[]", "app_protocol"), SPEC),
    (("services", "*", "volumes", "[]", "image"), SPEC),
    (("services", "*", "volumes", "[]", "bind", "create_host_path"), SPEC),
    (("services", "*", "volumes", "[]", "bind", "selinux"), SPEC),
    (("services", "*", "volumes", "[]", "volume", "subpath"), SPEC),
    (("services", "*", "volumes", "[]", "tmpfs", "mode"), SPEC),
    (("services", "*", "networks", "*", "priority"), SPEC),
    (("services", "*", "networks", "*", "gw_priority"), SPEC),
    (("services", "*", "networks", "*", "mac_address"), SPEC),
    (("services", "*", "networks", "*", "link_local_ips"), SPEC),
    (("services", "*", "deploy", "resources", "reservations", "devices"), SPEC),
    *((("services", "*", key), SPEC) for key in (
        "annotations", "attach", "blkio_config", "cpu_count", "cpu_percent", "cpu_period",
        "cpu_rt_period", "cpu_rt_runtime", "cpus", "develop", "device_cgroup_rules", "gpus",
        "group_add", "label_file", "mem_reservation", "mem_swappiness", "oom_kill_disable",
        "platform", "post_start", "pre_stop", "profiles", "pull_policy", "runtime", "scale",
        "storage_opt", "uts")),
)


class VersionError(ValueError):
    pass


def parse_version(value: Any) -> tuple[int, int] | None:
    """The version of a file: (3, N), or None for the Compose Specification (no version).
    Docker reads `version: 3` and `version: "3"` as the latest 3.x."""
    if value is None:
        return None
    text = str(value)  # YAML may give 3.8 as a number; Docker prints it as Go's %v does
    if text == "3":
        return LATEST
    major, _, minor = text.partition(".")
    if major == "3" and minor.isdigit() and (3, int(minor)) <= LATEST:
        return (3, int(minor))
    raise VersionError(f"unsupported Compose file version: {text}")


def version_text(version: tuple[int, int] | None) -> str:
    return "the Compose Specification" if version is None else f"{version[0]}.{version[1]}"


def too_new(config: dict[str, Any], version: tuple[int, int] | None
            ) -> tuple[list[Any], tuple[int, int]] | None:
    """The first key of `config` that its version does not have: (its path, the version
    that brought it), or None."""
    have = SPEC if version is None else version
    for pattern, since in SINCE:
        if since <= have:
            continue
        found = _find(config, pattern, [])
        if found is not None:
            return found, since
    return None


def _find(node: Any, pattern: tuple[str, ...], path: list[Any]) -> list[Any] | None:
    head, rest = pattern[0], pattern[1:]
    if head == "{}":
        return path if isinstance(node, dict) else None
    if head == "[]":
        if isinstance(node, list):
            for i, item in enumerate(node):
                found = _find(item, rest, [*path, i]) if rest else [*path, i]
                if found is not None:
                    return found
        return None
    if not isinstance(node, dict):
        return None
    if head == "x-":
        for key in node:
            if isinstance(key, str) and key.startswith("x-"):
                return [*path, key]
        return None
    keys = list(node) if head == "*" else [head] if head in node else []
    for key in keys:
        if not rest:
            return [*path, key]
        found = _find(node[key], rest, [*path, key])
        if found is not None:
            return found
    return None
