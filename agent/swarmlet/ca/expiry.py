"""How long node certificates live: the swarm spec's CAConfig.NodeCertExpiry (nanoseconds),
Docker's default 90 days and minimum 1 hour (`swarm update --cert-expiry`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from swarmlet.errors import SwarmletError

NANOSECOND = 1e-9
DEFAULT_NODE_CERT_EXPIRY = timedelta(days=90)
# Certificates start an hour in the past so a node whose clock lags still accepts them.
BACKDATE = timedelta(hours=1)
MIN_NODE_CERT_EXPIRY = timedelta(hours=1)
TOO_SHORT = "minimum certificate expiry time is 1h0m0s"  # Docker's message


def check_cert_expiry(expiry: timedelta) -> timedelta:
    """A requested lifetime, or Docker's error when it is under the minimum."""
    if expiry < MIN_NODE_CERT_EXPIRY:
        raise SwarmletError(TOO_SHORT)
    return expiry


def node_cert_validity(cluster_spec: dict[str, Any]) -> timedelta:
    """The lifetime of certificates issued now. A value the spec should never hold (absent,
    not a number, under the minimum) gives the default or the minimum, so that joins and
    renewals keep working whatever was stored."""
    value = (cluster_spec.get("CAConfig") or {}).get("NodeCertExpiry")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return DEFAULT_NODE_CERT_EXPIRY
    return max(timedelta(seconds=value * NANOSECOND), MIN_NODE_CERT_EXPIRY)
