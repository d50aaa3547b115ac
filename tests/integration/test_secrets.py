"""Secrets and configs from the CLI on a one-manager swarm (`sec-1`): create from stdin or a
file, ls, inspect (a secret's data never shown; a config's shown), rm, Docker's messages; and
a secret's value on no disk of the machine (Raft journal, agent files, logs), searched for by
a random marker value."""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from swarm_cluster import Cluster, running_cluster

MANAGER = "sec-1"


@pytest.fixture(scope="module")
def cluster(swarmlet):
    with running_cluster(swarmlet, [MANAGER], []) as c:
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
    assert ls[0].split() == ["ID", "NAME", "CREATED", "UPDATED"]
    assert ls[1].split()[:2] == [secret_id, "db_pw"]
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
