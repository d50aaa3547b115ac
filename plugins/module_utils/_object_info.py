# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The body of the one-object info modules (swarm_service_info, swarm_network_info): one
object by name, ID or ID prefix from a manager, `exists` and the object (or null)."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._calls import get_or_none
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    api_argument_spec,
    client_for,
    require_manager,
)


def run_object_info(collection, result_key, shape=None):
    """`collection`: the API's path of the kind ("/services"); `shape`: how the object is
    returned (as it comes when None)."""
    argument_spec = dict(name=dict(type="str", required=True))
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = client_for(module)
    require_manager(module, client)
    try:
        found = get_or_none(client, f"{collection}/{module.params['name']}")
    except SwarmletAPIError as exc:
        module.fail_json(msg=exc.message)
    module.exit_json(changed=False, exists=found is not None,
                     **{result_key: shape(found) if shape else found})
