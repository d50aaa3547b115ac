"""A service's volumes as Engine API mounts, as Docker's convert does
(cli/compose/convert/volume.go): a named volume is the stack's (STACK_name, with its
driver, driver_opts and labels, and the stack's label) unless it is external; binds and
tmpfs as written. Errors are ValueError with Docker's words; the caller names the key."""

from __future__ import annotations

from typing import Any

from swarmlet.spec.compose.names import LABEL_NAMESPACE, scope
from swarmlet.spec.syntax import parse_file_mode, ram_in_bytes

Obj = dict[str, Any]
REFUSED_TYPES = {
    "npipe": "named pipes are Windows only",
    "cluster": "cluster (CSI) volumes are not supported by swarmlet",
    "image": "image mounts are not supported by swarmlet",
}


def mount(stack: str, volume: Obj, stack_volumes: dict[str, Obj]) -> Obj:
    kind = volume.get("type") or "volume"
    if kind in REFUSED_TYPES:
        raise ValueError(f"volume type {kind}: {REFUSED_TYPES[kind]}")
    if kind not in ("volume", "bind", "tmpfs"):
        raise ValueError("volume type must be volume, bind, tmpfs, npipe, or cluster")
    if not volume.get("target"):
        raise ValueError(f'invalid mount config for type "{kind}": target is required')
    for other in ("bind", "volume", "tmpfs"):
        if other != kind and volume.get(other):
            raise ValueError(f"{other} options are incompatible with type {kind}")
    result: Obj = {"Type": kind, "Target": volume["target"]}
    if volume.get("read_only"):
        result["ReadOnly"] = True
    if volume.get("consistency"):
        result["Consistency"] = volume["consistency"]
    source = volume.get("source") or ""
    if kind == "bind":
        if not source:
            raise ValueError("invalid bind source, source cannot be empty")
        result["Source"] = source
        bind = volume.get("bind") or {}
        options = {k: v for k, v in (("Propagation", bind.get("propagation")),
                                     ("CreateMountpoint", bind.get("create_host_path")))
                   if v}
        if options:
            result["BindOptions"] = options
        return result
    if kind == "tmpfs":
        if source:
            raise ValueError("invalid tmpfs source, source must be empty")
        tmpfs = volume.get("tmpfs") or {}
        options = {}
        if tmpfs.get("size") is not None:
            size = tmpfs["size"]
            options["SizeBytes"] = size if isinstance(size, int) else ram_in_bytes(size)
        if tmpfs.get("mode") is not None:
            mode = tmpfs["mode"]
            options["Mode"] = mode if isinstance(mode, int) else parse_file_mode(mode)
        if options:
            result["TmpfsOptions"] = options
        return result
    return _volume_mount(stack, volume, stack_volumes, result, source)


def _volume_mount(stack: str, volume: Obj, stack_volumes: dict[str, Obj], result: Obj,
                  source: str) -> Obj:
    if not source:  # an anonymous volume
        return result
    if source not in stack_volumes:
        raise ValueError(f'undefined volume "{source}"')
    declared = stack_volumes[source]
    result["Source"] = declared.get("name") or scope(stack, source)
    options: Obj = {}
    given = volume.get("volume") or {}
    if given.get("nocopy"):
        options["NoCopy"] = True
    if given.get("subpath"):
        options["Subpath"] = given["subpath"]
    if not declared.get("external"):
        options["Labels"] = {**(declared.get("labels") or {}), LABEL_NAMESPACE: stack}
        if declared.get("driver") or declared.get("driver_opts") is not None:
            driver: Obj = {}
            if declared.get("driver"):
                driver["Name"] = declared["driver"]
            if declared.get("driver_opts"):
                driver["Options"] = declared["driver_opts"]
            if driver:
                options["DriverConfig"] = driver
    if options:
        result["VolumeOptions"] = options
    return result
