"""The nftables table that keeps non-managers off a manager's Raft port (net/raft_guard.py)."""

from __future__ import annotations

from swarmlet.net.raft_guard import TABLE, member_hosts, ruleset


def test_the_members_addresses_are_admitted_and_the_rest_dropped():
    text = ruleset(2378, ["198.18.0.3:2378", "198.18.0.2:2378", "[fd00::5]:2378"])
    assert text is not None
    assert text.startswith(f"table inet {TABLE}\ndelete table inet {TABLE}\n")
    assert "elements = { 198.18.0.2, 198.18.0.3 }" in text
    assert "elements = { fd00::5 }" in text
    lines = [line.strip() for line in text.splitlines()]
    assert lines.index("tcp dport 2378 drop") > lines.index(
        "tcp dport 2378 ip saddr @members4 accept")
    assert 'tcp dport 2378 iifname "lo" accept' in lines


def test_a_member_named_by_host_name_turns_the_guard_off():
    assert member_hosts(["manager1:2378"]) is None
    assert ruleset(2378, ["198.18.0.2:2378", "manager1:2378"]) is None


def test_no_ipv6_member_leaves_an_empty_set():
    text = ruleset(2378, ["198.18.0.2:2378"])
    assert text is not None and "set members6 { type ipv6_addr; }" in text
