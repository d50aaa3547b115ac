# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure helpers of swarm_init: the swarm spec options and their comparison, join tokens and
the CA digest they pin, and the censoring of tokens in what the module returns.

Standard library only and no I/O, so that tests/unit can test them without a swarm.
"""

from __future__ import annotations

import copy
import hashlib
import re

from ansible_collections.swarmlet.swarm.plugins.module_utils._paths import get_path, set_path

# Option name -> path in the swarm's Spec (Docker's SwarmSpec, as the agent stores it).
SPEC_OPTIONS = (
    ("name", ("Name",)),
    ("labels", ("Labels",)),
    ("task_history_retention_limit", ("Orchestration", "TaskHistoryRetentionLimit")),
    ("snapshot_interval", ("Raft", "SnapshotInterval")),
    ("keep_old_snapshots", ("Raft", "KeepOldSnapshots")),
    ("log_entries_for_slow_followers", ("Raft", "LogEntriesForSlowFollowers")),
    ("heartbeat_tick", ("Raft", "HeartbeatTick")),
    ("election_tick", ("Raft", "ElectionTick")),
    ("dispatcher_heartbeat_period", ("Dispatcher", "HeartbeatPeriod")),
    ("node_cert_expiry", ("CAConfig", "NodeCertExpiry")),
    ("autolock_managers", ("EncryptionConfig", "AutoLockManagers")),
    ("ca_force_rotate", ("CAConfig", "ForceRotate")),
)
# Options of POST /swarm/init only (never compared afterwards, as community.docker's):
# option -> the init request's field
INIT_OPTIONS = (("default_addr_pool", "DefaultAddrPool"), ("subnet_size", "SubnetSize"),
                ("data_path_port", "DataPathPort"))
POSITIVE = ("snapshot_interval", "heartbeat_tick", "election_tick",
            "dispatcher_heartbeat_period", "node_cert_expiry")
NOT_NEGATIVE = ("task_history_retention_limit", "keep_old_snapshots",
                "log_entries_for_slow_followers")

CENSORED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

TOKEN_PREFIX = "SWMTKN"
TOKEN_VERSION = "1"
DIGEST_LENGTH = 50
SECRET_LENGTH = 25
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


# --- labels ---------------------------------------------------------------------------------


def normalize_labels(labels, option="labels"):
    """Label values as the API takes them (strings). Numbers become strings; other types
    (booleans, lists, mappings, null) raise ValueError naming the key."""
    if labels is None:
        return None
    result = {}
    for key, value in labels.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(
                f"{option}: the value of label '{key}' must be a string, got "
                f"{type(value).__name__} {value!r} (quote it in YAML)")
        result[str(key)] = value if isinstance(value, str) else str(value)
    return result


# --- the swarm spec -------------------------------------------------------------------------


def check_spec_params(params):
    """An error message for a spec option out of range, or None."""
    for name in POSITIVE:
        if params.get(name) is not None and params[name] <= 0:
            return f"{name} must be greater than 0, got {params[name]}"
    for name in NOT_NEGATIVE:
        if params.get(name) is not None and params[name] < 0:
            return f"{name} must not be negative, got {params[name]}"
    heartbeat, election = params.get("heartbeat_tick"), params.get("election_tick")
    if heartbeat is not None and election is not None and election <= heartbeat:
        return (f"election_tick ({election}) must be greater than heartbeat_tick "
                f"({heartbeat})")
    return None


def requested_spec_options(params):
    """The spec options the user set (unset ones are not compared), labels normalized."""
    wanted = {}
    for name, _path in SPEC_OPTIONS:
        value = params.get(name)
        if value is None:
            continue
        wanted[name] = normalize_labels(value) if name == "labels" else value
    return wanted


def spec_update(current_spec, wanted):
    """The new spec (the current one with the wanted options set) and the differences, as
    (option, wanted, current) triples. ``labels: {}`` clears the labels; a label set
    compares as a whole."""
    new_spec = copy.deepcopy(current_spec or {})
    differences = []
    for name, path in SPEC_OPTIONS:
        if name not in wanted:
            continue
        current = get_path(current_spec or {}, path)
        if name == "labels":
            current = current or {}
        if name == "ca_force_rotate":
            current = current or 0
        if wanted[name] != current:
            differences.append((name, wanted[name], current))
            set_path(new_spec, path, wanted[name])
    return new_spec, differences


def init_request_fields(params):
    """The fields of POST /swarm/init the init-only options give (the address pools, the
    subnet size, the data path port)."""
    return dict((field, params[name]) for name, field in INIT_OPTIONS
                if params.get(name) is not None)


def signing_ca(params):
    """CAConfig's SigningCACert/Key from signing_ca_cert/signing_ca_key (PEM contents), or
    None; one without the other raises ValueError."""
    cert, key = params.get("signing_ca_cert"), params.get("signing_ca_key")
    if not cert and not key:
        return None
    if not cert or not key:
        raise ValueError("signing_ca_cert and signing_ca_key must be given together")
    return {"SigningCACert": cert, "SigningCAKey": key}


def same_ca(cert, trust_root):
    """Whether a PEM certificate is the swarm's root CA (TLSInfo.TrustRoot)."""
    return (cert or "").strip() == (trust_root or "").strip()


def init_only_spec(wanted):
    """What POST /swarm/init takes of the spec (the heartbeat period, autolock); the rest is
    set by an update right after."""
    spec = {}
    if wanted.get("dispatcher_heartbeat_period") is not None:
        spec["Dispatcher"] = {"HeartbeatPeriod": wanted["dispatcher_heartbeat_period"]}
    if wanted.get("autolock_managers"):
        spec["EncryptionConfig"] = {"AutoLockManagers": True}
    if wanted.get("ca_force_rotate"):  # a later change of it is refused (no CA rotation)
        spec["CAConfig"] = {"ForceRotate": wanted["ca_force_rotate"]}
    return spec or None


# --- join tokens ----------------------------------------------------------------------------


def _base36(number):
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_BASE36[rest])
    return "".join(reversed(digits)) or "0"


def ca_digest(ca_pem):
    """The CA digest a join token pins: SHA-256 of the root CA's PEM bytes in base 36, padded
    to 50 characters (Docker's format, agent/swarmlet/ca/tokens.py)."""
    if isinstance(ca_pem, str):
        ca_pem = ca_pem.encode("utf-8")
    number = int.from_bytes(hashlib.sha256(ca_pem).digest(), "big")
    return _base36(number).rjust(DIGEST_LENGTH, "0")


def parse_join_token(token):
    """(ca_digest, secret) of a ``SWMTKN-1-<digest>-<secret>`` token; ValueError with the
    agent's wording otherwise. The message never contains the token."""
    parts = (token or "").strip().split("-")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
        raise ValueError("invalid join token: expected SWMTKN-1-<CA digest>-<secret>")
    if parts[1] != TOKEN_VERSION:
        raise ValueError(f"invalid join token: unsupported version {parts[1]!r}")
    digest, secret = parts[2], parts[3]
    if len(digest) != DIGEST_LENGTH or not re.match(r"^[0-9a-z]+$", digest):
        raise ValueError("invalid join token: malformed CA digest")
    if len(secret) != SECRET_LENGTH or not re.match(r"^[0-9a-z]+$", secret):
        raise ValueError("invalid join token: malformed secret")
    return digest, secret


def token_matches_ca(token, ca_pem):
    """Whether a (well-formed) token belongs to the swarm of this root CA."""
    return parse_join_token(token)[0] == ca_digest(ca_pem)


def data_dir_from_config(text, default="/var/lib/swarmlet"):
    """``data_dir`` of the agent's config file (/etc/swarmlet/swarmlet.yml), read without a
    YAML parser: the key is a top-level scalar."""
    for line in (text or "").splitlines():
        match = re.match(r"^data_dir:\s*(.*?)\s*(#.*)?$", line)
        if match and match.group(1):
            return match.group(1).strip("'\"")
    return default


# --- what is returned -----------------------------------------------------------------------


def swarm_facts(inspect, censor=False):
    """The swarm inspect as swarm_facts (with ``UnlockKey``: null unless the caller set it);
    the join tokens censored when ``censor`` (a join_token was passed)."""
    if not inspect:
        return {}
    facts = copy.deepcopy(inspect)
    facts.setdefault("UnlockKey", None)
    if censor and isinstance(facts.get("JoinTokens"), dict):
        facts["JoinTokens"] = dict((role, CENSORED) for role in facts["JoinTokens"])
    return facts
