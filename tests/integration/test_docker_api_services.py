"""Services, tasks and logs through the Docker Engine API, driven by the real docker CLIs,
the docker SDK and community.docker's docker_swarm_service, as a Docker Swarm user would
(docs/docker-api.md). Every service here is named esvc-... and removed by its test."""

from __future__ import annotations

import json
import re
import shlex
import sys

import pytest
from engine_cluster import (
    DOCKER_CLIS,
    ENGINE_SOCKET,
    IMAGE,
    MANAGER,
    MANAGER2,
    NEWEST_CLI,
    cli_version,
)
from swarm_cluster import eventually

LOGGER = "sh -c 'i=0; while true; do echo line $i; echo oops $i >&2; i=$((i+1)); sleep 1; done'"


def _names(engine_swarm, docker: str) -> dict[str, str]:
    """`service ls`: name -> replicas."""
    out = engine_swarm.docker(MANAGER, "service ls --format '{{.Name}} {{.Replicas}}'",
                              docker=docker).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def _running(engine_swarm, docker: str, name: str) -> list[str]:
    out = engine_swarm.docker(MANAGER, f"service ps -q --no-trunc -f desired-state=running "
                                       f"{name}", docker=docker).stdout
    return out.split()


def _spec(engine_swarm, name: str) -> dict:
    return json.loads(engine_swarm.docker(MANAGER, f"service inspect {name}").stdout)[0]["Spec"]


@pytest.mark.parametrize("docker", NEWEST_CLI, ids=cli_version)
def test_cli_service_lifecycle(engine_swarm, docker):
    n = DOCKER_CLIS.index(docker)
    name = f"esvc-web{n}"
    created = engine_swarm.docker(MANAGER, f"service create -d --name {name} --replicas 2 "
                                           f"-p {18080 + n}:80 {IMAGE}", docker=docker)
    try:
        service_id = created.stdout.strip()
        assert re.fullmatch(r"[0-9a-z]{25}", service_id), created.stdout
        eventually(lambda: _names(engine_swarm, docker).get(name) == "2/2", timeout=60)
        tasks = _running(engine_swarm, docker, name)
        assert len(tasks) == 2 and all(len(t) == 25 for t in tasks)
        pretty = engine_swarm.docker(MANAGER2, f"service inspect --pretty {name}",
                                     docker=docker).stdout
        assert f"ID:\t\t{service_id}" in pretty and "Replicas:\t2" in pretty
        assert f"PublishedPort = {18080 + n}" in pretty

        engine_swarm.docker(MANAGER, f"service update -d --env-add ESVC=1 {name}",
                            docker=docker)
        assert _spec(engine_swarm, name)["TaskTemplate"]["ContainerSpec"]["Env"] == ["ESVC=1"]
        scaled = engine_swarm.docker(MANAGER, f"service scale -d {name}=3", docker=docker)
        assert f"{name} scaled to 3" in scaled.stdout
        eventually(lambda: _names(engine_swarm, docker).get(name) == "3/3", timeout=60)
        engine_swarm.docker(MANAGER, f"service rollback -d {name}", docker=docker)
        spec = _spec(engine_swarm, name)  # the spec before the scale: 2 replicas, ESVC=1
        assert spec["Mode"]["Replicated"]["Replicas"] == 2
        assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["ESVC=1"]
        forced = engine_swarm.docker(MANAGER, f"service update -d --force {name}",
                                     docker=docker)
        assert forced.stdout.strip() == name
        assert _spec(engine_swarm, name)["TaskTemplate"]["ForceUpdate"] == 1
    finally:
        removed = engine_swarm.docker(MANAGER, f"service rm {name}", docker=docker, check=False)
    assert removed.returncode == 0 and removed.stdout.strip() == name
    gone = engine_swarm.docker(MANAGER, f"service inspect {name}", docker=docker, check=False)
    assert gone.returncode == 1 and f"no such service: {name}" in gone.stderr.lower()


def test_cli_waits_for_the_service_to_converge(engine_swarm):
    if engine_swarm.docker(MANAGER, "node ls -q", check=False).returncode != 0:
        pytest.skip("the CLI's progress bars list nodes: GET /nodes is not served here")
    docker = DOCKER_CLIS[-1]
    out = engine_swarm.docker(MANAGER, f"service create --detach=false --name esvc-wait "
                                       f"--replicas 2 {IMAGE}", docker=docker)
    try:
        assert re.search(r"verify: Service ([\w.-]+ )?converged", out.stdout)
        out = engine_swarm.docker(MANAGER, "service scale esvc-wait=3", docker=docker)
        assert re.search(r"verify: Service ([\w.-]+ )?converged", out.stdout)
    finally:
        engine_swarm.docker(MANAGER, "service rm esvc-wait", check=False)


def test_cli_service_logs(engine_swarm):
    docker = DOCKER_CLIS[-1]
    engine_swarm.docker(MANAGER, f"service create -d --name esvc-logs --replicas 2 {IMAGE} "
                                 f"{LOGGER}", docker=docker)
    try:
        eventually(lambda: len(_running(engine_swarm, docker, "esvc-logs")) == 2, timeout=60)
        line = re.compile(r"^esvc-logs\.[12]\.[0-9a-z]{12}@\S+ +\| line \d+$")

        def logged():
            out = engine_swarm.docker(MANAGER, "service logs --tail 3 esvc-logs",
                                      docker=docker)
            lines = out.stdout.splitlines()
            assert len(lines) >= 2 and all(line.match(x) for x in lines), out.stdout
            assert {x.split(".")[1] for x in lines} == {"1", "2"}  # both tasks
            assert " | oops " in out.stderr  # stderr stays stderr
            return out

        eventually(logged, timeout=30)
        stamped = engine_swarm.docker(MANAGER2, "service logs --tail 4 --timestamps "
                                                "esvc-logs", docker=docker).stdout.splitlines()
        assert stamped and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z "
                                        r"esvc-logs\.\d\.\w{12}@\S+ +\| line ", x)
                               for x in stamped), stamped
        followed = engine_swarm.run(
            MANAGER, f"env DOCKER_HOST={ENGINE_SOCKET} timeout 4 {docker} service logs -f "
                     "--tail 0 esvc-logs", check=False)
        assert followed.returncode == 124  # still following when stopped
        assert len(followed.stdout.splitlines()) >= 2  # lines written after it started
        task = _running(engine_swarm, docker, "esvc-logs")[0]
        one = engine_swarm.docker(MANAGER, f"service logs --tail 2 {task}", docker=docker)
        lines = one.stdout.splitlines()
        assert lines and all(f".{task[:12]}@" in x for x in lines), one.stdout
    finally:
        engine_swarm.docker(MANAGER, "service rm esvc-logs", check=False)


SDK = """
import json, time, docker
from docker.types import EndpointSpec, ServiceMode
c = docker.DockerClient(base_url="%s")
out = {}
s = c.services.create("%s", name="esvc-sdk", mode=ServiceMode("replicated", 1),
                      endpoint_spec=EndpointSpec(ports={18090: 80}), command=%s)
out["listed"] = [x.name for x in c.services.list(filters={"name": "esvc-sdk"})]
for _ in range(50):  # as SwarmKit's, the allocator writes a new service once (its VIPs)
    s.reload()
    if s.attrs.get("Endpoint", {}).get("VirtualIPs"):
        break
    time.sleep(0.2)
s.update(env=["ESVC=2"])
s.reload()
out["env"] = s.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
s.scale(2)
for _ in range(60):
    if len(s.tasks(filters={"desired-state": "running"})) == 2 and all(
            t["Status"]["State"] == "running"
            for t in s.tasks(filters={"desired-state": "running"})):
        break
    time.sleep(1)
out["running"] = len(s.tasks(filters={"desired-state": "running"}))
time.sleep(2)
out["logs"] = b"".join(s.logs(stdout=True, stderr=False, tail=1)).decode()
errors = {}
for what, call in [
        ("missing", lambda: c.services.get("esvc-nosuch")),
        ("name", lambda: c.api.create_service({"ContainerSpec": {"Image": "x"}},
                                              name="esvc-sdk")),
        ("stale", lambda: c.api.update_service(s.id, 1, {"ContainerSpec": {"Image": "x"}})),
        ("spec", lambda: c.api.create_service({"ContainerSpec": {"Image": "x",
                                                                  "Bogus": 1}}))]:
    try:
        call()
    except docker.errors.APIError as exc:
        errors[what] = [exc.status_code, exc.explanation]
out["errors"] = errors
s.remove()
out["left"] = [x.name for x in c.services.list(filters={"name": "esvc-sdk"})]
print(json.dumps(out))
"""


def test_docker_sdk(engine_swarm):
    command = ["sh", "-c", "while true; do echo hello; sleep 1; done"]
    script = SDK % (ENGINE_SOCKET, IMAGE, json.dumps(command))
    out = json.loads(engine_swarm.python(MANAGER, script).stdout)
    assert out["listed"] == ["esvc-sdk"]
    assert out["env"] == ["ESVC=2"]
    assert out["running"] == 2
    assert out["logs"].splitlines()[0] == "hello"
    errors = out["errors"]
    assert errors["missing"] == [404, "service esvc-nosuch not found"]
    assert errors["name"][0] == 409 and "already exists" in errors["name"][1]
    assert errors["stale"] == [409, "update out of sequence"]
    assert errors["spec"][0] == 400 and "TaskTemplate.ContainerSpec.Bogus" in errors["spec"][1]
    assert out["left"] == []


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
    svc: &svc
      docker_host: {socket}
      name: esvc-ansible
      image: {image}
      replicas: 1
      publish: [{{published_port: 18095, target_port: 80}}]
      env: {{ESVC: "1"}}
  tasks:
    - community.docker.docker_swarm_service: *svc
      register: created
    - community.docker.docker_swarm_service: *svc
      register: again
    - community.docker.docker_swarm_service:
        <<: *svc
        replicas: 2
      register: changed
    - community.docker.docker_swarm_service:
        docker_host: {socket}
        name: esvc-ansible
        state: absent
      register: removed
    - debug:
        msg: "RESULT {{{{ [created.changed, again.changed, changed.changed,
               changed.swarm_service.replicas, removed.changed] | to_json }}}}"
"""


def test_community_docker_swarm_service(engine_swarm):
    play = PLAYBOOK.format(python=sys.executable, socket=ENGINE_SOCKET, image=IMAGE)
    where = "/tmp/esvc-ansible"
    engine_swarm.run(MANAGER, f"mkdir -p {where} && printf %s {shlex.quote(play)} "
                              f"> {where}/play.yml")
    bin_dir = sys.executable.rsplit("/", 1)[0]
    try:
        out = engine_swarm.run(MANAGER, f"cd {where} && {bin_dir}/ansible-playbook "
                                        "play.yml", check=False)
    finally:
        engine_swarm.docker(MANAGER, "service rm esvc-ansible", check=False)
        engine_swarm.run(MANAGER, f"rm -rf {where}")
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(re.search(r"RESULT (\[.*?\])", out.stdout).group(1))
    assert result == [True, False, True, 2, True]
