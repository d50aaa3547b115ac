"""A node's assignments, and the changes between two of them (SwarmKit's incremental
assignments): the dispatcher remembers what it last sent each node and sends only what
changed since; the node applies the changes to what it holds. Both sides use this module,
so they key and order the sections the same way.

An answer to `POST /dispatcher/assignments` is one of
- complete:    {"Type": "complete", "ResultsIn": SEQ, "Tasks": [...], "Networks": [...], ...}
- incremental: {"Type": "incremental", "AppliesTo": SEQ, "ResultsIn": SEQ2,
                "Changes": {SECTION: {"Update": [...], "Remove": [KEY, ...]}}}
An incremental answer applies only to the set named by AppliesTo; a node that holds another
(it restarted, or the leader changed) gets a complete one. ResultsIn == AppliesTo and no
Changes: nothing changed before the poll's wait ran out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Sections = dict[str, dict[str, Obj]]  # section -> key -> item

COMPLETE, INCREMENTAL = "complete", "incremental"

# Each section's key: what identifies one item across two assignments. Items are listed by
# their sort key, so a node rebuilds the lists the dispatcher would have sent.
_KEYS: dict[str, Callable[[Obj], str]] = {
    "Tasks": lambda t: str(t["ID"]),
    "Networks": lambda n: str(n["Network"]["ID"]),
    "Services": lambda s: f"{s.get('Name', '')}\x00{s['ID']}",
    "HostPorts": lambda p: f"{p['Protocol']}\x00{p['PublishedPort']:05d}\x00{p['TaskID']}",
    "Secrets": lambda d: f"{d['Kind']}\x00{d['ID']}",
    "Attachments": lambda a: str(a["ID"]),
    "AttachableNetworks": lambda n: str(n["ID"]),
    "LogSubscriptions": lambda s: str(s["ID"]),
}
SECTIONS = tuple(_KEYS)


def keyed(lists: dict[str, list[Obj]]) -> Sections:
    """{section: [items]} -> {section: {key: item}}."""
    return {name: {_KEYS[name](item): item for item in lists.get(name) or []}
            for name in SECTIONS}


def listed(sections: Sections) -> dict[str, list[Obj]]:
    """{section: {key: item}} -> {section: [items in key order]}."""
    return {name: [items[k] for k in sorted(items)]
            for name, items in ((n, sections.get(n) or {}) for n in SECTIONS)}


def changes(old: Sections, new: Sections) -> dict[str, dict[str, list[Any]]]:
    """What turns `old` into `new`: per section, the items added or changed and the keys
    removed; sections without a change are left out."""
    out: dict[str, dict[str, list[Any]]] = {}
    for name in SECTIONS:
        before, after = old.get(name) or {}, new.get(name) or {}
        update = [item for key, item in after.items() if before.get(key) != item]
        remove = sorted(key for key in before if key not in after)
        if update or remove:
            out[name] = {"Update": update, "Remove": remove}
    return out


def apply_changes(held: Sections, change_set: dict[str, dict[str, list[Any]]]) -> Sections:
    """`held` with the changes of an incremental answer applied (a new mapping)."""
    out = {name: dict(held.get(name) or {}) for name in SECTIONS}
    for name, change in change_set.items():
        if name not in _KEYS:
            continue  # a section a newer manager sends that this node does not know
        for key in change.get("Remove") or []:
            out[name].pop(key, None)
        for item in change.get("Update") or []:
            out[name][_KEYS[name](item)] = item
    return out
