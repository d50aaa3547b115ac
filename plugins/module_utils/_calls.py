# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""API calls that wait out a swarm without a leader for a moment (an election, a manager
joining Raft: the agent answers 503) instead of failing the task."""

from __future__ import annotations

import time

from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError

NO_LEADER_WAIT = 10  # seconds


def patiently(method, *args, **query):
    """``method(*args, **query)``, retried while the agent answers 503, for NO_LEADER_WAIT."""
    deadline = time.monotonic() + NO_LEADER_WAIT
    while True:
        try:
            return method(*args, **query)
        except SwarmletAPIError as exc:
            if exc.status != 503 or time.monotonic() > deadline:
                raise
        time.sleep(1)


def get_or_none(client, path):
    """GET ``path``; None when it is not found (404)."""
    try:
        return patiently(client.get, path)
    except SwarmletAPIError as exc:
        if exc.status == 404:
            return None
        raise
