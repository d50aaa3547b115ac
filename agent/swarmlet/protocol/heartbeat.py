"""The heartbeat's timing, which both sides must agree on (SwarmKit's dispatcher defaults)."""

from __future__ import annotations

GRACE_PERIODS = 3  # a node silent this many heartbeat periods is marked down


def heartbeat_timeout(period: float) -> float:
    """How long a node waits for one manager to answer a heartbeat."""
    return max(period, 3.0)
