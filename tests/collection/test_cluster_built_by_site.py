"""site.yml over three machines through real SSH: the cluster it builds, a second run (the
same hosts in the inventory plugin's groups) that changes nothing, and each host checked
afterwards with testinfra, as an operator would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import testinfra
import yaml
from prometheus_client.parser import text_string_to_metric_families

from collection.site import MANAGER, SPARE, VENV_BIN, WORKERS, Deployment
from conftest import REPO, wait_for

HOSTS = [MANAGER, *WORKERS]


@pytest.fixture(scope="module")
def hosts(deployment: Deployment) -> dict[str, testinfra.host.Host]:
    return {name: testinfra.get_host(f"ansible://{name}",
                                     ansible_inventory=str(deployment.inventory))
            for name in HOSTS}


def swarmlet(host: testinfra.host.Host, args: str) -> str:
    return host.check_output(f"swarmlet {args}")


def test_first_run_builds_the_cluster(deployment: Deployment) -> None:
    run = deployment.first_run
    assert run.returncode == 0, run.output[-4000:]
    recap = run.recap()
    assert set(recap) == {*HOSTS, "localhost"}, recap  # localhost: gathering the groups
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in recap.values()), recap


def test_site_ran_from_the_installed_collection_alone(deployment: Deployment) -> None:
    """What resolved swarmlet.swarm was the artifact's copy, wheels inside, not the checkout."""
    installed = deployment.installed
    found = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "list",
                            "swarmlet.swarm"], cwd=installed.workdir, env=installed.env(),
                           capture_output=True, text=True, check=True).stdout
    assert str(installed.collections / "ansible_collections") in found, found
    assert str(REPO) not in found, found
    root = installed.collections / "ansible_collections/swarmlet/swarm"
    assert not root.is_symlink() and not root.resolve().is_relative_to(REPO)
    assert (root / "roles/agent/files/swarmlet-wheels.tar").stat().st_size > 0
    assert sorted(p.name for p in installed.workdir.iterdir()) == \
        ["host_vars", "hosts.yml", "site-vars.yml"]


def test_nodes_roles_and_labels(deployment: Deployment, hosts) -> None:
    rows = [json.loads(line) for line in
            swarmlet(hosts[MANAGER], "node ls --format json").splitlines()]
    by_name = {row["Hostname"]: row for row in rows}
    assert set(by_name) == set(HOSTS)
    assert by_name[MANAGER]["ManagerStatus"] == "Leader"
    assert all(by_name[w]["ManagerStatus"] == "" for w in WORKERS)
    assert all(row["Status"] == "Ready" and row["Availability"] == "Active" for row in rows)
    node = json.loads(swarmlet(hosts[MANAGER], f"node inspect {WORKERS[0]}"))[0]
    assert node["Spec"]["Labels"] == {"type": "db"}  # from host_vars


def test_second_run_in_the_plugins_groups_changes_nothing_and_shows_no_join_token(
        deployment: Deployment, hosts, tmp_path: Path) -> None:
    """Run again, the same cluster in the inventory plugin's groups `manager`/`worker`, its
    hosts named by address with no ansible_host: site.yml finds them (SSH and the join
    address are the inventory names), changes nothing (no agent restarts), and shows no
    join token (-v)."""
    pids = {name: agent_pid(hosts[name]) for name in HOSTS}
    base = yaml.safe_load(deployment.inventory.read_text())["all"]

    def by_address(names: list[str]) -> dict[str, dict]:
        return {deployment.ip(name): {"swarmlet_node_hostname": name,
                                      "agent_advertise_addr": deployment.ip(name)}
                for name in names}

    workers = by_address(WORKERS)
    workers[deployment.ip(WORKERS[0])]["swarmlet_node_labels"] = {"type": "db"}
    inventory = tmp_path / "plugin-groups.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": base["vars"],
        "children": {"manager": {"hosts": by_address([MANAGER])}, "worker": {"hosts": workers}},
    }}))
    again = deployment.site("-v", inventory=inventory)
    assert again.returncode == 0, again.output[-4000:]
    expected = [*(deployment.ip(name) for name in HOSTS), "localhost"]
    assert {h: r["changed"] for h, r in again.recap().items()} == {h: 0 for h in expected}, \
        again.output[-6000:]
    assert "SWMTKN-1-" not in again.output
    assert {name: agent_pid(hosts[name]) for name in HOSTS} == pids


@pytest.mark.parametrize("name", HOSTS)
def test_agent_runs_supervised_with_its_socket(hosts, name: str) -> None:
    host = hosts[name]
    assert host.file("/etc/swarmlet/sv/swarmletd/run").mode == 0o755
    pid = host.file("/var/lib/swarmlet/swarmletd.pid").content_string.strip()
    cmdline = host.file(f"/proc/{pid}/cmdline").content_string
    assert "/opt/swarmlet/venv/bin/python" in cmdline and "swarmletd" in cmdline
    # The process is this machine's: it sits in the machine's network namespace.
    assert host.check_output(f"readlink /proc/{pid}/ns/net") == \
        host.check_output("readlink /proc/self/ns/net")
    assert host.socket("unix:///run/swarmlet/swarmlet.sock").is_listening


def test_cluster_port_listens_on_managers_only(hosts) -> None:
    """As in Docker: the cluster API (2377) is a manager's; workers only dial out."""
    assert hosts[MANAGER].socket("tcp://0.0.0.0:2377").is_listening
    for worker in WORKERS:
        assert not hosts[worker].socket("tcp://0.0.0.0:2377").is_listening


@pytest.mark.parametrize("name", HOSTS)
def test_config_file(deployment: Deployment, hosts, name: str) -> None:
    config = hosts[name].file("/etc/swarmlet/swarmlet.yml")
    assert config.is_file and config.user == "root" and config.mode == 0o600
    assert config.contains(f"^advertise_addr: {deployment.ip(name)}$")


@pytest.mark.parametrize("name", HOSTS)
def test_metrics_addr_of_site_vars_serves_prometheus_metrics(hosts, name: str) -> None:
    """agent_metrics_addr (site-vars.yml) reaches swarmlet.yml: each agent answers on its own
    loopback, with the cluster's gauges on the manager only."""
    host = hosts[name]
    assert host.file("/etc/swarmlet/swarmlet.yml").contains('^metrics_addr: "127.0.0.1:9323"$')
    text = host.check_output("curl -sS --fail http://127.0.0.1:9323/metrics")
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "process_resident_memory_bytes" in names
    assert ("swarmlet_nodes" in names) == (name == MANAGER)


def test_visualizer_of_site_vars_runs_on_the_manager(hosts) -> None:
    """swarmlet_visualizer_listen (site-vars.yml): site.yml runs `swarmlet visualizer` on
    the manager, supervised, and its view holds every node of the swarm; workers run none."""
    manager = hosts[MANAGER]
    assert manager.file("/etc/swarmlet/sv/swarmlet-visualizer/run").mode == 0o755

    def hostnames() -> set[str]:
        found = manager.run("curl -sS --fail http://127.0.0.1:8888/snapshot")
        if found.rc != 0:
            return set()
        return {node["hostname"] for node in json.loads(found.stdout).get("nodes", [])}

    wait_for(lambda: hostnames() == set(HOSTS), timeout=30)
    assert "swarmlet visualizer" in manager.check_output("curl -sS http://127.0.0.1:8888/")
    for worker in WORKERS:
        assert not hosts[worker].socket("tcp://127.0.0.1:8888").is_listening


@pytest.mark.parametrize("name", HOSTS)
def test_agent_installed_in_its_venv(hosts, name: str) -> None:
    host = hosts[name]
    assert host.file("/opt/swarmlet/bin/swarmletd").linked_to == "/opt/swarmlet/venv/bin/swarmletd"
    assert host.run("/opt/swarmlet/venv/bin/python -c 'import swarmlet'").rc == 0


def test_service_tasks_run_on_every_machine(hosts) -> None:
    """The web service of site-vars.yml: 3 replicas spread one per node, each container
    labelled with the machine whose agent started it."""
    host = hosts[MANAGER]
    row = json.loads(swarmlet(host, "service ls --format json").splitlines()[0])
    assert (row["Name"], row["Replicas"]) == ("web", "3/3")
    machines = host.check_output(
        "docker ps --filter label=swarmlet.service.name=web "
        "--format '{{ .Label \"swarmlet.machine\" }}'").split()
    # (The one Docker Engine also runs other machines' containers: keep ours.)
    assert sorted(m for m in machines if m in HOSTS) == sorted(HOSTS)


def test_networks_created_by_site(hosts) -> None:
    """site-vars.yml's swarmlet_networks: created once (the second run changes nothing),
    with the options given."""
    host = hosts[MANAGER]
    plain, back = json.loads(swarmlet(host, "network inspect web-net web-back"))
    assert plain["Name"] == "web-net" and plain["Driver"] == "overlay"
    assert back["IPAM"]["Config"][0]["Subnet"] == "10.200.7.0/24"
    assert back["Labels"] == {"com.example.app": "demo"}


def test_spare_is_not_in_the_swarm(hosts, deployment: Deployment) -> None:
    spare = testinfra.get_host(f"ansible://{SPARE}", ansible_inventory=str(deployment.inventory))
    assert "Swarm: inactive" in swarmlet(spare, "info")


def agent_pid(host: testinfra.host.Host) -> str:
    return host.file("/var/lib/swarmlet/swarmletd.pid").content_string.strip()


def test_agent_restarts_only_when_its_config_changes(deployment: Deployment, hosts) -> None:
    worker = WORKERS[1]
    role = Path(__file__).with_name("agent.yml")
    before = agent_pid(hosts[worker])

    run = deployment.playbook(role, "--limit", worker, "-e", "agent_log_level=debug")
    assert run.returncode == 0, run.output[-4000:]
    assert run.recap()[worker]["changed"] == 2  # the config file and the restart
    debug_pid = agent_pid(hosts[worker])
    assert debug_pid != before
    assert hosts[worker].file("/etc/swarmlet/swarmlet.yml").contains("^log_level: debug$")

    run = deployment.playbook(role, "--limit", worker)  # back to the default
    assert run.returncode == 0 and run.recap()[worker]["changed"] == 2, run.output[-4000:]
    assert agent_pid(hosts[worker]) != debug_pid
    # (A run that changes nothing restarts nothing: the second run of site.yml above.)
    wait_for(lambda: node_status(hosts[MANAGER], worker) == "Ready", timeout=30)


def node_status(manager: testinfra.host.Host, name: str) -> str:
    rows = map(json.loads, swarmlet(manager, "node ls --format json").splitlines())
    return next(row["Status"] for row in rows if row["Hostname"] == name)


def test_agent_comes_back_at_boot(deployment: Deployment, hosts) -> None:
    """No systemd on the machines: the role's supervised service starts with the machine."""
    worker = WORKERS[1]
    deployment.machines("machine", "stop", worker)
    wait_for(lambda: node_status(hosts[MANAGER], worker) == "Down", timeout=60)
    deployment.machines("machine", "start", worker)
    wait_for(lambda: node_status(hosts[MANAGER], worker) == "Ready", timeout=60)
    assert hosts[worker].socket("unix:///run/swarmlet/swarmlet.sock").is_listening
