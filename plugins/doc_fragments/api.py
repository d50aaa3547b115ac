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
      - If not set, the value of the E(SWARMLET_HOST) environment variable is used
        (not E(DOCKER_HOST), which names a Docker daemon).
      - The aliases are community.docker's names.
    type: str
    aliases: [host, docker_host, docker_url]
  ca_path:
    description:
      - The swarm's root CA certificate (PEM) to verify the manager with.
      - Required with a V(tcp://) O(swarmlet_host).
      - If not set, the value of the E(SWARMLET_CA_PATH) environment variable is used.
      - The aliases are community.docker's names.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  client_cert:
    description:
      - A client certificate issued by the swarm's CA, for example with
        C(swarmlet swarm ca client-cert --out DIR) on a manager.
      - If not set, the value of the E(SWARMLET_CLIENT_CERT) environment variable is used.
      - The aliases are community.docker's names.
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description:
      - The private key of O(client_cert).
      - If not set, the value of the E(SWARMLET_CLIENT_KEY) environment variable is used.
      - The aliases are community.docker's names.
    type: path
    aliases: [tls_client_key, key_path]
  tls:
    description:
      - community.docker's option, accepted so that its playbooks move over with few edits.
      - A V(tcp://) O(swarmlet_host) is always reached over mutual TLS, verified against
        O(ca_path); V(false) with such a host fails rather than connect another way.
        Not used with the local socket.
    type: bool
  validate_certs:
    description:
      - community.docker's option, accepted so that its playbooks move over with few edits.
      - The manager's certificate is always verified against O(ca_path); V(false) with a
        V(tcp://) O(swarmlet_host) fails rather than skip the check. Not used with the
        local socket.
    type: bool
    aliases: [tls_verify]
  timeout:
    description:
      - Seconds to wait for an answer of the agent.
    type: int
    default: 60
notes:
  - Host names of managers are not checked against their certificates (nodes are addressed
    by IP); trust comes from the swarm's root CA alone.
"""

    # Membership of the action group (meta/runtime.yml) that module_defaults can name.
    ACTIONGROUP_SWARM = r"""
attributes:
  action_group:
    description: Use C(group/swarmlet.swarm.swarm) in C(module_defaults) to set defaults
      for this module, for example the connection options, once for every swarmlet module.
    support: full
    membership:
      - swarmlet.swarm.swarm
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
