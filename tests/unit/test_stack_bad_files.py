"""Every class of bad compose file, as `swarmlet stack deploy` meets it: the CLI reads the
file (YAML, interpolation, the files it names) and sends it to the agent's real routes
(api/swarm.py) on a unix socket, over the control API and an in-memory store. Each is refused
with its message on stderr, nothing on stdout, exit code 1, and nothing is written.

These need no machines; tests/integration/test_stacks.py keeps one bad file against a real
cluster to show a refusal reaches the CLI through the daemon."""

from __future__ import annotations

import json
from collections.abc import Iterator
from ipaddress import IPv4Network
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_network_api import TS, FakeManager, FakeStore

from swarmlet.api.router import Router
from swarmlet.api.server import UnixApiServer
from swarmlet.api.swarm import add_swarm_routes
from swarmlet.cli.main import main
from swarmlet.manager.controlapi import networks as controlapi_networks
from swarmlet.manager.controlapi import stacks as controlapi_stacks
from swarmlet.manager.controlapi.networks import ingress_network
from swarmlet.manager.sealing import DataKeys
from swarmlet.store.keyring import RaftKeyRing
from swarmlet.transport.threads import serve_in_thread

# name: (file, what stderr must say). The words are the file, the key and the culprit.
BAD_FILES = {
    "unknown-key": ("services:\n  web:\n    image: placement/web:1\n    replica: 2\n",
                    ["bad.yml", "services.web", "replica"]),
    "wrong-type": ("services:\n  web:\n    image: placement/web:1\n    deploy:\n"
                   "      replicas: two\n", ["bad.yml", "services.web.deploy.replicas"]),
    "missing-external-secret": (
        "services:\n  web:\n    image: placement/web:1\n    secrets: [nope]\n"
        "secrets:\n  nope:\n    external: true\n", ["bad.yml", "secret not found: nope"]),
    "missing-external-network": (
        "services:\n  web:\n    image: placement/web:1\n    networks: [outside]\n"
        "networks:\n  outside:\n    external: true\n",
        ['network "outside" is declared as external, but could not be found']),
    "missing-variable": ("services:\n  web:\n    image: placement/web:${TAG:?set TAG}\n",
                         ["bad.yml", "services.web.image", "required variable TAG"]),
    "missing-env-file": ("services:\n  web:\n    image: placement/web:1\n    env_file: no.env\n",
                         ["bad.yml", "services.web.env_file", "no.env"]),
    "yaml": ("services:\n  web:\n   image: a\n  ports: [\n", ["bad.yml", "yaml: line"]),
    "encrypted-overlay": (
        "services:\n  web:\n    image: placement/web:1\n    networks: [secure]\n"
        "networks:\n  secure:\n    driver_opts:\n      encrypted: \"\"\n",
        ["bad.yml", "networks.secure", "encrypted"]),
}


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """A manager's node for the agent's routes (api/swarm.py) on a unix socket; `address` is
    its -H address, `manager` the one each test gives it."""
    node = SimpleNamespace(state="active", locked=False, control=object(), manager=None)
    router = Router()
    add_swarm_routes(router, node)
    path = tmp_path_factory.mktemp("agent") / "api.sock"
    server = UnixApiServer(path, router)
    serve_in_thread(server, "test-stack-bad-files")
    node.address = f"unix://{path}"
    yield node
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(monkeypatch) -> FakeStore:
    host = [IPv4Network("10.255.255.53/32")]
    monkeypatch.setattr(controlapi_networks, "host_networks", lambda: host)
    monkeypatch.setattr(controlapi_stacks, "host_networks", lambda: host)
    store = FakeStore()
    store.state.apply([{"op": "create", "kind": "cluster",
                        "object": {"ID": "c1", "Spec": {"Name": "default"}}},
                       {"op": "create", "kind": "network", "object": ingress_network([])}], TS)
    return store


@pytest.fixture
def agent(node, store) -> str:
    """The agent's address, its manager's state in `store`."""
    node.manager = FakeManager(store)
    node.manager.data_key = DataKeys(RaftKeyRing.single("raft-key"))
    return node.address


def test_the_agent_deploys_a_good_file(agent, store, tmp_path, monkeypatch, capsys) -> None:
    """The same agent takes a good file: the refusals below are the files' doing."""
    monkeypatch.chdir(tmp_path)
    Path("good.yml").write_text("services:\n  web:\n    image: placement/web:1\n")
    assert main(["-H", agent, "stack", "deploy", "-d", "-c", "good.yml", "good"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Creating network good_default",
                                                    "Creating service good_web"]
    assert [s["Spec"]["Name"] for s in store.list("service")] == ["good_web"]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_with_its_message_and_creates_nothing(
        agent, store, tmp_path, monkeypatch, capsys, case) -> None:
    text, words = BAD_FILES[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TAG", raising=False)
    Path("bad.yml").write_text(text)
    before = json.dumps(store.state.objects, sort_keys=True)
    assert main(["-H", agent, "stack", "deploy", "-c", "bad.yml", "bad" + case]) == 1
    out, err = capsys.readouterr()
    for word in words:
        assert word in err, (case, err)
    assert out == ""
    assert json.dumps(store.state.objects, sort_keys=True) == before
