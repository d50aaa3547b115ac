"""Docker's swarm and node shapes to swarmlet's and back.

In: Docker clients send Go zero values (`docker swarm init` sends a SwarmSpec of zeros,
`docker swarm update` the whole spec it read): a zero that means "the default" is dropped,
a meaningful one (TaskHistoryRetentionLimit 0, KeepOldSnapshots 0) kept, and a field
swarmlet cannot honour (an external CA, a root CA rotation, another data path) refused
with a 400 naming it. What remains is checked by swarmlet's models (spec/swarm_models.py).

Out: the objects already have Docker's shapes; this adds the trust root's issuer fields
Docker's TLSInfo carries (`node inspect --pretty`, `docker swarm ca`).
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from swarmlet.api.engine.filters import Filters
from swarmlet.transport.errors import HttpError

# Zeros Go sends for "unset" in each section of a SwarmSpec (omitempty or not).
_DEFAULT_ZEROS = {
    "Raft": ("SnapshotInterval", "LogEntriesForSlowFollowers", "ElectionTick",
             "HeartbeatTick"),
    "Dispatcher": ("HeartbeatPeriod",),
    "CAConfig": ("NodeCertExpiry",),
}
# Docker's CAConfig fields swarmlet has no counterpart for: refused unless zero.
_UNSUPPORTED_CA = {
    "ExternalCAs": "external CAs are not supported: swarmlet's managers sign certificates",
    "SigningCACert": "a root CA rotation (docker swarm ca --rotate) is not supported",
    "SigningCAKey": "a root CA rotation (docker swarm ca --rotate) is not supported",
    "ForceRotate": "a root CA rotation (docker swarm ca --rotate) is not supported",
}
NODE_FILTERS = ("id", "label", "membership", "name", "node.label", "role")


def swarm_spec(spec: Any) -> Any:
    """A Docker SwarmSpec as swarmlet's /swarm/update and init take it."""
    if not isinstance(spec, dict):
        return spec  # swarmlet's check refuses it, naming what is wrong
    out = dict(spec)
    if out.get("Name") == "":
        del out["Name"]
    ca = out.get("CAConfig")
    if isinstance(ca, dict):
        for key, why in _UNSUPPORTED_CA.items():
            if ca.get(key):
                raise HttpError(400, f"invalid swarm spec: CAConfig.{key}: {why}")
        out["CAConfig"] = {k: v for k, v in ca.items() if k not in _UNSUPPORTED_CA}
    for section, zeros in _DEFAULT_ZEROS.items():
        values = out.get(section)
        if isinstance(values, dict):
            out[section] = {k: v for k, v in values.items() if not (k in zeros and v == 0)}
    defaults = out.get("TaskDefaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("LogDriver"), dict) \
            and not defaults["LogDriver"].get("Name"):
        out["TaskDefaults"] = {k: v for k, v in defaults.items() if k != "LogDriver"}
    return {k: v for k, v in out.items() if v != {} or k == "Labels"}


def node_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A Docker NodeSpec as swarmlet's node update takes it. Docker replaces the whole
    spec, so a spec without labels means none; an empty role or availability (a Go zero,
    which Docker refuses) keeps the current one."""
    out = {k: v for k, v in spec.items() if not (k in ("Name", "Role", "Availability")
                                                  and v == "")}
    out.setdefault("Labels", {})
    return out


def init_settings(body: dict[str, Any]) -> dict[str, Any]:
    """An InitRequest's settings: refused where swarmlet cannot do what it asks."""
    _data_path(body)
    spec = swarm_spec(body.get("Spec") or {})
    if body.get("AutoLockManagers"):
        encryption = spec.get("EncryptionConfig") if isinstance(spec, dict) else None
        spec = {**spec, "EncryptionConfig": {**(encryption or {}), "AutoLockManagers": True}}
    return {"advertise_addr": body.get("AdvertiseAddr") or None,
            "listen_addr": body.get("ListenAddr") or None,
            "force_new_cluster": bool(body.get("ForceNewCluster")),
            "spec": spec or None,
            # Go's zeros are "the default": the node's init checks the rest (Docker's texts).
            "pools": (body.get("DefaultAddrPool") or None, body.get("SubnetSize") or None),
            "data_path_port": body.get("DataPathPort") or None}


def join_settings(body: dict[str, Any]) -> dict[str, Any]:
    _data_path(body)
    return {"token": body["JoinToken"], "remote_addrs": body["RemoteAddrs"],
            "advertise_addr": body.get("AdvertiseAddr") or None,
            "listen_addr": body.get("ListenAddr") or None,
            "availability": body.get("Availability") or "active"}


def _data_path(body: dict[str, Any]) -> None:
    if body.get("DataPathAddr"):
        raise HttpError(400, "DataPathAddr is not supported: swarmlet's overlay traffic uses "
                             "the advertise address")


# --- out ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def tls_info(trust_root: str) -> dict[str, str]:
    """Docker's TLSInfo of a root CA certificate (PEM): the issuer's subject and public
    key, base64 DER. (The crypto library: only managers load it, and they answer this.)"""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    info = {"TrustRoot": trust_root}
    try:
        cert = x509.load_pem_x509_certificate(trust_root.encode())
    except ValueError:
        return info
    key = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    info["CertIssuerSubject"] = base64.b64encode(cert.subject.public_bytes()).decode()
    info["CertIssuerPublicKey"] = base64.b64encode(key).decode()
    return info


def swarm_view(swarm: dict[str, Any]) -> dict[str, Any]:
    trust_root = (swarm.get("TLSInfo") or {}).get("TrustRoot")
    if trust_root:
        swarm = {**swarm, "TLSInfo": tls_info(trust_root)}
    return swarm


def node_view(node: dict[str, Any], trust_root: str | None) -> dict[str, Any]:
    """A node as Docker shows it: its description carries the swarm's TLSInfo."""
    if not trust_root:
        return node
    description = {**(node.get("Description") or {}), "TLSInfo": tls_info(trust_root)}
    return {**node, "Description": description}


# --- GET /nodes?filters= -------------------------------------------------------------------

def node_matcher(filters: Filters) -> Any:
    """A predicate over nodes for Docker's node filters (daemon/cluster/filters.go and
    SwarmKit's ListNodes): id and name are prefixes (name of the hostname), label matches
    the engine's labels, node.label the node's own, role and membership are exact."""
    roles = _values(filters, "role", ("manager", "worker"))
    memberships = _values(filters, "membership", ("accepted", "pending"))

    def matches(node: dict[str, Any]) -> bool:
        spec = node.get("Spec") or {}
        description = node.get("Description") or {}
        names = [n for n in (description.get("Hostname"), spec.get("Name")) if n]
        return (filters.any_prefix("id", node.get("ID", ""))
                and (not filters.get("name")
                     or any(filters.any_prefix("name", n) for n in names))
                and filters.labels_match("label", (description.get("Engine") or {})
                                         .get("Labels"))
                and filters.labels_match("node.label", spec.get("Labels"))
                and (not roles or spec.get("Role") in roles)
                and (not memberships or "accepted" in memberships))

    return matches


def _values(filters: Filters, key: str, allowed: tuple[str, ...]) -> list[str]:
    values = []
    for value in filters.get(key):
        if value.lower() in allowed:
            values.append(value.lower())
        elif value:
            raise HttpError(400, f"Invalid {key} filter: '{value}'")
    return values
