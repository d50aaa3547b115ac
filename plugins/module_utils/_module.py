# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What every swarmlet module shares: the connection options, the client, failing clearly,
and the before/after record that becomes ``diff``."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import (
    SwarmletAPIError,
    SwarmletClient,
)

NOT_A_MANAGER = "Error running swarmlet module: must run on a swarm manager node"


def api_argument_spec():
    """The connection options (doc fragment swarmlet.swarm.api)."""
    return dict(
        swarmlet_host=dict(type="str", aliases=["host"],
                           fallback=(env_fallback, ["SWARMLET_HOST"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["SWARMLET_CA_PATH"])),
        client_cert=dict(type="path", fallback=(env_fallback, ["SWARMLET_CLIENT_CERT"])),
        client_key=dict(type="path", fallback=(env_fallback, ["SWARMLET_CLIENT_KEY"])),
        timeout=dict(type="int", default=60),
    )


def client_for(module):
    """The client the connection options describe; a bad option fails the module."""
    p = module.params
    try:
        return SwarmletClient(p["swarmlet_host"], p["ca_path"], p["client_cert"],
                              p["client_key"], p["timeout"])
    except SwarmletAPIError as exc:
        module.fail_json(msg=exc.message)


def require_manager(module, client):
    """Fail with the standard message unless the agent we talk to is a manager."""
    try:
        info = client.local_info()
    except SwarmletAPIError as exc:
        module.fail_json(msg=exc.message)
    if info is None:  # a remote manager: the TLS handshake vouched for its role
        return
    if info.get("LocalNodeState") != "active":
        module.fail_json(msg="This node is not part of a swarm.")
    if not info.get("ControlAvailable"):
        module.fail_json(msg=NOT_A_MANAGER)


class Differences:
    """(name, wanted, current) records: ``changes`` lists the names, ``diff`` shows them."""

    def __init__(self):
        self._items = []

    def add(self, name, wanted, current):
        self._items.append((name, wanted, current))

    def compare(self, name, wanted, current):
        """Record and return whether an option the user gave differs from the current value."""
        if wanted is not None and wanted != current:
            self.add(name, wanted, current)
            return True
        return False

    def __bool__(self):
        return bool(self._items)

    __nonzero__ = __bool__

    @property
    def names(self):
        return [item[0] for item in self._items]

    def diff(self):
        return {
            "before": dict((name, current) for name, _wanted, current in self._items),
            "after": dict((name, wanted) for name, wanted, _current in self._items),
        }
