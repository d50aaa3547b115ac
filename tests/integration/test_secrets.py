"""Secrets and configs from the CLI on a swarm of a manager (`sec-1`) and a worker (`sec-2`):
create from stdin or a file, ls, inspect (a secret's data never shown; a config's shown), rm,
Docker's messages; a secret's value on no disk of the machine (Raft journal, agent files,
logs), searched for by a random marker value; and services reading them as files with the
owner and mode asked for, from a tmpfs that goes with the task; a golang-templated config
rendered for each task (hostname, slot, env, a secret)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from swarm_cluster import Cluster, running_cluster

from conftest import wait_for

MANAGER, WORKER = "sec-1", "sec-2"
IMAGE = "swarmlet/demo:latest"


@pytest.fixture(scope="module")
def cluster(swarmlet):
    with running_cluster(swarmlet, [MANAGER], [WORKER]) as c:
        yield c


def run(cluster: Cluster, command: str, check: bool = True) -> subprocess.CompletedProcess:
    return cluster.run(MANAGER, command, check)


def machine_files(cluster: Cluster) -> Path:
    """Everything of the machine on the host's disk: its private /etc, /var/lib/swarmlet
    (certificates, Raft journal and dump) and its log (the agent's output)."""
    return cluster.machines.storage / "machines" / MANAGER


def test_secret_create_ls_inspect_rm(cluster):
    marker = f"pw-{secrets.token_hex(12)}"
    out = run(cluster, f"printf %s {marker} | swarmlet secret create --label env=test db_pw -")
    secret_id = out.stdout.strip()
    assert re.fullmatch(r"[0-9a-z]{25}", secret_id)

    ls = run(cluster, "swarmlet secret ls").stdout.splitlines()
    assert ls[0].split() == ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]  # Docker's columns
    assert ls[1].split()[:2] == [secret_id, "db_pw"]
    assert run(cluster, "swarmlet secret ls --format '{{.Name}} {{.Label \"env\"}}'"
               ).stdout == "db_pw test\n"
    [shown] = json.loads(run(cluster, "swarmlet secret inspect db_pw").stdout)
    assert shown["ID"] == secret_id
    assert shown["Spec"] == {"Name": "db_pw", "Labels": {"env": "test"}}
    pretty = run(cluster, f"swarmlet secret inspect --pretty {secret_id[:6]}").stdout
    assert "db_pw" in pretty and " - env=test" in pretty
    every_answer = [*ls, json.dumps(shown), pretty,
                    run(cluster, "swarmlet secret ls --format json").stdout]
    assert not [a for a in every_answer if marker in a]

    again = run(cluster, "printf x | swarmlet secret create db_pw -", check=False)
    assert again.returncode != 0 and "secret db_pw already exists" in again.stderr

    # On no disk of the machine: the Raft journal, the agent's files, its log.
    as_sent = base64.b64encode(marker.encode()).decode()  # the API's Data field
    found = subprocess.run(["grep", "-r", "-l", "-a", "-e", marker, "-e", as_sent,
                            str(machine_files(cluster))], capture_output=True, text=True)
    assert found.returncode == 1, found.stdout  # 1: searched, nothing found
    assert (machine_files(cluster) / "root").is_dir()

    assert run(cluster, "swarmlet secret rm db_pw").stdout.strip() == "db_pw"
    gone = run(cluster, "swarmlet secret inspect db_pw", check=False)
    assert gone.returncode != 0 and "no such secret: db_pw" in gone.stderr


def test_config_shows_its_data(cluster):
    run(cluster, "printf 'server { listen 80; }' | swarmlet config create site.conf -")
    [config] = json.loads(run(cluster, "swarmlet config inspect site.conf").stdout)
    assert config["Spec"]["Name"] == "site.conf"
    pretty = run(cluster, "swarmlet config inspect --pretty site.conf").stdout
    assert pretty.rstrip().endswith("server { listen 80; }")
    run(cluster, "swarmlet config rm site.conf")


def test_bad_input_is_refused_with_a_clear_error(cluster):
    big = run(cluster, "head -c 512000 /dev/zero > /tmp/big && "
                       "swarmlet secret create big /tmp/big", check=False)
    assert big.returncode != 0
    assert "secret data must be larger than 0 and less than 512000 bytes" in big.stderr
    empty = run(cluster, "swarmlet secret create empty - </dev/null", check=False)
    assert "secret data must be larger than 0 and less than 512000 bytes" in empty.stderr
    missing = run(cluster, "swarmlet secret create x /nonexistent", check=False)
    assert "error reading content from '/nonexistent'" in missing.stderr
    bad_name = run(cluster, "printf x | swarmlet secret create -- -x -", check=False)
    assert bad_name.returncode != 0
    assert run(cluster, "swarmlet secret ls -q").stdout.strip() == ""


# Run on a machine: the assignments the manager gives this node, as its agent asks for them
# (its node certificate, mutual TLS).
ASSIGNMENTS = """
import json, sys
from pathlib import Path
from swarmlet.ca.tls import client_context
from swarmlet.client import Client
sys.path.insert(0, sys.argv[2])
from tls_probe import manager_key_password
certs = Path("/var/lib/swarmlet/certificates")
context = client_context(certs, (certs / "swarm-root-ca.crt").read_bytes(),
                         manager_key_password(certs))
answer = Client(f"tcp://{sys.argv[1]}", tls_context=context).post(
    "/dispatcher/assignments", {"Wait": 0})
print(json.dumps(answer))
"""


def assignments(cluster: Cluster, machine: str) -> str:
    """The whole answer of the manager to `machine`'s agent, as text."""
    return cluster.run(machine, f"{sys.executable} -c '{ASSIGNMENTS}' "
                                f"{cluster.addr(MANAGER)} {Path(__file__).parent}").stdout


def containers(service: str) -> list[dict]:
    ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label=swarmlet.service.name="
                          f"{service}", "--filter", f"label=swarmlet.machine={WORKER}"],
                         capture_output=True, text=True, check=True).stdout.split()
    if not ids:
        return []
    return json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True,
                                     text=True, check=True).stdout)


def in_container(container: dict, command: str) -> str:
    return subprocess.run(["docker", "exec", container["Id"], "sh", "-c", command],
                          capture_output=True, text=True, check=True).stdout


def test_services_read_their_secrets_as_files(cluster):
    """The WordPress/MySQL pattern: one service with two secrets (one under its own name,
    one under another target with an owner and mode) and a config; a second service with one
    of them under another name."""
    password, root_pw = f"pw-{secrets.token_hex(8)}", f"root-{secrets.token_hex(8)}"
    run(cluster, f"printf %s {password} | swarmlet secret create db_password -")
    run(cluster, f"printf %s {root_pw} | swarmlet secret create db_root_password -")
    run(cluster, "printf 'listen 80' | swarmlet config create web.conf -")
    try:
        run(cluster, f"swarmlet service create -d --name db --constraint node.role==worker "
                     f"--secret db_root_password --secret source=db_password,target=mysql_pw,"
                     f"uid=999,gid=998,mode=0400 --config source=web.conf,target=/etc/web.conf"
                     f" {IMAGE}")
        run(cluster, f"swarmlet service create -d --name wp --constraint node.role==worker "
                     f"--secret source=db_password,target=wp_db_password {IMAGE}")
        wait_for(lambda: containers("db") and containers("wp"), timeout=60,
                 what="the tasks to run")
        [db], [wp] = containers("db"), containers("wp")
        assert in_container(db, "cat /run/secrets/db_root_password") == root_pw
        assert in_container(db, "cat /run/secrets/mysql_pw") == password
        assert in_container(db, "stat -c '%u %g %a' /run/secrets/mysql_pw").split() == [
            "999", "998", "400"]
        assert in_container(db, "stat -c '%u %g %a' /run/secrets/db_root_password"
                            ).split() == ["0", "0", "444"]
        assert in_container(db, "cat /etc/web.conf") == "listen 80"
        assert in_container(wp, "cat /run/secrets/wp_db_password") == password
        # Read-only, on a tmpfs; not in `docker inspect`; not in the container's own layer.
        assert "Read-only" in subprocess.run(
            ["docker", "exec", db["Id"], "sh", "-c", "echo x > /run/secrets/mysql_pw"],
            capture_output=True, text=True).stderr
        inspected = json.dumps(containers("db"))
        assert password not in inspected and root_pw not in inspected
        upper = db["GraphDriver"]["Data"].get("UpperDir", "")
        found = subprocess.run(["grep", "-r", "-l", "-a", "-e", password, "-e", root_pw,
                                upper], capture_output=True, text=True)
        assert upper and found.returncode == 1, found.stdout
        mounts = Path("/proc/self/mounts").read_text()
        assert "swarmlet-secrets/" in mounts
        # The node's copies are root's alone, at every level; the files keep their modes.
        tmpfs = [Path(line.split()[1]) for line in mounts.splitlines()
                 if "/swarmlet-secrets/" in line.split()[1]]
        assert tmpfs
        for where in tmpfs:
            for level in (where, where.parent, where.parent.parent):
                found = level.stat()
                assert (found.st_uid, oct(found.st_mode & 0o777)) == (0, "0o700"), level
        # Only the node that runs a task using a secret receives it.
        received = {base64.b64decode(d["Data"]).decode() for d in json.loads(
            assignments(cluster, WORKER))["Secrets"] if d["Kind"] == "secret"}
        assert received == {password, root_pw}
        to_manager = assignments(cluster, MANAGER)
        assert json.loads(to_manager)["Secrets"] == []
        assert password not in to_manager and root_pw not in to_manager
        # ...and no file of either machine holds it (Raft, agent files, its log).
        for machine in (MANAGER, WORKER):
            where = cluster.machines.storage / "machines" / machine
            assert (where / "machine.log").stat().st_size > 0
            found = subprocess.run(["grep", "-r", "-l", "-a", "-e", password, "-e", root_pw,
                                    str(where)], capture_output=True, text=True)
            assert found.returncode == 1, found.stdout

        refused = run(cluster, "swarmlet secret rm db_password", check=False)
        assert refused.returncode != 0
        assert "secret 'db_password' is in use by the following service: db, wp" in \
            refused.stderr
        unknown = run(cluster, f"swarmlet service create -d --name bad --secret nope {IMAGE}",
                      check=False)
        assert unknown.returncode != 0 and "secret nope not found" in unknown.stderr

        # Rotation: a new secret under the same target, by a rolling update.
        new_pw = f"pw2-{secrets.token_hex(8)}"
        run(cluster, f"printf %s {new_pw} | swarmlet secret create db_password_v2 -")
        run(cluster, "swarmlet service update --secret-rm db_password "
                     "--secret-add source=db_password_v2,target=wp_db_password wp")
        wait_for(lambda: [c for c in containers("wp") if c["Id"] != wp["Id"]], timeout=60,
                 what="the new wp task")
        [wp2] = containers("wp")
        assert in_container(wp2, "cat /run/secrets/wp_db_password") == new_pw
    finally:
        run(cluster, "swarmlet service rm db wp", check=False)
        run(cluster, "swarmlet secret rm db_password_v2", check=False)
    # Nothing of them stays on the node: the tmpfs goes with the last task.
    wait_for(lambda: not containers("db") and not containers("wp")
             and "swarmlet-secrets/" not in Path("/proc/self/mounts").read_text(),
             timeout=60, what="the tasks and their files to go")
    run(cluster, "swarmlet secret rm db_password db_root_password")
    run(cluster, "swarmlet config rm web.conf")


def create_from(cluster: Cluster, command: str, data: str) -> None:
    """`command` (a create reading stdin) with `data`, sent as it is (no shell quoting)."""
    run(cluster, f"echo {base64.b64encode(data.encode()).decode()} | base64 -d | {command}")


def test_a_templated_config_is_rendered_for_each_task(cluster):
    """Docker's `config create --template-driver golang`: each task's container reads the
    template rendered with its node, slot, service, env and secret; one that fails fails the
    task with Docker's words."""
    marker = f"tpl-{secrets.token_hex(8)}"
    run(cluster, f"printf %s {marker} | swarmlet secret create tpl_pw -")
    create_from(cluster, "swarmlet config create --template-driver golang tpl.conf -",
                'host={{.Node.Hostname}} slot={{.Task.Slot}} svc={{.Service.Name}} '
                'tier={{index .Service.Labels "tier"}} mode={{env "MODE"}} '
                'pw={{secret "tpl_pw"}}')
    create_from(cluster, "swarmlet config create --template-driver golang tpl.bad -",
                'x={{secret "nope"}}')
    try:
        [shown] = json.loads(run(cluster, "swarmlet config inspect tpl.conf").stdout)
        assert shown["Spec"]["Templating"] == {"Name": "golang"}
        run(cluster, f"swarmlet service create -d --name tpl --replicas 2 --label tier=front "
                     f"--constraint node.role==worker --env MODE=prod --secret tpl_pw "
                     f"--config source=tpl.conf,target=/etc/tpl.conf {IMAGE}")
        wait_for(lambda: len(containers("tpl")) == 2, timeout=60, what="the tasks to run")
        hostname = cluster.run(WORKER, "hostname").stdout.strip()
        seen = sorted(in_container(c, "cat /etc/tpl.conf") for c in containers("tpl"))
        assert seen == [f"host={hostname} slot={slot} svc=tpl tier=front mode=prod "
                        f"pw={marker}" for slot in (1, 2)]
        # The rendered secret is on no disk of the worker either.
        where = cluster.machines.storage / "machines" / WORKER
        found = subprocess.run(["grep", "-r", "-l", "-a", "-e", marker, str(where)],
                               capture_output=True, text=True)
        assert found.returncode == 1, found.stdout

        run(cluster, f"swarmlet service create -d --name tplbad --restart-condition none "
                     f"--constraint node.role==worker --config source=tpl.bad,target=/x {IMAGE}")

        def error() -> str:
            return run(cluster, "swarmlet service ps tplbad --no-trunc --format "
                                "'{{.CurrentState}}|{{.Error}}'").stdout
        wait_for(lambda: "Rejected" in error(), timeout=60, what="the task to be rejected")
        [bad] = json.loads(run(cluster, "swarmlet config inspect tpl.bad").stdout)
        assert (f"failed to expand templated config {bad['ID']}: template: expansion:1:4: "
                'executing "expansion" at <secret "nope">: error calling secret: secret '
                "target nope not found") in error()
    finally:
        run(cluster, "swarmlet service rm tpl tplbad", check=False)
    wait_for(lambda: not containers("tpl"), timeout=60, what="the tasks to go")
    run(cluster, "swarmlet config rm tpl.conf tpl.bad")
    run(cluster, "swarmlet secret rm tpl_pw")


def test_a_power_cut_takes_the_files_with_it(cluster):
    """A machine's stop is a power cut: its tasks' tmpfs (RAM) does not survive it."""
    run(cluster, "printf %s volatile | swarmlet secret create cut_pw -")
    run(cluster, f"swarmlet service create -d --name cut --constraint node.role==worker "
                 f"--secret cut_pw {IMAGE}")
    try:
        wait_for(lambda: containers("cut"), timeout=60, what="the task to run")
        assert f"swarmlet-secrets/{WORKER}/" in Path("/proc/self/mounts").read_text()
        cluster.machines("machine", "stop", WORKER)
        assert f"swarmlet-secrets/{WORKER}/" not in Path("/proc/self/mounts").read_text()
    finally:
        cluster.machines("machine", "start", WORKER)
        run(cluster, "swarmlet service rm cut", check=False)
        wait_for(lambda: not containers("cut"), timeout=60, what="the task to go")
        run(cluster, "swarmlet secret rm cut_pw", check=False)
