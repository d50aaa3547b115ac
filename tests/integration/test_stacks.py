"""Stacks on three local machines (`swarmlet stack ...`), with compose files shaped like the
sample applications people deploy, run without edits: images are tagged locally from
swarmlet/demo:latest under the names the files use (its server answers on port 80 with the
container's hostname, whatever the image is called).

- the voting app (Docker's example-voting-app docker-stack.yml): front and back networks, a
  named volume, placement on the manager, published ports answering through the mesh on every
  machine; a redeploy with a second -c file changing one service updates that service only;
- a placement exercise written with 4-space indentation and explicit null networks:
  `node.labels.ssd == true`, a global service on workers only;
- a shop with external secrets in short and long form, `failure_action: rollback`,
  `stop_grace_period: 1m30s`, several published ports, an env_file, a config file and .env;
- `stack rm` leaves no service, network, secret or config of the stack;
- a bad file (an external secret the cluster lacks) is refused with the daemon's message,
  and nothing is created (every class of bad file: tests/unit/test_stack_bad_files.py).

Each test removes its stack. Run one at a time (-k) under the integration lock."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from swarm_cluster import (
    SHARED_MANAGER,
    SHARED_WORKERS,
    Cluster,
    eventually,
    shared_cluster,  # noqa: F401 (a fixture)
)

MANAGER, (W1, W2) = SHARED_MANAGER, SHARED_WORKERS  # a swarm shared with test_volumes.py
NODES = [MANAGER, W1, W2]
DEMO = "swarmlet/demo:latest"
NS = "com.docker.stack.namespace"
IMAGES = ["redis:alpine", "postgres:9.4", "dockersamples/examplevotingapp_vote:before",
          "dockersamples/examplevotingapp_vote:after",
          "dockersamples/examplevotingapp_result:before",
          "dockersamples/examplevotingapp_worker:latest", "placement/web:1", "placement/agent:1",
          "shop/front:1.0", "shop/api:1.0"]

VOTING_APP = """\
version: "3"
services:

  redis:
    image: redis:alpine
    networks:
      - frontend
    deploy:
      replicas: 1
      update_config:
        parallelism: 2
        delay: 10s
      restart_policy:
        condition: on-failure
  db:
    image: postgres:9.4
    environment:
      POSTGRES_USER: "postgres"
      POSTGRES_PASSWORD: "postgres"
    volumes:
      - db-data:/var/lib/postgresql/data
    networks:
      - backend
    deploy:
      placement:
        constraints: [node.role == manager]
  vote:
    image: dockersamples/examplevotingapp_vote:before
    build: ./vote
    ports:
      - 5000:80
    networks:
      - frontend
    depends_on:
      - redis
    deploy:
      replicas: 2
      update_config:
        parallelism: 2
      restart_policy:
        condition: on-failure
  result:
    image: dockersamples/examplevotingapp_result:before
    ports:
      - 5001:80
    networks:
      - backend
    depends_on:
      - db
    deploy:
      replicas: 1
      update_config:
        parallelism: 2
        delay: 10s
      restart_policy:
        condition: on-failure

  worker:
    image: dockersamples/examplevotingapp_worker
    networks:
      - frontend
      - backend
    depends_on:
      - db
      - redis
    deploy:
      mode: replicated
      replicas: 1
      labels: [APP=VOTING]
      restart_policy:
        condition: on-failure
        delay: 10s
        max_attempts: 3
        window: 120s
      placement:
        constraints: [node.role == manager]

networks:
  frontend:
  backend:

volumes:
  db-data:
"""

VOTING_OVERRIDE = """\
version: "3"
services:
  vote:
    image: dockersamples/examplevotingapp_vote:after
"""

PLACEMENT = """\
version: "3.7"

services:
    web:
        image: placement/web:1
        ports:
            - "8081:80"
        networks:
            appnet:
        deploy:
            replicas: 2
            placement:
                constraints:
                    - node.labels.ssd == true
    agent:
        image: placement/agent:1
        networks:
            - appnet
        deploy:
            mode: global
            placement:
                constraints: [node.role == worker]

networks:
    appnet:
"""

SHOP = """\
version: "3.8"

x-logging: &logging
  logging:
    driver: json-file
    options:
      max-size: 10m

services:
  front:
    <<: *logging
    image: shop/front:${FRONT_TAG}
    ports:
      - "8082:80"
      - target: 80
        published: 8083
        protocol: tcp
        mode: ingress
    secrets:
      - shop_api_key
      - source: shop_db_password
        target: db_password
        mode: 0400
    stop_grace_period: 1m30s
    deploy:
      replicas: 2
      update_config:
        parallelism: 1
        delay: 1s
        failure_action: rollback
        order: start-first
      rollback_config:
        parallelism: 1
  api:
    <<: *logging
    image: shop/api:1.0
    environment:
      - SHOP_MODE=${SHOP_MODE:-production}
      - PRICE=$$5
    env_file: api.env
    ports:
      - "8084:80"
    configs:
      - source: api_conf
        target: /etc/api.conf

secrets:
  shop_api_key:
    external: true
  shop_db_password:
    external: true

configs:
  api_conf:
    file: ./api.conf
"""


@pytest.fixture(scope="module")
def images():
    for name in IMAGES:
        subprocess.run(["docker", "tag", DEMO, name], check=True)
    yield
    subprocess.run(["docker", "rmi", *IMAGES], capture_output=True)  # untags; DEMO stays


@pytest.fixture(scope="module")
def cluster(shared_cluster, images):  # noqa: F811 (the fixture imported above)
    return shared_cluster


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def stack(cluster: Cluster, directory: Path, args: str, env: str = "", check: bool = True):
    """`swarmlet stack ARGS` on the manager, in `directory`, with `env` (VAR=value ...)."""
    return cluster.run(MANAGER, f"cd {directory} && {env} swarmlet stack {args}", check)


def rows(cluster: Cluster, args: str) -> list[dict]:
    return [json.loads(line) for line in cluster.cli(MANAGER, args).splitlines()]


def converged(cluster: Cluster, name: str, count: int) -> bool:
    services = rows(cluster, f"stack services --format json {name}")
    return len(services) == count and all(
        s["Replicas"].split("/")[0] == s["Replicas"].split("/")[1].split()[0] != "0"
        for s in services)


def running_tasks(cluster: Cluster, name: str) -> list[dict]:
    return [t for t in rows(cluster, f"stack ps --format json --no-trunc "
                                     f"-f desired-state=running {name}")
            if t["CurrentState"].startswith("Running")]


def nodes_of(tasks: list[dict], service: str) -> list[str]:
    return sorted(t["Node"] for t in tasks if t["Name"].rsplit(".", 1)[0] == service)


def curl(ip: str, port: int) -> str:
    proc = subprocess.run(["curl", "-s", "-m", "3", f"http://{ip}:{port}/"],
                          capture_output=True, text=True)
    return proc.stdout.strip()


def answers_everywhere(cluster: Cluster, port: int) -> None:
    """The published port answers (a task's hostname) on every machine's address."""
    for machine in NODES:
        ip = cluster.machines.ip(machine)
        eventually(lambda ip=ip: curl(ip, port), timeout=30)


def stack_objects(cluster: Cluster, name: str) -> dict[str, list[str]]:
    """Every service, network, secret and config carrying the stack's label."""
    found = {}
    for kind in ("services", "networks", "secrets", "configs"):
        found[kind] = sorted(o["Spec"]["Name"] for o in cluster.api(MANAGER, f"/{kind}")
                             if (o["Spec"].get("Labels") or {}).get(NS) == name)
    return found


def versions(cluster: Cluster, name: str) -> dict[str, int]:
    return {s["Spec"]["Name"]: s["Version"]["Index"] for s in cluster.api(MANAGER, "/services")
            if (s["Spec"].get("Labels") or {}).get(NS) == name}


def remove(cluster: Cluster, name: str) -> None:
    cluster.run(MANAGER, f"swarmlet stack rm {name}", check=False)
    eventually(lambda: not any(stack_objects(cluster, name).values()), timeout=60)


def test_voting_app_deploys_answers_and_redeploys_one_service(cluster, tmp_path):
    app = write(tmp_path / "vote", {"docker-stack.yml": VOTING_APP,
                                    "override.yml": VOTING_OVERRIDE})
    try:
        out = stack(cluster, app, "deploy -c docker-stack.yml --detach=false vote")
        lines = out.stdout.splitlines()
        for line in ("Creating network vote_frontend", "Creating network vote_backend",
                     "Creating service vote_redis", "Creating service vote_db",
                     "Creating service vote_vote", "Creating service vote_result",
                     "Creating service vote_worker"):
            assert line in lines, out.stdout
        assert "Ignoring unsupported options: build" in out.stderr
        assert "verify: Service converged" in out.stdout
        assert rows(cluster, "stack ls --format json") == [{"Name": "vote", "Services": "5"}]
        eventually(lambda: converged(cluster, "vote", 5), timeout=60)

        tasks = running_tasks(cluster, "vote")
        assert nodes_of(tasks, "vote_db") == [MANAGER]
        assert nodes_of(tasks, "vote_worker") == [MANAGER]
        assert len(nodes_of(tasks, "vote_vote")) == 2
        answers_everywhere(cluster, 5000)
        answers_everywhere(cluster, 5001)
        networks = {n["Spec"]["Name"] for n in cluster.api(MANAGER, "/networks")}
        assert {"vote_frontend", "vote_backend"} <= networks
        [db] = cluster.api(MANAGER, "/services/vote_db")["Spec"]["TaskTemplate"][
            "ContainerSpec"]["Mounts"]
        assert (db["Type"], db["Source"], db["Target"]) == (
            "volume", "vote_db-data", "/var/lib/postgresql/data")

        # A second file changes one image: the plan names that service only, and the deploy
        # leaves the others' versions and tasks as they were.
        before = versions(cluster, "vote")
        tasks_before = {t["ID"] for t in running_tasks(cluster, "vote")
                        if not t["Name"].startswith("vote_vote.")}
        plan = stack(cluster, app, "deploy -c docker-stack.yml -c override.yml --dry-run "
                                   "--plan-format json vote")
        steps = {s["Name"]: s["Action"] for s in json.loads(plan.stdout)["Plan"]}
        assert steps["vote_vote"] == "update"
        assert {n: a for n, a in steps.items() if n != "vote_vote"} == {
            n: "unchanged" for n in steps if n != "vote_vote"}
        assert versions(cluster, "vote") == before  # the dry run changed nothing
        stack(cluster, app, "deploy -c docker-stack.yml -c override.yml vote")
        eventually(lambda: {t["Image"] for t in running_tasks(cluster, "vote")
                            if t["Name"].startswith("vote_vote.")}
                   == {"dockersamples/examplevotingapp_vote:after"}, timeout=90)
        after = versions(cluster, "vote")
        assert after["vote_vote"] > before["vote_vote"]
        assert {n: v for n, v in after.items() if n != "vote_vote"} == {
            n: v for n, v in before.items() if n != "vote_vote"}
        assert tasks_before <= {t["ID"] for t in running_tasks(cluster, "vote")}
    finally:
        remove(cluster, "vote")


def test_placement_by_node_label_and_a_global_service_on_workers(cluster, tmp_path):
    app = write(tmp_path / "placement", {"docker-compose.yml": PLACEMENT})
    cluster.cli(MANAGER, f"node update --label-add ssd=true {W1}")
    try:
        out = stack(cluster, app, "deploy -c docker-compose.yml placement")
        assert "Creating network placement_appnet" in out.stdout
        eventually(lambda: len(running_tasks(cluster, "placement")) == 4, timeout=60)
        tasks = running_tasks(cluster, "placement")
        assert nodes_of(tasks, "placement_web") == [W1, W1]
        assert nodes_of(tasks, "placement_agent") == sorted([W1, W2])
        answers_everywhere(cluster, 8081)
    finally:
        remove(cluster, "placement")
        cluster.cli(MANAGER, f"node update --label-rm ssd {W1}", check=False)


def test_shop_with_external_secrets_and_several_ports(cluster, tmp_path):
    app = write(tmp_path / "shop", {"docker-compose.yml": SHOP, "api.env": "API_WORKERS=4\n",
                                    "api.conf": "listen 80\n", ".env": "FRONT_TAG=1.0\n"})
    for name, value in (("shop_api_key", "k3y"), ("shop_db_password", "pw")):
        cluster.run(MANAGER, f"printf {value} | swarmlet secret create {name} -")
    try:
        stack(cluster, app, "deploy -c docker-compose.yml shop", env="SHOP_MODE=test")
        eventually(lambda: converged(cluster, "shop", 2), timeout=60)
        for port in (8082, 8083, 8084):
            answers_everywhere(cluster, port)
        front = cluster.api(MANAGER, "/services/shop_front")["Spec"]
        container = front["TaskTemplate"]["ContainerSpec"]
        assert container["StopGracePeriod"] == 90 * 10**9
        assert front["UpdateConfig"]["FailureAction"] == "rollback"
        assert sorted((s["SecretName"], s["File"]["Name"], s["File"]["Mode"])
                      for s in container["Secrets"]) == [
            ("shop_api_key", "shop_api_key", 0o444), ("shop_db_password", "db_password", 0o400)]
        api = cluster.api(MANAGER, "/services/shop_api")["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert {"SHOP_MODE=test", "PRICE=$5", "API_WORKERS=4"} <= set(api["Env"])
        assert [c["ConfigName"] for c in api["Configs"]] == ["shop_api_conf"]
        # The secrets' values, as a task reads them.
        [task] = [t for t in running_tasks(cluster, "shop") if t["Name"] == "shop_front.1"]
        [container] = subprocess.run(["docker", "ps", "-q", "--filter",
                                      f"label=swarmlet.task.id={task['ID']}"],
                                     capture_output=True, text=True, check=True).stdout.split()
        cat = subprocess.run(["docker", "exec", container, "cat", "/run/secrets/db_password"],
                             capture_output=True, text=True)
        assert cat.stdout == "pw"

        objects = stack_objects(cluster, "shop")
        assert objects == {"services": ["shop_api", "shop_front"],
                           "networks": ["shop_default"], "secrets": [],
                           "configs": ["shop_api_conf"]}
        out = stack(cluster, app, "rm shop")
        assert out.stdout.splitlines()[:2] == ["Removing service shop_api",
                                               "Removing service shop_front"]
        assert "Removing config shop_api_conf" in out.stdout
        assert "Removing network shop_default" in out.stdout
        eventually(lambda: not any(stack_objects(cluster, "shop").values()), timeout=60)
        # External secrets are not the stack's: they stay.
        secrets = {s["Spec"]["Name"] for s in cluster.api(MANAGER, "/secrets")}
        assert {"shop_api_key", "shop_db_password"} <= secrets
        again = stack(cluster, app, "rm shop")
        assert again.returncode == 0 and again.stderr.strip() == "Nothing found in stack: shop"
        assert stack(cluster, app, "ps shop", check=False).stderr.strip() == (
            "nothing found in stack: shop")
    finally:
        remove(cluster, "shop")
        cluster.run(MANAGER, "swarmlet secret rm shop_api_key shop_db_password", check=False)


def test_a_bad_file_is_refused_with_its_message_and_creates_nothing(cluster, tmp_path):
    """The daemon's refusal reaches the user: an external secret the cluster lacks. Every
    other class of bad file is refused the same way, without machines:
    tests/unit/test_stack_bad_files.py."""
    text = ("services:\n  web:\n    image: placement/web:1\n    secrets: [nope]\n"
            "secrets:\n  nope:\n    external: true\n")
    app = write(tmp_path / "bad", {"bad.yml": text})
    try:
        out = stack(cluster, app, "deploy -c bad.yml bad", check=False)
        assert out.returncode == 1, out.stdout
        assert out.stderr.strip() == ("Error response from daemon: bad.yml: services.web: "
                                      "secret not found: nope")
        assert out.stdout == ""
        assert stack_objects(cluster, "bad") == {"services": [], "networks": [],
                                                 "secrets": [], "configs": []}
    finally:
        remove(cluster, "bad")
