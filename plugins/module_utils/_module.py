# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What every swarmlet module shares: the connection options, the client, failing clearly,
and the before/after record that becomes ``diff``."""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import (
    SwarmletAPIError,
    SwarmletClient,
)

NOT_A_MANAGER = "Error running swarmlet module: must run on a swarm manager node"


def api_argument_spec():
    """The connection options (doc fragment swarmlet.swarm.api). The aliases are
    community.docker's names, so a playbook moves over with few edits."""
    return dict(
        swarmlet_host=dict(type="str", aliases=["host", "docker_host", "docker_url"],
                           fallback=(env_fallback, ["SWARMLET_HOST"])),
        ca_path=dict(type="path", aliases=["ca_cert", "tls_ca_cert", "cacert_path"],
                     fallback=(env_fallback, ["SWARMLET_CA_PATH"])),
        client_cert=dict(type="path", aliases=["tls_client_cert", "cert_path"],
                         fallback=(env_fallback, ["SWARMLET_CLIENT_CERT"])),
        client_key=dict(type="path", aliases=["tls_client_key", "key_path"],
                        fallback=(env_fallback, ["SWARMLET_CLIENT_KEY"])),
        tls=dict(type="bool"),
        validate_certs=dict(type="bool", aliases=["tls_verify"]),
        timeout=dict(type="int", default=60),
    )


def connect(params):
    """The client the connection options describe; SwarmletAPIError for a bad option."""
    host = params["swarmlet_host"]
    if host and urlsplit(host).scheme in ("tcp", "https"):
        # community.docker's tls/validate_certs pick plain TCP or unverified TLS; a manager's
        # cluster port speaks mutual TLS only, verified against the swarm's CA.
        for name in ("tls", "validate_certs"):
            if params.get(name) is False:
                raise SwarmletAPIError(
                    f"{name}: false is not supported: swarmlet_host {host} is reached over "
                    "mutual TLS only, verified against the swarm's root CA (ca_path); "
                    f"leave {name} out or set it to true")
    return SwarmletClient(host, params["ca_path"], params["client_cert"],
                          params["client_key"], params["timeout"])


def client_for(module):
    """The client the connection options describe; a bad option fails the module."""
    try:
        return connect(module.params)
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
