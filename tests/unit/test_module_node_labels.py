"""swarm_node's pure core: which labels, role and availability a node should get, and what
differs (module_utils/_node.py), following community.docker's docker_node."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils._node import (  # noqa: E402
    BOTH_LISTED,
    is_manager,
    node_spec_update,
    wanted_labels,
)


def node(labels=None, role="worker", availability="active", manager_status=None):
    n = {"ID": "n1", "Version": {"Index": 7},
         "Spec": {"Labels": labels if labels is not None else {}, "Role": role,
                  "Availability": availability},
         "Description": {"Hostname": "w1"}, "Status": {"State": "ready"}}
    if manager_status:
        n["ManagerStatus"] = manager_status
    return n


# --- labels ---------------------------------------------------------------------------------


def test_merge_adds_and_updates_and_keeps_the_others():
    labels, warnings = wanted_labels({"a": "1", "b": "2"}, {"b": "3", "c": "4"})
    assert labels == {"a": "1", "b": "3", "c": "4"}
    assert warnings == []


def test_merge_with_no_labels_keeps_everything():
    assert wanted_labels({"a": "1"}, None) == ({"a": "1"}, [])
    assert wanted_labels({"a": "1"}, {}) == ({"a": "1"}, [])


def test_replace_makes_the_set_exact():
    assert wanted_labels({"a": "1", "b": "2"}, {"b": "2", "c": "3"}, "replace")[0] == {
        "b": "2", "c": "3"}


def test_replace_without_labels_removes_all():
    assert wanted_labels({"a": "1"}, None, "replace")[0] == {}
    assert wanted_labels({"a": "1"}, {}, "replace")[0] == {}


def test_labels_to_remove_removes_present_keys_and_ignores_absent_ones():
    labels, warnings = wanted_labels({"a": "1", "b": "2"}, None, "merge", ["a", "zz"])
    assert labels == {"b": "2"}
    assert warnings == []


def test_labels_to_remove_removes_a_label_with_an_empty_value():
    # docker_node tests the value's truth and keeps such a label; we remove it.
    assert wanted_labels({"a": ""}, None, "merge", ["a"])[0] == {}


def test_a_key_both_assigned_and_removed_keeps_the_assigned_value_with_a_warning():
    labels, warnings = wanted_labels({"a": "1"}, {"a": "2"}, "merge", ["a"])
    assert labels == {"a": "2"}
    assert warnings == [BOTH_LISTED.format("a")]
    assert warnings[0] == ("Label 'a' listed both in 'labels' and 'labels_to_remove'. "
                           "Keeping the assigned label value.")


def test_replace_then_remove():
    labels, _ = wanted_labels({"a": "1"}, {"b": "2", "c": "3"}, "replace", ["c"])
    assert labels == {"b": "2", "c": "3"}  # c is assigned: kept, with a warning
    labels, _ = wanted_labels({"a": "1"}, {"b": "2"}, "replace", ["a"])
    assert labels == {"b": "2"}


def test_the_current_labels_are_not_modified():
    current = {"a": "1"}
    wanted_labels(current, {"b": "2"}, "merge", ["a"])
    assert current == {"a": "1"}


# --- the node spec --------------------------------------------------------------------------


def test_nothing_asked_nothing_differs():
    spec, differences, warnings = node_spec_update(node({"a": "1"}))
    assert differences == [] and warnings == []
    assert spec == node({"a": "1"})["Spec"]


def test_same_values_do_not_differ():
    _, differences, _ = node_spec_update(node({"a": "1"}), role="worker",
                                         availability="active", labels={"a": "1"})
    assert differences == []


def test_role_and_availability_differences():
    spec, differences, _ = node_spec_update(node(), role="manager", availability="drain")
    assert differences == [("role", "manager", "worker"), ("availability", "drain", "active")]
    assert spec["Role"] == "manager" and spec["Availability"] == "drain"


def test_label_difference_shows_the_whole_sets():
    spec, differences, _ = node_spec_update(node({"a": "1"}), labels={"b": "2"})
    assert differences == [("labels", {"a": "1", "b": "2"}, {"a": "1"})]
    assert spec["Labels"] == {"a": "1", "b": "2"}


def test_replace_of_no_labels_on_a_node_without_labels_does_not_differ():
    _, differences, _ = node_spec_update(node({}), labels_state="replace")
    assert differences == []
    _, differences, _ = node_spec_update(node(None), labels_state="replace")
    assert differences == []


def test_missing_labels_in_spec_count_as_empty():
    n = node()
    del n["Spec"]["Labels"]
    spec, differences, _ = node_spec_update(n, labels={"x": "y"})
    assert differences == [("labels", {"x": "y"}, {})]
    assert spec["Labels"] == {"x": "y"}


def test_removing_a_label_that_is_not_there_does_not_differ():
    _, differences, _ = node_spec_update(node({"a": "1"}), labels_to_remove=["b"])
    assert differences == []


def test_the_node_is_not_modified():
    n = node({"a": "1"})
    node_spec_update(n, role="manager", labels={"b": "2"})
    assert n == node({"a": "1"})


def test_is_manager_by_role_or_raft_membership():
    assert is_manager(node(role="manager"))
    assert is_manager(node(role="worker", manager_status={"Addr": "1.2.3.4:2377"}))
    assert not is_manager(node())
