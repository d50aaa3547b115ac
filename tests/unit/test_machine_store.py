"""Pure parts of `swarmlet machine`: names, address allocation, inventory."""

from __future__ import annotations

import pytest

from swarmlet.errors import SwarmletError
from swarmlet.machine.inventory import build_inventory
from swarmlet.machine.names import check_name
from swarmlet.machine.processes import process_start_time
from swarmlet.machine.store import Machine, MachineStore, host_addresses


@pytest.mark.parametrize("name", ["m1", "manager1", "Worker-2", "a", "x" * 63, "0"])
def test_hostnames_are_valid_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", "a-", "a_b", "a.b", "x" * 64, "a b", "ü"])
def test_names_that_are_not_hostnames_are_refused(name):
    with pytest.raises(SwarmletError, match="Invalid machine name"):
        check_name(name)


def test_addresses_are_the_lowest_free_on_the_underlay(tmp_path):
    store = MachineStore(tmp_path)
    assert host_addresses()[0] == "198.18.0.2" and host_addresses()[-1] == "198.18.0.254"
    assert len(host_addresses()) == 253
    store.save(Machine("a", "198.18.0.2"))
    store.save(Machine("c", "198.18.0.4"))
    assert store.allocate(2, in_use_elsewhere={"198.18.0.3"}) == ["198.18.0.5", "198.18.0.6"]
    assert [m.name for m in store.all()] == ["a", "c"]


def test_a_full_underlay_is_a_clear_error(tmp_path):
    store = MachineStore(tmp_path)
    with pytest.raises(SwarmletError, match=r"holds 253 machines and only 252 address\(es\)"):
        store.allocate(253, in_use_elsewhere={"198.18.0.9"})


def test_unknown_machine_is_docker_machines_error(tmp_path):
    with pytest.raises(SwarmletError, match='Host does not exist: "nope"'):
        MachineStore(tmp_path).get("nope")


def test_inventory_puts_the_first_n_in_managers(tmp_path):
    store = MachineStore(tmp_path)
    machines = [Machine(f"m{i}", f"198.18.0.{i + 2}") for i in range(3)]
    inv = build_inventory(store, machines, managers=2)["all"]
    assert inv["children"]["managers"]["hosts"] == {
        "m0": {"ansible_host": "198.18.0.2"}, "m1": {"ansible_host": "198.18.0.3"}}
    assert list(inv["children"]["workers"]["hosts"]) == ["m2"]
    assert inv["vars"]["ansible_user"] == "root"
    assert inv["vars"]["ansible_become"] is False  # root already; no sudo on the machines
    assert "StrictHostKeyChecking=yes" in inv["vars"]["ansible_ssh_common_args"]
    with pytest.raises(SwarmletError, match="more managers than the 3"):
        build_inventory(store, machines, managers=4)


def test_start_time_names_a_process(tmp_path):
    import os

    assert process_start_time(os.getpid()).isdigit()
    assert process_start_time(2**22 + 12345) is None
