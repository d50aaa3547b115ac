# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure helpers of swarm_node: the node spec the options ask for, and what differs.

Standard library only and no I/O, so that tests/unit can test them without a swarm.
"""

from __future__ import annotations

import copy

BOTH_LISTED = ("Label '{0}' listed both in 'labels' and 'labels_to_remove'. "
               "Keeping the assigned label value.")


def wanted_labels(current, labels=None, labels_state="merge", labels_to_remove=None):
    """The node labels the options ask for, and warnings, as community.docker's docker_node
    decides them:

    - merge: the given labels are added or updated; the others stay;
    - replace: the set becomes exactly the given labels (none given: no labels at all);
    - labels_to_remove: these keys go, unless also given in ``labels`` (that value is kept,
      with a warning). A key that is not there is ignored; a key whose value is empty is
      removed too (docker_node keeps it).
    """
    current = dict(current or {})
    warnings = []
    if labels_state == "replace":
        result = dict(labels or {})
    else:
        result = dict(current)
        result.update(labels or {})
    for key in labels_to_remove or []:
        if labels is not None and key in labels:
            warnings.append(BOTH_LISTED.format(key))
        else:
            result.pop(key, None)
    return result, warnings


def node_spec_update(node, role=None, availability=None, labels=None, labels_state="merge",
                     labels_to_remove=None):
    """(new spec, differences as (name, wanted, current) triples, warnings) for a node
    inspect. Unset options keep their current values."""
    spec = node.get("Spec") or {}
    new_spec = copy.deepcopy(spec)
    differences = []
    for name, key, value in (("role", "Role", role),
                             ("availability", "Availability", availability)):
        if value is not None and value != spec.get(key):
            differences.append((name, value, spec.get(key)))
            new_spec[key] = value
    warnings = []
    if labels is not None or labels_state == "replace" or labels_to_remove:
        current = spec.get("Labels") or {}
        new_labels, warnings = wanted_labels(current, labels, labels_state, labels_to_remove)
        if new_labels != current:
            differences.append(("labels", new_labels, dict(current)))
        new_spec["Labels"] = new_labels
    return new_spec, differences, warnings


def node_hostname(node):
    return ((node or {}).get("Description") or {}).get("Hostname", "")


def is_manager(node):
    """Whether the node is (or still is) a manager: its desired role, or a Raft membership
    that has not been reconciled away yet."""
    return (node.get("Spec") or {}).get("Role") == "manager" or bool(node.get("ManagerStatus"))
