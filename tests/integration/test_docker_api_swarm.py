"""The swarm and its nodes through Docker's Engine API, driven by the real clients: the
docker CLIs (in a machine on its engine socket, and remotely over TLS), the docker SDK and
community.docker's modules. The swarm is shared with the other test_docker_*.py modules:
whatever a test changes, it puts back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_cluster import (
    DOCKER_CLIS,
    ENGINE_SOCKET,
    MANAGER,
    MANAGER2,
    NEWEST_CLI,
    NODES,
    WORKER,
    cli_version,
)
from swarm_cluster import dismantle, eventually

EXTRA = "eng-swx"  # a machine of this module's own: init, join, leave, node rm
NOT_A_MANAGER = ("This node is not a swarm manager. Worker nodes can't be used to view or "
                 "modify cluster state.")
clis = pytest.mark.parametrize("docker", DOCKER_CLIS, ids=cli_version)


def _json(engine_swarm, machine: str, args: str, docker: str | None = None):
    return json.loads(engine_swarm.docker(machine, args, docker=docker).stdout)


def _rows(engine_swarm, machine: str, args: str = "node ls", docker: str | None = None):
    """`node ls` rows as lists of columns (the `*` of the node asked is its own column)."""
    out = engine_swarm.docker(machine, args, docker=docker).stdout.splitlines()
    return [line.split() for line in out[1:]]


@clis
def test_info_of_a_manager_and_a_worker(engine_swarm, docker):
    addrs = [engine_swarm.addr(m) for m in (MANAGER, MANAGER2)]
    info = engine_swarm.docker(MANAGER, "info", docker=docker)
    text = info.stdout
    assert "WARNING: Running Swarm in a two-manager configuration." in info.stderr
    for line in ("Swarm: active", "Is Manager: true", "Managers: 2", "Nodes: 3",
                 "Task History Retention Limit: 5", "Default Address Pool: 10.0.0.0/8",
                 "Data Path Port: 4789", "Autolock Managers: false",
                 f"Node Address: {engine_swarm.machines.ip(MANAGER)}",
                 "Manager Addresses:", *addrs):
        assert line in text, (line, text)
    worker = engine_swarm.docker(WORKER, "info", docker=docker).stdout
    for line in ("Swarm: active", "Is Manager: false", "Manager Addresses:"):
        assert line in worker, (line, worker)
    assert "Nodes: 3" not in worker


@pytest.mark.parametrize("docker", NEWEST_CLI, ids=cli_version)
def test_node_ls_marks_the_node_asked_and_filters(engine_swarm, docker):
    for machine in (MANAGER, MANAGER2):
        rows = _rows(engine_swarm, machine, docker=docker)
        assert sorted(r[2] if r[1] == "*" else r[1] for r in rows) == sorted(NODES)
        assert [r[2] for r in rows if r[1] == "*"] == [machine]
    leader = [r for r in _rows(engine_swarm, MANAGER, docker=docker) if "Leader" in r]
    assert len(leader) == 1
    worker_id = _json(engine_swarm, WORKER, "info --format '{{json .Swarm.NodeID}}'")
    assert engine_swarm.docker(MANAGER, "node ls -q -f role=worker",
                               docker=docker).stdout.split() == [worker_id]
    assert engine_swarm.docker(MANAGER, f"node ls -q -f id={worker_id[:6]}",
                               docker=docker).stdout.split() == [worker_id]
    assert len(_rows(engine_swarm, MANAGER, "node ls -f name=eng-", docker)) == 3
    assert len(_rows(engine_swarm, MANAGER, "node ls -f role=MANAGER", docker)) == 2
    bad = engine_swarm.docker(MANAGER, "node ls -f role=boss", check=False, docker=docker)
    assert bad.returncode != 0 and "Invalid role filter: 'boss'" in bad.stderr
    bad = engine_swarm.docker(MANAGER, "node ls -f colour=red", check=False, docker=docker)
    assert bad.returncode != 0 and "Invalid filter 'colour'" in bad.stderr
    refused = engine_swarm.docker(WORKER, "node ls", check=False, docker=docker)
    assert refused.returncode != 0 and NOT_A_MANAGER in refused.stderr


@clis
def test_node_inspect(engine_swarm, docker):
    me = _json(engine_swarm, MANAGER2, "node inspect self", docker)[0]
    assert me["Description"]["Hostname"] == MANAGER2
    assert me["Spec"]["Role"] == "manager" and me["ManagerStatus"]["Reachability"] == \
        "reachable"
    assert me["Description"]["TLSInfo"]["TrustRoot"].startswith("-----BEGIN CERTIFICATE")
    pretty = engine_swarm.docker(MANAGER, f"node inspect --pretty {WORKER}",
                                 docker=docker).stdout
    for line in (f"Hostname:              \t{WORKER}", "State:\t\t\tReady",
                 f"Address:\t\t{engine_swarm.machines.ip(WORKER)}", "Issuer Subject:"):
        assert line in pretty, (line, pretty)
    missing = engine_swarm.docker(MANAGER, "node inspect eswarm-nope", check=False,
                                  docker=docker)
    # 20.10 words it itself, 28 prints the daemon's
    assert missing.returncode != 0 and ("No such node: eswarm-nope" in missing.stderr
                                        or "node eswarm-nope not found" in missing.stderr)


@pytest.mark.parametrize("docker", NEWEST_CLI, ids=cli_version)
def test_node_update_labels_and_availability(engine_swarm, docker):
    try:
        engine_swarm.docker(MANAGER, f"node update --label-add eswarm=1 --label-add "
                                     f"eswarm.x=y --availability pause {WORKER}", docker=docker)
        spec = _json(engine_swarm, MANAGER, f"node inspect {WORKER}", docker)[0]["Spec"]
        assert spec["Labels"] == {"eswarm": "1", "eswarm.x": "y"}
        assert spec["Availability"] == "pause" and spec["Role"] == "worker"
        assert [r[1] for r in _rows(engine_swarm, MANAGER, "node ls -f node.label=eswarm=1",
                                    docker)] == [WORKER]
        engine_swarm.docker(MANAGER, f"node update --label-rm eswarm --label-rm eswarm.x "
                                     f"--availability active {WORKER}", docker=docker)
        spec = _json(engine_swarm, MANAGER, f"node inspect {WORKER}", docker)[0]["Spec"]
        assert spec["Labels"] == {} and spec["Availability"] == "active"
    finally:
        engine_swarm.docker(MANAGER, f"node update --label-rm eswarm --label-rm eswarm.x "
                                     f"--availability active {WORKER}", check=False)


def _manager_status(engine_swarm, machine: str):
    return _json(engine_swarm, MANAGER, f"node inspect {machine}")[0].get("ManagerStatus")


def test_node_promote_and_demote(engine_swarm):
    try:
        out = engine_swarm.docker(MANAGER, f"node promote {WORKER}").stdout
        assert f"Node {WORKER} promoted to a manager in the swarm." in out
        eventually(lambda: (_manager_status(engine_swarm, WORKER) or {}).get(
            "Reachability") == "reachable")
        eventually(lambda: "Is Manager: true" in engine_swarm.docker(WORKER, "info").stdout)
        out = engine_swarm.docker(MANAGER, f"node demote {WORKER}").stdout
        assert f"Manager {WORKER} demoted in the swarm." in out
    finally:
        engine_swarm.docker(MANAGER, f"node demote {WORKER}", check=False)
    eventually(lambda: _manager_status(engine_swarm, WORKER) is None)
    eventually(lambda: "Is Manager: false" in engine_swarm.docker(WORKER, "info").stdout)
    assert "Managers: 2" in engine_swarm.docker(MANAGER, "info").stdout


@pytest.mark.parametrize("docker", NEWEST_CLI, ids=cli_version)
def test_join_tokens(engine_swarm, docker):
    out = engine_swarm.docker(MANAGER, "swarm join-token worker", docker=docker).stdout
    token = engine_swarm.docker(MANAGER, "swarm join-token -q worker", docker=docker
                                ).stdout.strip()
    assert token.startswith("SWMTKN-1-")
    assert f"docker swarm join --token {token} {engine_swarm.addr(MANAGER)}" in out
    manager = engine_swarm.docker(MANAGER2, "swarm join-token -q manager", docker=docker
                                  ).stdout.strip()
    assert manager.startswith("SWMTKN-1-") and manager != token
    rotated = engine_swarm.docker(MANAGER, "swarm join-token --rotate -q worker",
                                  docker=docker).stdout.strip()
    assert rotated != token and rotated.rsplit("-", 1)[0] == token.rsplit("-", 1)[0]
    assert engine_swarm.docker(MANAGER2, "swarm join-token -q worker", docker=docker
                               ).stdout.strip() == rotated


def test_swarm_update_task_history_limit(engine_swarm):
    def limit() -> int:
        return _json(engine_swarm, MANAGER, "info --format "
                     "'{{json .Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}'")

    before = limit()
    try:
        assert engine_swarm.docker(MANAGER, "swarm update --task-history-limit 7"
                                   ).stdout.strip() == "Swarm updated."
        assert limit() == 7
        assert "Task History Retention Limit: 7" in engine_swarm.docker(MANAGER2,
                                                                        "info").stdout
        spec = _json(engine_swarm, MANAGER, "info --format '{{json .Swarm.Cluster.Spec}}'")
        assert spec["Raft"]["SnapshotInterval"] == 10000  # the rest of the spec kept
    finally:
        engine_swarm.docker(MANAGER, f"swarm update --task-history-limit {before}")
    assert limit() == before


def test_swarm_unlock_key(engine_swarm):
    none = engine_swarm.docker(MANAGER, "swarm unlock-key", check=False)
    assert none.returncode != 0 and "no unlock key is set" in none.stderr
    try:
        engine_swarm.docker(MANAGER, "swarm update --autolock=true")
        key = engine_swarm.docker(MANAGER, "swarm unlock-key -q").stdout.strip()
        assert key.startswith("SWMKEY-1-")
        rotated = engine_swarm.docker(MANAGER, "swarm unlock-key --rotate -q").stdout.strip()
        assert rotated.startswith("SWMKEY-1-") and rotated != key
        assert engine_swarm.docker(MANAGER2, "swarm unlock-key -q").stdout.strip() == rotated
    finally:
        engine_swarm.docker(MANAGER, "swarm update --autolock=false")
    assert "Autolock Managers: false" in engine_swarm.docker(MANAGER, "info").stdout


def _remote(docker: str, host: str, certs: Path, args: str, check: bool = True):
    env = {**os.environ, "DOCKER_HOST": f"tcp://{host}", "DOCKER_TLS_VERIFY": "1",
           "DOCKER_CERT_PATH": str(certs), "DOCKER_CLI_HINTS": "false",
           "HOME": str(certs)}  # no ~/.docker/config.json of this box's user
    proc = subprocess.run([docker, *args.split()], env=env, capture_output=True, text=True,
                          timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@clis
def test_remote_cli_over_tls_verifies_the_manager(engine_swarm, client_certs, docker):
    for machine in (MANAGER, MANAGER2):  # the first manager and a joined one
        rows = _remote(docker, engine_swarm.addr(machine), client_certs,
                       "node ls").stdout.splitlines()[1:]
        assert len(rows) == 3
    flags = (f"-H tcp://{engine_swarm.addr(MANAGER)} --tlsverify --tlscacert "
             f"{client_certs}/ca.pem --tlscert {client_certs}/cert.pem --tlskey "
             f"{client_certs}/key.pem node ls -q")
    assert len(subprocess.run([docker, *flags.split()], capture_output=True, text=True,
                              check=True).stdout.split()) == 3
    # This node's own requests stay on its unix socket.
    leave = _remote(docker, engine_swarm.addr(MANAGER), client_certs, "swarm leave",
                    check=False)
    assert leave.returncode != 0 and "unix socket only" in leave.stderr


def test_a_worker_certificate_is_refused(engine_swarm, tmp_path):
    certs = tmp_path / "worker"
    certs.mkdir()
    for source, name in (("swarm-node.crt", "cert.pem"), ("swarm-node.key", "key.pem"),
                         ("swarm-root-ca.crt", "ca.pem")):
        (certs / name).write_text(engine_swarm.run(
            WORKER, f"cat /var/lib/swarmlet/certificates/{source}").stdout)
    (certs / "key.pem").chmod(0o600)
    refused = _remote(DOCKER_CLIS[0], engine_swarm.addr(MANAGER), certs, "node ls",
                      check=False)
    assert refused.returncode != 0
    assert "remote certificate not part of OUs: [swarm-manager]" in refused.stderr


SDK = """
import json, docker
c = docker.DockerClient(base_url="{socket}")
out = {{"keys": sorted(c.swarm.attrs)}}
c.swarm.reload()
out["version"] = c.swarm.version
out["nodes"] = sorted(n.attrs["Description"]["Hostname"] for n in c.nodes.list())
out["workers"] = [n.attrs["Description"]["Hostname"]
                  for n in c.nodes.list(filters={{"role": "worker"}})]
node = c.nodes.get("{worker}")
spec = dict(node.attrs["Spec"], Labels={{"eswarm-sdk": "1"}})
out["updated"] = node.update(spec)
node.reload()
out["labels"] = node.attrs["Spec"]["Labels"]
try:
    c.api.update_node(node.id, 1, dict(spec, Labels={{}}))
except docker.errors.APIError as e:
    out["stale"] = [e.status_code, e.explanation]
node.reload()
node.update(dict(spec, Labels={{}}))
node.reload()
out["restored"] = node.attrs["Spec"]["Labels"]
try:
    c.nodes.get("eswarm-nope")
except docker.errors.NotFound as e:
    out["missing"] = e.explanation
print(json.dumps(out))
"""


def test_docker_sdk(engine_swarm):
    out = json.loads(engine_swarm.python(MANAGER, SDK.format(socket=ENGINE_SOCKET,
                                                             worker=WORKER)).stdout)
    assert {"ID", "Spec", "JoinTokens", "TLSInfo", "Version"} <= set(out["keys"])
    assert out["version"] > 0
    assert out["nodes"] == sorted(NODES) and out["workers"] == [WORKER]
    assert out["updated"] is True and out["labels"] == {"eswarm-sdk": "1"}
    assert out["stale"] == [409, "update out of sequence"]
    assert out["restored"] == {}
    assert out["missing"] == "node eswarm-nope not found"
    worker = engine_swarm.python(WORKER, "import docker; docker.DockerClient(base_url="
                                 f"'{ENGINE_SOCKET}').nodes.list()", check=False)
    assert worker.returncode != 0 and "503" in worker.stderr and NOT_A_MANAGER in worker.stderr


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.docker.docker:
      docker_host: {socket}
  tasks:
    - community.docker.docker_swarm_info: {{nodes: true}}
      register: info
    - community.docker.docker_node:
        {{hostname: {worker}, labels: {{eswarm-ans: "1"}}, availability: drain}}
      register: n1
    - community.docker.docker_node:
        {{hostname: {worker}, labels: {{eswarm-ans: "1"}}, availability: drain}}
      register: n2
    - community.docker.docker_node:
        {{hostname: {worker}, labels_to_remove: [eswarm-ans], availability: active}}
      register: n3
    - community.docker.docker_node:
        {{hostname: {worker}, labels_to_remove: [eswarm-ans], availability: active}}
      register: n4
    - community.docker.docker_node_info: {{name: {worker}}}
      register: ni
    - community.docker.docker_swarm: {{state: present}}
      register: s1
    - community.docker.docker_swarm: {{state: present, task_history_retention_limit: 6}}
      register: s2
    - community.docker.docker_swarm: {{state: present, task_history_retention_limit: 6}}
      register: s3
    - community.docker.docker_swarm: {{state: present, task_history_retention_limit: 5}}
    - ansible.builtin.assert:
        that:
          - info.docker_swarm_manager
          - info.nodes | map(attribute='Hostname') | sort == {nodes}
          - n1.changed and not n2.changed and n3.changed and not n4.changed
          - ni.nodes[0].Spec.Labels == {{}} and ni.nodes[0].Spec.Availability == 'active'
          - not s1.changed and s2.changed and not s3.changed
          - s2.swarm_facts.Spec.Orchestration.TaskHistoryRetentionLimit == 6
"""


def test_community_docker_modules(engine_swarm, tmp_path):
    book = tmp_path / "book.yml"
    book.write_text(PLAYBOOK.format(socket=ENGINE_SOCKET, worker=WORKER,
                                    nodes=json.dumps(sorted(NODES))))
    bindir = Path(sys.executable).parent
    try:
        proc = engine_swarm.run(
            MANAGER, f"env ANSIBLE_NOCOLOR=1 PATH=/usr/local/bin:/usr/bin:/bin "
                     f"{bindir}/ansible-playbook -i localhost, "
                     f"-e ansible_python_interpreter={sys.executable} {book}", check=False)
    finally:
        engine_swarm.docker(MANAGER, f"node update --label-rm eswarm-ans --availability "
                                     f"active {WORKER}", check=False)
        engine_swarm.docker(MANAGER, "swarm update --task-history-limit 5", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.fixture
def extra_machine(engine_swarm):
    engine_swarm.machines("machine", "create", EXTRA)
    try:
        yield EXTRA
    finally:
        engine_swarm.docker(MANAGER, f"node rm --force {EXTRA}", check=False)
        dismantle(engine_swarm.machines, [EXTRA])  # leaves first: a quick machine rm


def test_init_leave_join_and_node_rm_on_a_machine_of_its_own(engine_swarm, extra_machine):
    machine = extra_machine
    out = engine_swarm.docker(machine, "swarm init --task-history-limit 2 --autolock").stdout
    assert "Swarm initialized: current node (" in out and "docker swarm join --token" in out
    info = engine_swarm.docker(machine, "info").stdout
    assert "Is Manager: true" in info and "Task History Retention Limit: 2" in info
    key = engine_swarm.docker(machine, "swarm unlock-key -q").stdout.strip()
    assert key in out  # init printed it
    engine_swarm.machines("machine", "stop", machine)
    engine_swarm.machines("machine", "start", machine)
    eventually(lambda: "Swarm: locked" in engine_swarm.docker(machine, "info").stdout)
    locked = engine_swarm.docker(machine, "node ls", check=False)
    assert "Swarm is encrypted and needs to be unlocked" in locked.stderr
    def unlock(with_key: str):
        return engine_swarm.run(machine, f"echo {with_key} | env DOCKER_HOST={ENGINE_SOCKET} "
                                         f"{DOCKER_CLIS[0]} swarm unlock", check=False)

    wrong = unlock("SWMKEY-1-" + "A" * 43)
    assert wrong.returncode != 0 and "invalid key provided" in wrong.stderr
    assert unlock(key).returncode == 0
    eventually(lambda: "Is Manager: true" in engine_swarm.docker(machine, "info").stdout)
    again = engine_swarm.docker(machine, "swarm init", check=False)
    assert "This node is already part of a swarm." in again.stderr
    refused = engine_swarm.docker(machine, "swarm leave", check=False)
    assert refused.returncode != 0 and "Use `--force`" in refused.stderr
    assert engine_swarm.docker(machine, "swarm leave --force").stdout.strip() == \
        "Node left the swarm."
    assert "Swarm: inactive" in engine_swarm.docker(machine, "info").stdout

    token = engine_swarm.docker(MANAGER, "swarm join-token -q worker").stdout.strip()
    out = engine_swarm.docker(machine, f"swarm join --token {token} "
                                      f"{engine_swarm.addr(MANAGER)}").stdout
    assert out.strip() == "This node joined a swarm as a worker."
    assert EXTRA in [r[1] for r in _rows(engine_swarm, MANAGER)]
    busy = engine_swarm.docker(MANAGER, f"node rm {EXTRA}", check=False)
    assert busy.returncode != 0 and "is not down and can't be removed" in busy.stderr
    engine_swarm.docker(machine, "swarm leave")
    assert engine_swarm.docker(MANAGER, f"node rm --force {EXTRA}").stdout.strip() == EXTRA
    assert EXTRA not in [r[1] for r in _rows(engine_swarm, MANAGER)]
    sdk = engine_swarm.python(machine, f"""
import docker
c = docker.DockerClient(base_url="{ENGINE_SOCKET}")
node_id = c.swarm.init(task_history_retention_limit=3)
c.swarm.reload()
print(node_id, c.swarm.attrs["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"],
      c.swarm.leave(force=True), c.info()["Swarm"]["LocalNodeState"])
""").stdout.split()
    assert len(sdk[0]) == 25 and sdk[1:] == ["3", "True", "inactive"]
