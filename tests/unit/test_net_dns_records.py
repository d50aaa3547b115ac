"""What the node's resolver answers (net/dns_records.py, pure), from the "Services" the
manager sends (manager/dispatcher/assignment_services.py) and the node's own tasks; and the
hook in the
dataplane that keeps the listeners on the networks programmed here."""

from __future__ import annotations

from swarmlet.manager.dispatcher.assignment_services import node_services
from swarmlet.net import dns_records as R

FRONT, BACK, INGRESS = "front0000000", "back00000000", "ingress00000"


def service(sid, name, networks, vips=(), mode=None, ports=()):
    """A store Service: `networks` [(network ID, [aliases])]."""
    spec = {"Name": name, "TaskTemplate": {"Networks": [
        {"Target": n, "Aliases": list(a)} for n, a in networks]}}
    if mode:
        spec["EndpointSpec"] = {"Mode": mode}
    return {"ID": sid, "Spec": spec,
            "Endpoint": {"VirtualIPs": [{"NetworkID": n, "Addr": a} for n, a in vips],
                         "Ports": [dict(p) for p in ports]}}


def task(tid, sid, addrs, state="running", desired="running"):
    return {"ID": tid, "ServiceID": sid, "DesiredState": desired, "Status": {"State": state},
            "NetworksAttachments": [{"Network": {"ID": n}, "Addresses": [a]}
                                    for n, a in addrs]}


SERVICES = [
    service("s1", "web", [(FRONT, ["www", "site"])], vips=[(FRONT, "10.0.1.2/24")]),
    service("s2", "db", [(BACK, [])], vips=[(BACK, "10.0.2.2/24")]),
    service("s3", "cache", [(FRONT, [])], mode="dnsrr"),
    service("s4", "api", [(FRONT, []), (BACK, ["backend"])],
            vips=[(FRONT, "10.0.1.3/24"), (BACK, "10.0.2.3/24")]),
]
TASKS = [
    task("w1", "s1", [(FRONT, "10.0.1.10/24")]),
    task("w2", "s1", [(FRONT, "10.0.1.11/24")]),
    task("w3", "s1", [(FRONT, "10.0.1.12/24")], state="starting"),  # not yet an answer
    task("w4", "s1", [(FRONT, "10.0.1.13/24")], desired="shutdown"),  # leaving
    task("d1", "s2", [(BACK, "10.0.2.10/24")]),
    task("c1", "s3", [(FRONT, "10.0.1.20/24")]),
    task("c2", "s3", [(FRONT, "10.0.1.21/24")]),
    task("a1", "s4", [(FRONT, "10.0.1.30/24"), (BACK, "10.0.2.30/24")]),
]
WEB_TASK, DB_TASK, API_TASK = "10.0.1.10", "10.0.2.10", "10.0.1.30"


def records(network_ids=(FRONT, BACK, INGRESS), local=TASKS) -> R.Records:
    return R.build(node_services(set(network_ids), SERVICES, TASKS, INGRESS), local)


def ask(recs, name, asker, qtype="A"):
    answer = recs.answer(name, qtype, asker, shuffle=False)
    return answer.kind, sorted(answer.addresses)


# --- the contract -----------------------------------------------------------------------

def test_services_carry_mode_networks_aliases_and_task_addresses():
    by_name = {s["Name"]: s for s in node_services({FRONT, INGRESS}, SERVICES, TASKS,
                                                   INGRESS)}
    assert set(by_name) == {"web", "cache", "api"}  # db is only on back, not here
    web = by_name["web"]
    assert web["EndpointMode"] == "vip"
    assert web["Networks"] == [{"NetworkID": FRONT, "Aliases": ["www", "site"]}]
    assert web["Backends"] == [{"NetworkID": FRONT, "IP": "10.0.1.10"},
                               {"NetworkID": FRONT, "IP": "10.0.1.11"}]
    cache = by_name["cache"]  # dnsrr: no VIP, still sent (for DNS), with its tasks
    assert cache["EndpointMode"] == "dnsrr" and cache["VirtualIPs"] == []
    assert [b["IP"] for b in cache["Backends"]] == ["10.0.1.20", "10.0.1.21"]
    api = by_name["api"]  # only the networks of this node
    assert api["Networks"] == [{"NetworkID": FRONT, "Aliases": []}]
    assert api["VirtualIPs"] == [{"NetworkID": FRONT, "Addr": "10.0.1.3/24"}]
    assert api["Backends"] == [{"NetworkID": FRONT, "IP": "10.0.1.30"}]


def test_the_fields_the_balancer_uses_are_unchanged():
    port = {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
            "PublishMode": "ingress"}
    published = service("s9", "pub", [], vips=[(INGRESS, "10.0.0.2/24")], ports=[port])
    tasks = [task("p1", "s9", [(INGRESS, "10.0.0.5/24")])]
    [pub] = node_services({INGRESS}, [published], tasks, INGRESS)
    assert pub["VirtualIPs"] == [{"NetworkID": INGRESS, "Addr": "10.0.0.2/24"}]
    assert pub["Backends"] == [{"NetworkID": INGRESS, "IP": "10.0.0.5"}]
    assert pub["Ports"] == [port] and pub["Networks"] == []


def test_endpoint_mode_from_the_allocated_endpoint_when_the_spec_has_none():
    svc = service("s1", "x", [(FRONT, [])])
    svc["Endpoint"]["Spec"] = {"Mode": "dnsrr"}
    [entry] = node_services({FRONT}, [svc], [], None)
    assert entry["EndpointMode"] == "dnsrr"


# --- the answers ----------------------------------------------------------------------

def test_service_name_is_its_vip_and_tasks_name_its_running_tasks():
    recs = records()
    assert ask(recs, "web", WEB_TASK) == (R.RECORDS, ["10.0.1.2"])
    assert ask(recs, "web.", WEB_TASK) == (R.RECORDS, ["10.0.1.2"])
    assert ask(recs, "WEB", WEB_TASK) == (R.RECORDS, ["10.0.1.2"])
    assert ask(recs, "tasks.web", WEB_TASK) == (R.RECORDS, ["10.0.1.10", "10.0.1.11"])


def test_dnsrr_name_is_its_tasks():
    recs = records()
    assert ask(recs, "cache", WEB_TASK) == (R.RECORDS, ["10.0.1.20", "10.0.1.21"])
    assert ask(recs, "tasks.cache", WEB_TASK) == (R.RECORDS, ["10.0.1.20", "10.0.1.21"])


def test_aliases_resolve_like_the_name():
    recs = records()
    for alias in ("www", "site"):
        assert ask(recs, alias, WEB_TASK) == (R.RECORDS, ["10.0.1.2"])
        assert ask(recs, f"tasks.{alias}", WEB_TASK) == (R.RECORDS,
                                                          ["10.0.1.10", "10.0.1.11"])
    # an alias is per network: `backend` is api's name on back only
    assert ask(recs, "backend", WEB_TASK) == (R.FORWARD, [])
    assert ask(recs, "backend", DB_TASK) == (R.RECORDS, ["10.0.2.3"])


def test_only_services_on_a_network_the_asker_shares():
    recs = records()
    assert ask(recs, "db", WEB_TASK) == (R.FORWARD, [])  # db is on back only
    assert ask(recs, "web", DB_TASK) == (R.FORWARD, [])
    assert ask(recs, "db", API_TASK) == (R.RECORDS, ["10.0.2.2"])  # api is on both


def test_the_first_shared_network_answers():
    recs = records()
    # api asks for itself: its first network is front
    assert ask(recs, "api", API_TASK) == (R.RECORDS, ["10.0.1.3"])
    assert ask(recs, "tasks.api", API_TASK) == (R.RECORDS, ["10.0.1.30"])
    assert ask(recs, "api", DB_TASK) == (R.RECORDS, ["10.0.2.3"])


def test_unknown_names_and_strangers_are_forwarded():
    recs = records()
    assert ask(recs, "example.com", WEB_TASK) == (R.FORWARD, [])
    assert ask(recs, "tasks.nothing", WEB_TASK) == (R.FORWARD, [])
    assert ask(recs, "web", "10.0.1.99") == (R.FORWARD, [])  # no task of this node
    assert ask(recs, "web", "10.0.1.1") == (R.FORWARD, [])


def test_aaaa_and_other_types_of_a_swarm_name_are_empty():
    recs = records()
    assert ask(recs, "web", WEB_TASK, "AAAA") == (R.RECORDS, [])
    assert ask(recs, "tasks.web", WEB_TASK, "MX") == (R.RECORDS, [])
    assert ask(recs, "web", WEB_TASK, "ANY") == (R.RECORDS, ["10.0.1.2"])
    assert ask(recs, "example.com", WEB_TASK, "AAAA") == (R.FORWARD, [])


def test_a_name_without_addresses_is_nxdomain():
    tasks = [t for t in TASKS if t["ServiceID"] != "s3"]  # cache scaled to 0
    recs = R.build(node_services({FRONT, BACK}, SERVICES, tasks, None), TASKS)
    assert ask(recs, "cache", WEB_TASK) == (R.NXDOMAIN, [])
    assert ask(recs, "tasks.cache", WEB_TASK, "AAAA") == (R.NXDOMAIN, [])


def test_a_vip_service_without_its_vip_yet_still_has_tasks():
    svc = service("s1", "web", [(FRONT, [])])  # the allocator has not given the VIP yet
    recs = R.build(node_services({FRONT}, [svc], TASKS, None), TASKS)
    assert ask(recs, "web", WEB_TASK) == (R.NXDOMAIN, [])
    assert ask(recs, "tasks.web", WEB_TASK) == (R.RECORDS, ["10.0.1.10", "10.0.1.11"])


def test_ended_tasks_do_not_ask_and_ingress_has_no_names():
    local = [task("w1", "s1", [(FRONT, "10.0.1.10/24")], state="shutdown"),
             task("i1", "s9", [(INGRESS, "10.0.0.5/24")])]
    recs = records(local=local)
    assert ask(recs, "web", WEB_TASK) == (R.FORWARD, [])
    assert recs.askers == {"10.0.0.5": (INGRESS,)}
    assert ask(recs, "web", "10.0.0.5") == (R.FORWARD, [])


def test_answers_are_shuffled():
    svc = service("s1", "big", [(FRONT, [])], mode="dnsrr")
    tasks = [task(f"t{i}", "s1", [(FRONT, f"10.0.1.{10 + i}/24")]) for i in range(8)]
    recs = R.build(node_services({FRONT}, [svc], tasks, None), tasks)
    orders = {recs.answer("big", "A", "10.0.1.10").addresses for _ in range(20)}
    assert len(orders) > 1
    assert {frozenset(o) for o in orders} == {frozenset(f"10.0.1.{10 + i}" for i in range(8))}


def test_two_services_sharing_a_name_on_a_network_answer_together():
    a = service("s1", "web", [(FRONT, [])], vips=[(FRONT, "10.0.1.2/24")])
    b = service("s2", "other", [(FRONT, ["web"])], vips=[(FRONT, "10.0.1.3/24")])
    recs = R.build(node_services({FRONT}, [a, b], [], None), TASKS)
    assert ask(recs, "web", WEB_TASK) == (R.RECORDS, ["10.0.1.2", "10.0.1.3"])


# --- the dataplane's hook ----------------------------------------------------------------

class FakeDns:
    def __init__(self):
        self.listening: set[str] = set()
        self.stopped = False

    def sync(self, addresses):
        self.listening = set(addresses)

    def addresses(self):
        return set(self.listening)

    def stop(self):
        self.stopped = True
        self.listening = set()


def test_dataplane_listens_on_each_network_programmed_here():
    from test_net_dataplane import FakeDocker, FakeLinks, FakeOverlays, entry

    from swarmlet.net.dataplane import NodeNetworks

    class FakeLB:
        def sync(self, *args):
            pass

        def remove(self):
            pass

    plane = NodeNetworks(machine="m1")
    plane.overlays = FakeOverlays()
    plane.docker = FakeDocker()
    plane.links = FakeLinks(plane.overlays)
    plane.lb = FakeLB()
    plane.dns = dns = FakeDns()
    front = entry(FRONT, "front", 4097)
    attachment = [{"Network": front["Network"], "Addresses": ["10.0.97.10/24"]}]
    plane.update([front], "198.18.0.2")  # an older manager: no Services, no resolver
    assert dns.listening == set() and plane.dns_servers(attachment) == []
    local = [task("w1", "s1", [(FRONT, "10.0.97.10/24")])]
    svc = service("s1", "web", [(FRONT, [])], vips=[(FRONT, "10.0.97.3/24")])
    services = node_services({FRONT}, [svc], local, None)
    plane.update([front, entry(BACK, "back", 4098)], "198.18.0.2", services, [], local)
    assert dns.listening == {"10.0.97.2", "10.0.98.2"}  # the node's address on each
    assert plane.dns_servers(attachment) == ["10.0.97.2"]
    assert plane._dns_lookup("web", "A", "10.0.97.10") == R.Answer(R.RECORDS,
                                                                   ("10.0.97.3",))
    plane.update([front], "198.18.0.2", services, [], local)  # back is gone
    assert dns.listening == {"10.0.97.2"}
    plane.remove_all()  # swarm leave
    assert dns.listening == set()
    assert plane._dns_lookup("web", "A", "10.0.97.10").kind == R.FORWARD


def test_a_task_with_its_own_dns_servers_has_its_other_names_forwarded_to_them():
    own = task("w9", "s1", [(FRONT, "10.0.1.19/24")])
    own["Spec"] = {"ContainerSpec": {"DNSConfig": {"Nameservers": ["192.0.2.53"]}}}
    recs = records(local=[*TASKS, own])
    assert ask(recs, "example.com", "10.0.1.19") == (R.FORWARD, ["192.0.2.53"])
    assert ask(recs, "web", "10.0.1.19") == (R.RECORDS, ["10.0.1.2"])  # swarm names stay
    assert ask(recs, "example.com", WEB_TASK) == (R.FORWARD, [])  # others: the node's
