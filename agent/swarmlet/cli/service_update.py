"""`service update` flags applied onto a service's current spec, as Docker's updateService
does: only what a given flag names changes (unset options keep their values), the --*-add /
--*-rm pairs edit lists and maps (removals first, then additions), and --force bumps
TaskTemplate.ForceUpdate so the tasks are replaced even when nothing else changed.

The flags shared with `service create` (and their parsing) are service_spec's; this module
holds what only update has, and the request `--rollback` / `service rollback` make instead.
"""

from __future__ import annotations

import argparse
import copy
import os
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from swarmlet.cli import service_container
from swarmlet.cli.service_net import (
    add_update_network_options,
    update_endpoint,
    update_networks,
)
from swarmlet.cli.service_refs import Lookup, update_references
from swarmlet.cli.service_refs import add_update_options as add_reference_update_options
from swarmlet.cli.service_spec import (
    Spec,
    apply_common,
    flag_error,
    labels,
    parse_mount,
    parse_uint,
    placement_pref,
)
from swarmlet.errors import SwarmletError

ROLLBACK_COMPANIONS = ("rollback", "detach", "quiet")  # flags --rollback may come with
ADD_RM = (("env", "an environment variable", "Remove an environment variable"),
          ("label", "a service label", "Remove a label by its key"),
          ("container-label", "a container label", "Remove a container label by its key"),
          ("constraint", "a placement constraint", "Remove a constraint"),
          ("placement-pref", None, "Remove a placement preference"),
          ("mount", "a mount on a service", "Remove a mount by its target path"))


def add_update_options(p: argparse.ArgumentParser) -> None:
    """Flags of `service update` only (the shared ones are service_spec.add_common_options)."""
    p.add_argument("--image", metavar="string", help="Service image tag")
    p.add_argument("--args", metavar="command", help="Service command args")
    p.add_argument("--force", action="store_true",
                   help="Force update even if no changes require it")
    p.add_argument("--rollback", action="store_true", help="Rollback to previous specification")
    for flag, what, rm_help in ADD_RM:
        add_help = f"Add or update {what}" if what else "Add a placement preference"
        p.add_argument(f"--{flag}-add", action="append", default=[], metavar="value",
                       help=add_help)
        p.add_argument(f"--{flag}-rm", action="append", default=[], metavar="value",
                       help=rm_help)
    add_update_network_options(p)
    add_reference_update_options(p)
    service_container.add_update_options(p)
    p.add_argument("service", metavar="SERVICE")


def flag_defaults(p: argparse.ArgumentParser) -> dict[str, Any]:
    """Each option's default, to tell which flags were given (pflag's Changed)."""
    return {a.dest: a.default for a in p._actions
            if a.option_strings and a.default is not argparse.SUPPRESS}


def given_flags(args: argparse.Namespace, defaults: Mapping[str, Any]) -> list[str]:
    return [dest for dest, default in defaults.items() if getattr(args, dest, default) != default]


def check_rollback_alone(args: argparse.Namespace, defaults: Mapping[str, Any]) -> None:
    if any(d not in ROLLBACK_COMPANIONS for d in given_flags(args, defaults)):
        raise SwarmletError("other flags may not be combined with --rollback")


def updated_spec(spec: Spec, args: argparse.Namespace,
                 environ: Mapping[str, str] | None = None,
                 resolve: Callable[[str], str] | None = None,
                 lookup: Lookup | None = None) -> Spec:
    """A copy of `spec` with the flags applied; `spec` itself is left as it is. `resolve`
    turns network names into IDs, `lookup` secret and config names (as given when None)."""
    environ = os.environ if environ is None else environ
    spec = copy.deepcopy(spec)
    task = spec.setdefault("TaskTemplate", {})
    container = task.setdefault("ContainerSpec", {})
    if args.replicas is not None:
        replicated = spec.get("Mode", {}).get("Replicated")
        if replicated is None:
            raise SwarmletError("replicas can only be used with replicated mode")
        spec["Mode"] = {"Replicated": {**replicated,
                                       "Replicas": parse_uint(args.replicas, "replicas")}}
    update_map(spec, "Labels", args.label_rm, args.label_add, "label-add")
    update_map(container, "Labels", args.container_label_rm, args.container_label_add,
               "container-label-add")
    if args.image is not None:
        container["Image"] = args.image
    if args.args is not None:
        try:
            container["Args"] = shlex.split(args.args)
        except ValueError as exc:
            raise flag_error("args", args.args, str(exc)) from None
    if args.env_add or args.env_rm:
        set_list(container, "Env", update_env(container.get("Env") or [], args.env_rm,
                                              args.env_add, environ))
    if args.mount_add or args.mount_rm:
        set_list(container, "Mounts", update_mounts(container.get("Mounts") or [],
                                                    args.mount_rm, args.mount_add))
    if args.constraint_add or args.constraint_rm:
        placement = task.setdefault("Placement", {})
        kept = [c for c in [*(placement.get("Constraints") or []), *args.constraint_add]
                if c not in args.constraint_rm]
        set_list(placement, "Constraints", sorted(kept))
    if args.placement_pref_add or args.placement_pref_rm:
        placement = task.setdefault("Placement", {})
        set_list(placement, "Preferences", update_prefs(
            placement.get("Preferences") or [], args.placement_pref_rm,
            args.placement_pref_add))
    update_networks(task, args.network_add, args.network_rm, resolve or (lambda name: name))
    update_references(container, args, lookup or (lambda _kind, name: name))
    update_endpoint(spec, args)
    service_container.apply_update(spec, args)
    if args.no_healthcheck and args.health_cmd is not None:
        raise SwarmletError("--no-healthcheck conflicts with --health-* options")
    apply_common(spec, args, updating=True)
    if args.health_cmd == "" and not args.no_healthcheck:  # Docker: an empty command clears it
        (container.get("Healthcheck") or {}).pop("Test", None)
    if args.force:
        task["ForceUpdate"] = int(task.get("ForceUpdate") or 0) + 1
    return spec


def set_list(obj: Spec, key: str, values: list[Any]) -> None:
    """Set a list, but leave an absent key absent when the list is empty (no spurious diff)."""
    if values or key in obj:
        obj[key] = values


def update_map(obj: Spec, key: str, remove: list[str], add: list[str], add_flag: str) -> None:
    """--label-rm / --label-add: keys removed (a missing key is no error), then set."""
    if not remove and not add:
        return
    values = dict(obj.get(key) or {})
    for name in remove:
        values.pop(name, None)
    values.update(labels(add, add_flag))
    if values or key in obj:
        obj[key] = values


def env_key(value: str) -> str:
    return value.partition("=")[0]


def update_env(env: list[str], remove: list[str], add: list[str],
               environ: Mapping[str, str]) -> list[str]:
    """--env-rm NAME drops the variable; --env-add NAME=value replaces it where it stands or
    appends it; a bare NAME takes its value from the environment when set there."""
    result = [v for v in env if env_key(v) not in remove]
    for pair in add:
        key, sep, _ = pair.partition("=")
        if not key:
            raise flag_error("env-add", pair, f"invalid environment variable: {pair}")
        value = pair if sep or key not in environ else f"{key}={environ[key]}"
        names = [env_key(v) for v in result]
        if key in names:
            result[names.index(key)] = value
        else:
            result.append(value)
    return result


def update_mounts(mounts: list[Spec], remove: list[str], add: list[str]) -> list[Spec]:
    """--mount-add replaces the mount at its target; --mount-rm drops mounts by target. Sorted
    by source, then target, as Docker does."""
    by_target: dict[str, Spec] = {}
    for value in add:
        mount = parse_mount(value, "mount-add")
        if mount["Target"] in by_target:
            raise SwarmletError("duplicate mount target")
        by_target[mount["Target"]] = mount
    for mount in mounts:
        by_target.setdefault(mount.get("Target", ""), mount)
    kept = [m for target, m in by_target.items() if target not in remove]
    return sorted(kept, key=lambda m: (m.get("Source", ""), m.get("Target", "")))


def update_prefs(prefs: list[Spec], remove: list[str], add: list[str]) -> list[Spec]:
    """--placement-pref-rm drops the preferences spreading over the same descriptor; then
    --placement-pref-add appends."""
    gone = {placement_pref(v, "placement-pref-rm")["Spread"]["SpreadDescriptor"]
            for v in remove}
    kept = [p for p in prefs if (p.get("Spread") or {}).get("SpreadDescriptor") not in gone]
    return kept + [placement_pref(v, "placement-pref-add") for v in add]


def rollback_query(service: Spec) -> dict[str, Any]:
    """The query of POST /services/{id}/update that asks for the previous spec back."""
    return {"version": service["Version"]["Index"], "rollback": "previous"}
