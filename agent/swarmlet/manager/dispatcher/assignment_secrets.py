"""The secrets and configs of a node's assignments ("Secrets"): the data of those its tasks
that are to run refer to, and of no other (a node that runs no task using a secret never
receives it). Unsealed here, on the leader, and sent over the node's mutual-TLS session;
the node keeps them in memory only.

An entry: {"Kind": "secret"|"config", "ID", "Data": <base64>}, and a templated config's
"Templating" ({"Name": "golang"}: the worker renders it for each task).
"""

from __future__ import annotations

import base64
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.sealing import DataKeys

Obj = dict[str, Any]
KINDS = ("secret", "config")


def referenced(tasks: list[Obj]) -> set[tuple[str, str]]:
    """(kind, ID) of every secret and config the tasks that are to run refer to."""
    refs = set()
    for task in tasks:
        if not T.is_active(task):
            continue
        container = (task.get("Spec") or {}).get("ContainerSpec") or {}
        for kind in KINDS:
            key = kind.capitalize()
            refs |= {(kind, r[f"{key}ID"]) for r in container.get(f"{key}s") or []}
    return refs


def node_data(tasks: list[Obj], objects: dict[str, list[Obj]], keys: DataKeys,
              ) -> list[Obj]:
    """`objects`: {"secret": [...], "config": [...]} as stored (sealed)."""
    wanted = referenced(tasks)
    out = []
    for kind in KINDS:
        for obj in objects.get(kind, []):
            if (kind, obj["ID"]) in wanted:
                data = keys.unseal(obj["ID"], obj["SealedData"])
                entry = {"Kind": kind, "ID": obj["ID"],
                         "Data": base64.b64encode(data).decode()}
                if obj["Spec"].get("Templating"):
                    entry["Templating"] = obj["Spec"]["Templating"]
                out.append(entry)
    return out
