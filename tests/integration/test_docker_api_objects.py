"""Secrets, configs, networks and stacks through the Engine API, with Docker's own clients:
both docker CLIs (their `stack deploy` parses the compose file itself and makes each object
through the API), the docker SDK and community.docker's modules (docs/docker-api.md).

Every name starts with `eobj` (the swarm is shared by every test_docker_*.py module) and
every test removes what it made."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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

from conftest import wait_for

PREFIX = "eobj"
STACK_LABEL = "com.docker.stack.namespace"


def tag(docker: str) -> str:
    """A name part per CLI, so that the two CLIs' runs never share an object."""
    return "n" if docker.startswith("/usr/local") else "d"


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("docker", DOCKER_CLIS, ids=cli_version)
def test_secrets_and_configs_with_the_cli(engine_swarm, docker, tmp_path):
    def d(args: str, check: bool = True, machine: str = MANAGER):
        return engine_swarm.docker(machine, args, check=check, docker=docker)

    data = tmp_path / "value"
    data.write_text("hunter2")
    secret, config = f"{PREFIX}-{tag(docker)}-pw", f"{PREFIX}-{tag(docker)}-conf"
    secret_id = d(f"secret create --label team=a {secret} {data}").stdout.strip()
    config_id = d(f"config create --label team=a {config} {data}").stdout.strip()
    try:
        assert len(secret_id) == 25 and len(config_id) == 25
        # Listed with Docker's filters, from either manager.
        assert lines(d(f"secret ls --filter name={secret} --format '{{{{.Name}}}}'",
                       machine=MANAGER2).stdout) == [secret]
        assert secret_id in d("secret ls -q --filter label=team=a").stdout
        assert secret_id not in d("secret ls -q --filter label=team=b").stdout
        assert lines(d(f"config ls --filter id={config_id[:8]} -q").stdout) == [config_id]
        spec = json.loads(d(f"secret inspect {secret} --format '{{{{json .Spec}}}}'").stdout)
        assert spec == {"Name": secret, "Labels": {"team": "a"}}  # never the data
        spec = json.loads(d(f"config inspect {config_id} --format '{{{{json .Spec}}}}'")
                          .stdout)
        assert base64.b64decode(spec["Data"]) == b"hunter2"
        # Docker's errors: a name in use, a removal of what is not there.
        again = d(f"secret create {secret} {data}", check=False)
        assert again.returncode != 0 and "already exists" in again.stderr
        assert d("secret inspect eobj-nothing", check=False).returncode != 0
    finally:
        d(f"secret rm {secret}")
        d(f"config rm {config}")
    assert secret not in d("secret ls --format '{{.Name}}'").stdout
    gone = d(f"config rm {config}", check=False)
    assert gone.returncode != 0  # 20.10 says "No such config", 28.2 the daemon's text
    assert "No such config" in gone.stderr or f"config {config} not found" in gone.stderr


def _host_docker_networks() -> str:
    """The Docker networks of the dockerd every machine shares (its own socket)."""
    return subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("docker", NEWEST_CLI, ids=cli_version)
def test_overlay_and_local_networks_with_the_cli(engine_swarm, docker):
    def d(args: str, check: bool = True, machine: str = MANAGER):
        return engine_swarm.docker(machine, args, check=check, docker=docker)

    t = tag(docker)
    overlay, bridge = f"{PREFIX}-{t}-front", f"{PREFIX}-{t}-br"
    subnet = "10.231.1.0/24" if t == "d" else "10.231.2.0/24"
    network_id = d(f"network create -d overlay --attachable --subnet {subnet} --label team=a "
                   f"{overlay}").stdout.strip()
    d(f"network create {bridge}")
    try:
        assert len(network_id) == 25  # a swarm ID, not dockerd's 64 digits
        # Attachable: every node gets the agent's Docker network for it; the API shows the
        # swarm network once, as itself, never those copies.
        wait_for(lambda: f"-{overlay}" in _host_docker_networks(), timeout=30)
        listed = d("network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'").stdout
        assert f"{overlay} overlay swarm" in lines(listed)
        assert f"{bridge} bridge local" in lines(listed)
        assert "swarmlet-" not in listed
        assert lines(d(f"network ls -q --no-trunc -f name={overlay}").stdout) == [network_id]
        assert network_id in d("network ls -q --no-trunc -f driver=overlay").stdout
        assert network_id not in d("network ls -q --no-trunc -f scope=local").stdout
        assert network_id in d("network ls -q --no-trunc -f label=team=a").stdout
        shown = json.loads(d(f"network inspect {overlay}").stdout)[0]
        assert (shown["Id"], shown["Scope"], shown["Driver"], shown["Attachable"]) == (
            network_id, "swarm", "overlay", True)
        assert shown["IPAM"]["Config"][0]["Subnet"] == subnet
        assert json.loads(d(f"network inspect {bridge}").stdout)[0]["Scope"] == "local"
        # A name in use; what an overlay here cannot be, refused by name.
        again = d(f"network create -d overlay {overlay}", check=False)
        assert again.returncode != 0 and "already exists" in again.stderr
        internal = d(f"network create -d overlay --internal {PREFIX}-{t}-in", check=False)
        assert internal.returncode != 0 and "Internal: not supported" in internal.stderr
        # A container that is no task, connected by the swarm network's name (dockerd's
        # own run and connect, onto this node's Docker network of it).
        d(f"run -d --name {PREFIX}-{t}-c {IMAGE} sleep 300")
        d(f"network connect {overlay} {PREFIX}-{t}-c")
        nets = json.loads(d(f"inspect {PREFIX}-{t}-c --format "
                            "'{{json .NetworkSettings.Networks}}'").stdout)
        address = next(n["IPAddress"] for k, n in nets.items() if k.endswith(overlay))
        assert address.startswith(subnet.rsplit(".", 1)[0] + ".")
        d(f"network disconnect {overlay} {PREFIX}-{t}-c")
    finally:
        d(f"rm -f {PREFIX}-{t}-c", check=False)
        # the container's attachment goes asynchronously (docs/networking.md)
        wait_for(lambda: d(f"network rm {overlay}", check=False).returncode == 0
                 or overlay not in d("network ls --format '{{.Name}}'").stdout, timeout=30)
        d(f"network rm {bridge}")
    assert overlay not in d("network ls --format '{{.Name}}'").stdout
    assert bridge not in _host_docker_networks()


SDK_SCRIPT = textwrap.dedent("""
    import json, docker
    client = docker.DockerClient(base_url=%r)
    name = "eobj-sdk"
    out = {}
    secret = client.secrets.create(name=name, data=b"pw", labels={"team": "a"})
    out["secret"] = [s.name for s in client.secrets.list(filters={"label": "team=a"})]
    out["secret_get"] = client.secrets.get(secret.id).name
    secret.remove()
    config = client.configs.create(name=name, data=b"conf")
    out["config"] = [c.name for c in client.configs.list(filters={"name": name})]
    out["config_data"] = client.configs.get(name).attrs["Spec"]["Data"]
    config.remove()
    net = client.networks.create(name, driver="overlay", attachable=True)
    out["network"] = [(n.name, n.attrs["Scope"]) for n in client.networks.list(names=[name])]
    net.remove()
    out["after"] = ([s.name for s in client.secrets.list()]
                    + [c.name for c in client.configs.list()]
                    + [n.name for n in client.networks.list()])
    print(json.dumps(out))
""")


def test_the_docker_sdk(engine_swarm):
    out = json.loads(engine_swarm.python(MANAGER, SDK_SCRIPT % ENGINE_SOCKET).stdout)
    assert out["secret"] == ["eobj-sdk"] and out["secret_get"] == "eobj-sdk"
    assert out["config"] == ["eobj-sdk"] and base64.b64decode(out["config_data"]) == b"conf"
    assert out["network"] == [["eobj-sdk", "swarm"]]
    assert "eobj-sdk" not in out["after"]


TLS_PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.docker.docker:
      docker_host: "tcp://{addr}"
      tls_hostname: swarm-manager
      api_version: "1.41"
      validate_certs: true
      ca_path: "{certs}/ca.pem"
      client_cert: "{certs}/cert.pem"
      client_key: "{certs}/key.pem"
  tasks:
    - community.docker.docker_network: {{name: eobj-tls, driver: overlay}}
      register: made
    - community.docker.docker_network_info: {{name: eobj-tls}}
      register: shown
    - community.docker.docker_network: {{name: eobj-tls, state: absent}}
      register: gone
    - ansible.builtin.assert:
        that:
          - made.changed and gone.changed
          - shown.network.Scope == "swarm" and shown.network.Driver == "overlay"
"""


def test_community_docker_over_tls_from_outside(engine_swarm, client_certs, tmp_path):
    """An operator's certificate on a manager's cluster port, from the root namespace. The
    server's certificate names the role (swarm-manager) and the node ID, never an address,
    as Docker's: so a client checks that name (tls_hostname), which the docker CLI cannot.
    The API version is given: the cluster port answers only versioned paths and /_ping, and
    the SDK's "auto" asks GET /version unversioned."""
    book = tmp_path / "tls.yml"
    book.write_text(TLS_PLAYBOOK.format(addr=engine_swarm.addr(MANAGER), certs=client_certs))
    # requests prefers REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE to the client's own CA path.
    env = {k: v for k, v in os.environ.items()
           if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                           "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
                           str(book)], capture_output=True, text=True, timeout=300,
                          env={**env, "ANSIBLE_NOCOLOR": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:]


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.docker.docker:
      docker_host: "{socket}"
  tasks:
    - community.docker.docker_secret: {{name: eobj-ans, data: pw, state: present}}
      register: s1
    - community.docker.docker_secret: {{name: eobj-ans, data: pw, state: present}}
      register: s2
    - community.docker.docker_config: {{name: eobj-ans, data: conf, state: present}}
      register: c1
    - community.docker.docker_config: {{name: eobj-ans, data: conf, state: present}}
      register: c2
    - community.docker.docker_network:
        name: eobj-ans
        driver: overlay
        attachable: true
        ipam_config: [{{subnet: 10.231.9.0/24}}]
        labels: {{team: a}}
      register: n1
    - community.docker.docker_network:
        name: eobj-ans
        driver: overlay
        attachable: true
        ipam_config: [{{subnet: 10.231.9.0/24}}]
        labels: {{team: a}}
      register: n2
    - community.docker.docker_network: {{name: eobj-ans, state: absent}}
      register: n3
    - community.docker.docker_config: {{name: eobj-ans, state: absent}}
      register: c3
    - community.docker.docker_secret: {{name: eobj-ans, state: absent}}
      register: s3
    - ansible.builtin.assert:
        that:
          - s1.changed and not s2.changed and s3.changed
          - c1.changed and not c2.changed and c3.changed
          - n1.changed and not n2.changed and n3.changed
"""


def _playbook(engine_swarm, tmp_path: Path, text: str, check: bool = True):
    book = tmp_path / "book.yml"
    book.write_text(text)
    bindir = Path(sys.executable).parent
    return engine_swarm.run(
        MANAGER, f"env ANSIBLE_NOCOLOR=1 PATH=/usr/local/bin:/usr/bin:/bin "
                 f"{bindir}/ansible-playbook -i localhost, "
                 f"-e ansible_python_interpreter={sys.executable} {book}", check)


def test_community_docker_modules(engine_swarm, tmp_path):
    proc = _playbook(engine_swarm, tmp_path, PLAYBOOK.format(socket=ENGINE_SOCKET),
                     check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]


COMPOSE = """
version: "3.8"
services:
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "8080"]
    networks: [front]
    secrets: [pw]
    configs: [conf]
networks:
  front:
    driver: overlay
    attachable: true
secrets:
  pw:
    file: {dir}/pw
configs:
  conf:
    file: {dir}/conf
"""


def _services_served(engine_swarm) -> bool:
    return engine_swarm.docker(MANAGER, "service ls", check=False).returncode == 0


def _remove_stack_objects(engine_swarm, docker: str, stack: str) -> None:
    """What `stack rm` removes, one by one (for when /services is not served)."""
    for kind in ("secret", "config", "network"):
        ids = engine_swarm.docker(MANAGER, f"{kind} ls -q -f label={STACK_LABEL}={stack}",
                                  docker=docker).stdout.split()
        if ids:
            engine_swarm.docker(MANAGER, f"{kind} rm {' '.join(ids)}", docker=docker)


@pytest.mark.parametrize("docker", DOCKER_CLIS, ids=cli_version)
def test_stack_deploy_with_the_clis_own_compose_parser(engine_swarm, docker, tmp_path):
    def d(args: str, check: bool = True):
        return engine_swarm.docker(MANAGER, args, check=check, docker=docker)

    stack = f"{PREFIX}{tag(docker)}"
    (tmp_path / "pw").write_text("hunter2")
    (tmp_path / "conf").write_text("listen 8080")
    compose = tmp_path / "stack.yml"
    compose.write_text(COMPOSE.format(image=IMAGE, dir=tmp_path))
    served = _services_served(engine_swarm)
    try:
        first = d(f"stack deploy -c {compose} {stack}", check=False)
        out = first.stdout + first.stderr
        for made in (f"Creating network {stack}_front", f"Creating secret {stack}_pw",
                     f"Creating config {stack}_conf"):
            assert made in out
        net = json.loads(d(f"network inspect {stack}_front").stdout)[0]
        assert (net["Scope"], net["Attachable"], net["Labels"]) == (
            "swarm", True, {STACK_LABEL: stack})
        assert lines(d(f"secret ls -q -f label={STACK_LABEL}={stack}").stdout)
        assert lines(d(f"config ls -q -f label={STACK_LABEL}={stack}").stdout)
        # Again: the network is found by its label, the secret and config updated unchanged.
        second = d(f"stack deploy -c {compose} {stack}", check=False)
        out = second.stdout + second.stderr
        assert "Creating network" not in out and "failed to update" not in out
        if not served:
            pytest.xfail("/services is not served yet (branch esvc): the stack's service")
        assert first.returncode == 0 and second.returncode == 0, out
        assert lines(d("stack ls --format '{{.Name}} {{.Services}}'").stdout).count(
            f"{stack} 1") == 1
        assert lines(d(f"stack services {stack} --format '{{{{.Name}}}}'").stdout) == [
            f"{stack}_web"]
        wait_for(lambda: "Running" in d(f"stack ps {stack} --format '{{{{.CurrentState}}}}'"
                                        ).stdout, timeout=60)
        d(f"stack rm {stack}")
        wait_for(lambda: not lines(d(f"network ls -q -f label={STACK_LABEL}={stack}")
                                   .stdout), timeout=60)
        assert not lines(d(f"secret ls -q -f label={STACK_LABEL}={stack}").stdout)
    finally:
        if not served:
            _remove_stack_objects(engine_swarm, docker, stack)
        else:
            d(f"stack rm {stack}", check=False)


STACK_PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  environment:
    DOCKER_HOST: "{socket}"
  tasks:
    - community.docker.docker_stack: {{name: eobjans, compose: ["{compose}"]}}
      register: first
    - community.docker.docker_stack: {{name: eobjans, compose: ["{compose}"]}}
      register: again
    - community.docker.docker_stack: {{name: eobjans, state: absent, absent_retries: 30}}
      register: gone
    - ansible.builtin.assert:
        that: [first.changed, not again.changed, gone.changed]
"""


def test_community_docker_stack(engine_swarm, tmp_path):
    """docker_stack runs `docker stack deploy` (the CLI on PATH, DOCKER_HOST in its
    environment) and compares `docker service inspect` before and after."""
    if not _services_served(engine_swarm):
        pytest.xfail("/services is not served yet (branch esvc): docker_stack lists the "
                     "stack's services first")
    (tmp_path / "pw").write_text("hunter2")
    (tmp_path / "conf").write_text("listen 8080")
    compose = tmp_path / "stack.yml"
    compose.write_text(COMPOSE.format(image=IMAGE, dir=tmp_path))
    proc = _playbook(engine_swarm, tmp_path, STACK_PLAYBOOK.format(
        socket=ENGINE_SOCKET, compose=compose), check=False)
    if proc.returncode != 0:
        engine_swarm.docker(MANAGER, "stack rm eobjans", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
