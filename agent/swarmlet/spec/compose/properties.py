"""The service keys swarm mode does not use, as Docker's CLI sorts them
(cli/compose/types/types.go) and the warnings it prints for them
(cli/command/stack/loader.go):

- UNSUPPORTED: read, not used ("Ignoring unsupported options: build, links")
- DEPRECATED: read, not used ("Ignoring deprecated options:\n\ncontainer_name: ...")
- FORBIDDEN: the deploy fails ("compose file contains unsupported options: ...")

Docker drops a few more keys without a word (depends_on, tmpfs, credential_spec on Linux,
the network's ipv4_address); swarmlet names them in the unsupported warning as well, as it
does the Compose Specification's keys that swarm mode has no use for."""

from __future__ import annotations

from typing import Any

UNSUPPORTED = ("build", "cgroupns_mode", "cgroup_parent", "devices", "domainname",
               "external_links", "ipc", "links", "mac_address", "network_mode", "pid",
               "privileged", "restart", "security_opt", "shm_size", "userns_mode")

DEPRECATED = {
    "container_name": "Setting the container name is not supported.",
    "expose": "Exposing ports is unnecessary - services on the same network can access each "
              "other's containers on any port.",
}

FORBIDDEN = {
    "extends": "Support for `extends` is not implemented yet.",
    "volume_driver": "Instead of setting the volume driver on the service, define a volume "
                     "using the top-level `volumes` option and specify the driver there.",
    "volumes_from": "To share a volume between services, define it using the top-level "
                    "`volumes` option and reference it from each service that shares it "
                    "using the service-level `volumes` option.",
    "cpu_quota": "Set resource limits using deploy.resources",
    "cpu_shares": "Set resource limits using deploy.resources",
    "cpuset": "Set resource limits using deploy.resources",
    "mem_limit": "Set resource limits using deploy.resources",
    "memswap_limit": "Set resource limits using deploy.resources",
}

# Read and dropped by Docker without a warning; swarmlet warns.
SILENT = ("credential_spec", "depends_on", "tmpfs")

# The Compose Specification's service keys swarm mode has no use for (files without version).
SPEC_ONLY = ("annotations", "attach", "blkio_config", "cpu_count", "cpu_percent", "cpu_period",
             "cpu_rt_period", "cpu_rt_runtime", "cpus", "develop", "device_cgroup_rules",
             "gpus", "group_add", "label_file", "mem_reservation", "mem_swappiness",
             "oom_kill_disable", "platform", "post_start", "pre_stop", "profiles",
             "pull_policy", "runtime", "scale", "storage_opt", "uts")

IGNORED = (*UNSUPPORTED, *SILENT, *SPEC_ONLY)


def _services(config: dict[str, Any]) -> dict[str, Any]:
    services = config.get("services")
    return services if isinstance(services, dict) else {}


def forbidden(config: dict[str, Any]) -> tuple[str, str, str] | None:
    """The first forbidden key of a file: (service, key, Docker's reason), or None."""
    for name, service in sorted(_services(config).items()):
        if isinstance(service, dict):
            for key in sorted(FORBIDDEN):
                if key in service:
                    return name, key, FORBIDDEN[key]
    return None


def warnings(configs: list[dict[str, Any]]) -> list[str]:
    """Docker's warnings for the keys the files use that swarm mode ignores."""
    ignored: set[str] = set()
    deprecated: dict[str, str] = {}
    for config in configs:
        if "name" in config:  # the project name: the stack's name is given instead
            ignored.add("name")
        for service in _services(config).values():
            if not isinstance(service, dict):
                continue
            ignored.update(key for key in IGNORED if key in service)
            deprecated.update({k: v for k, v in DEPRECATED.items() if k in service})
    found = []
    if ignored:
        found.append(f"Ignoring unsupported options: {', '.join(sorted(ignored))}")
    if deprecated:
        lines = "\n\n".join(sorted(f"{k}: {v}" for k, v in deprecated.items()))
        found.append(f"Ignoring deprecated options:\n\n{lines}")
    return found
