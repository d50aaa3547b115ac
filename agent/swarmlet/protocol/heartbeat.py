"""The heartbeat's timing, which both sides must agree on.

Docker's HeartbeatPeriod (default 5 s) is kept as the setting, but a node beats five times
per period (at least every 0.5 s) and is marked down once it has been silent for 0.7 of a
period (at least 3 s): a machine that loses power has its tasks replaced in about 4 s at the
default, where Docker Swarm waits 3 periods (15 s). A beat costs one small request on a
kept-alive connection. An agent that stops on purpose (SIGTERM: an upgrade, a restart) says
so in a last beat and gets RESTART_GRACE_PERIODS periods to come back before its tasks are
replaced, as Docker's slower detection would give it.

Beats are spread by cluster size: the leader takes at most MAX_BEATS_PER_SECOND, so in a
large swarm each node beats less often (the leader says how often in its answers) and is
given proportionally longer (at 5,000 nodes: every 5 s, down after 17.5 s — Docker's pace).
"""

from __future__ import annotations

BEATS_PER_PERIOD = 5
MIN_BEAT_INTERVAL = 0.5
DOWN_AFTER_PERIODS = 0.7
MIN_DOWN_AFTER = 3.0
RESTART_GRACE_PERIODS = 3
MAX_BEATS_PER_SECOND = 1000
MISSED_BEATS = 3.5  # at a scaled interval: beats a node may miss before it is down


def beat_interval(period: float, nodes: int = 0) -> float:
    """How often each of `nodes` nodes beats."""
    base = min(period, max(period / BEATS_PER_PERIOD, MIN_BEAT_INTERVAL))
    return max(base, nodes / MAX_BEATS_PER_SECOND)


def down_after(period: float, nodes: int = 0) -> float:
    """How long a node may be silent before it is marked down."""
    return max(period * DOWN_AFTER_PERIODS, MIN_DOWN_AFTER,
               MISSED_BEATS * beat_interval(period, nodes))


def restart_grace(period: float) -> float:
    """How long a node that said it is restarting may be silent."""
    return max(period * RESTART_GRACE_PERIODS, down_after(period))


def heartbeat_timeout(period: float) -> float:
    """How long a node waits for one manager to answer a beat: within the time it may be
    silent, so that a dead leader costs one try, not the node's place."""
    return max(min(period, down_after(period) / 2), 1.5)
