"""The cluster object's secrets sealed in Raft: the root CA key, the join tokens and, with
autolock, the unlock key (manager/sealing.py), so the journal and dump on a manager's disk
hold none of them in clear.

Stored:  RootCA.SealedCAKey, SealedJoinTokens {Worker, Manager}, SealedUnlockKey
Opened:  RootCA.CAKey,       JoinTokens {Worker, Manager},       UnlockKey ("SWMKEY-1-...")

Code that needs them works on the opened copy (Manager.open_cluster) and writes back
sealed(); a cluster of an older release, stored in clear, is sealed by the leader's loop.
"""

from __future__ import annotations

from typing import Any

from swarmlet.manager.sealing import DataKeys
from swarmlet.store.objects import clone

Obj = dict[str, Any]
ROLES = ("Worker", "Manager")


def _aad(cluster: Obj, field: str) -> str:
    return f"{cluster['ID']}/{field}"


def sealed(opened: Obj, keys: DataKeys) -> Obj:
    """The cluster as stored: its secrets sealed under the key epoch in use."""
    out = clone(opened)
    root = out.get("RootCA") or {}
    if "CAKey" in root:
        root["SealedCAKey"] = keys.seal(_aad(out, "CAKey"), root.pop("CAKey").encode())
    tokens = out.pop("JoinTokens", None)
    if tokens is not None:
        out["SealedJoinTokens"] = {role: keys.seal(_aad(out, f"JoinTokens.{role}"),
                                                   tokens[role].encode()) for role in ROLES}
    unlock = out.pop("UnlockKey", None)
    out.pop("SealedUnlockKey", None)
    if unlock:
        out["SealedUnlockKey"] = keys.seal(_aad(out, "UnlockKey"), unlock.encode())
    return out


def opened(stored: Obj, keys: DataKeys) -> Obj:
    """A copy with the secrets in clear (an older release's clear fields are kept)."""
    out = clone(stored)
    root = out.get("RootCA") or {}
    if "SealedCAKey" in root:
        root["CAKey"] = keys.unseal(_aad(out, "CAKey"), root.pop("SealedCAKey")).decode()
    tokens = out.pop("SealedJoinTokens", None)
    if tokens is not None:
        out["JoinTokens"] = {role: keys.unseal(_aad(out, f"JoinTokens.{role}"),
                                               tokens[role]).decode() for role in ROLES}
    unlock = out.pop("SealedUnlockKey", None)
    if unlock:
        out["UnlockKey"] = keys.unseal(_aad(out, "UnlockKey"), unlock).decode()
    return out


def in_clear(stored: Obj) -> bool:
    """A cluster object that holds a secret in clear (written by an older release)."""
    return "JoinTokens" in stored or "CAKey" in (stored.get("RootCA") or {})
