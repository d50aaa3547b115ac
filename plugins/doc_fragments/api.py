# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    # How a module reaches swarmletd.
    DOCUMENTATION = r"""
options:
  swarmlet_host:
    description:
      - The agent to talk to.
      - V(unix:///run/swarmlet/swarmlet.sock), the default, is the agent of the host the
        module runs on (root only).
      - V(tcp://HOST:2377) is a manager's cluster port, reached over mutual TLS with
        O(ca_path), O(client_cert) and O(client_key).
      - If not set, the value of the E(SWARMLET_HOST) environment variable is used.
    type: str
    aliases: [host]
  ca_path:
    description:
      - The swarm's root CA certificate (PEM) to verify the manager with.
      - Required with a V(tcp://) O(swarmlet_host).
      - If not set, the value of the E(SWARMLET_CA_PATH) environment variable is used.
    type: path
  client_cert:
    description:
      - A client certificate issued by the swarm's CA, for example with
        C(swarmlet swarm ca client-cert --out DIR) on a manager.
      - If not set, the value of the E(SWARMLET_CLIENT_CERT) environment variable is used.
    type: path
  client_key:
    description:
      - The private key of O(client_cert).
      - If not set, the value of the E(SWARMLET_CLIENT_KEY) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for an answer of the agent.
    type: int
    default: 60
notes:
  - Host names of managers are not checked against their certificates (nodes are addressed
    by IP); trust comes from the swarm's root CA alone.
"""

    # The module attributes every swarmlet module shares.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without
      modifying the swarm.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in
      check mode), when in diff mode.
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports
      no change.
"""
