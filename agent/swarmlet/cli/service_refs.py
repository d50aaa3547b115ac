"""The secret and config flags of `service create` / `service update`, as Docker's CLI reads
them: `--secret NAME` or `--secret source=NAME,target=PATH,uid=U,gid=G,mode=0400` (the same
for `--config`), and on update `--secret-add/--secret-rm`, `--config-add/--config-rm`.

Names become IDs before the spec is sent, as Docker's CLI does: `lookup(kind, name)` is the
API's GET /secrets/{name} or /configs/{name}; pure otherwise. A secret's target is a file
name under /run/secrets/ (or an absolute path); a config's, a path (relative: from /).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from swarmlet.cli.flags import flag_error

Spec = dict[str, Any]
Lookup = Callable[[str, str], str]  # (kind, name or ID) -> ID
KINDS = ("secret", "config")


def add_create_options(p: argparse.ArgumentParser) -> None:
    for kind in KINDS:
        p.add_argument(f"--{kind}", action="append", default=[], metavar=kind,
                       help=f"Specify {kind}s to expose to the service")


def add_update_options(p: argparse.ArgumentParser) -> None:
    for kind in KINDS:
        p.add_argument(f"--{kind}-add", action="append", default=[], metavar=kind,
                       help=f"Add or update a {kind} on a service")
        p.add_argument(f"--{kind}-rm", action="append", default=[], metavar="list",
                       help=f"Remove a {kind}")


def parse_reference(kind: str, value: str, flag: str) -> Spec:
    """NAME, or CSV fields source|src, target, uid, gid, mode (octal), as Docker's
    SecretOpt / ConfigOpt. The ID is filled in by `resolve`."""
    ref: Spec = {"source": "", "target": "", "uid": "0", "gid": "0", "mode": 0o444}
    if "=" not in value:
        ref["source"] = value
    else:
        for field in value.split(","):
            key, sep, val = field.partition("=")
            key = key.strip().lower()
            if not sep:
                raise flag_error(flag, value, f"invalid field '{field}' must be a key=value "
                                              "pair")
            if key in ("source", "src"):
                ref["source"] = val
            elif key == "target":
                ref["target"] = val
            elif key in ("uid", "gid"):
                ref[key] = val
            elif key == "mode":
                try:
                    ref["mode"] = int(val, 8)
                except ValueError:
                    raise flag_error(flag, value, f"invalid mode specified: {val}") from None
            else:
                raise flag_error(flag, value, f"invalid field in {kind} request: {key}")
    if not ref["source"]:
        raise flag_error(flag, value, "source is required")
    target = ref["target"] or ref["source"]
    if kind == "config" and not target.startswith("/"):
        target = "/" + target
    key = kind.capitalize()
    return {"File": {"Name": target, "UID": ref["uid"], "GID": ref["gid"], "Mode": ref["mode"]},
            f"{key}ID": "", f"{key}Name": ref["source"]}


def resolve(kind: str, ref: Spec, lookup: Lookup) -> Spec:
    key = kind.capitalize()
    return {**ref, f"{key}ID": lookup(kind, ref[f"{key}Name"])}


def create_references(container: Spec, args: argparse.Namespace, lookup: Lookup) -> None:
    for kind in KINDS:
        values = getattr(args, kind)
        if values:
            container[f"{kind.capitalize()}s"] = [
                resolve(kind, parse_reference(kind, v, kind), lookup) for v in values]


def update_references(container: Spec, args: argparse.Namespace, lookup: Lookup) -> None:
    """Docker's updateSecrets/updateConfigs: --*-rm drops the references to those names
    (or IDs), then --*-add adds (replacing one with the same target)."""
    for kind in KINDS:
        add, remove = getattr(args, f"{kind}_add"), getattr(args, f"{kind}_rm")
        if not add and not remove:
            continue
        key, field = kind.capitalize(), f"{kind.capitalize()}s"
        kept = [r for r in container.get(field) or []
                if r.get(f"{key}Name") not in remove and r.get(f"{key}ID") not in remove]
        for value in add:
            ref = resolve(kind, parse_reference(kind, value, f"{kind}-add"), lookup)
            kept = [r for r in kept if r["File"]["Name"] != ref["File"]["Name"]] + [ref]
        if kept:
            container[field] = kept
        else:
            container.pop(field, None)
