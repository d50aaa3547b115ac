"""Stack deploys over an in-memory store (the real state machine) through the real control
APIs: the plan, Docker's order, a redeploy that changes one service, dry runs, prune,
external objects, refusals before anything is written, `stack ls` and `stack rm`."""

from __future__ import annotations

import base64
import json
from ipaddress import IPv4Network

import pytest
import yaml
from test_network_api import FakeManager, FakeStore

from swarmlet.api.router import Request, Router
from swarmlet.api.stacks import add_stack_routes
from swarmlet.errors import DomainError
from swarmlet.manager.controlapi import networks as controlapi_networks
from swarmlet.manager.controlapi import stacks as controlapi_stacks
from swarmlet.manager.controlapi.networks import ingress_network
from swarmlet.manager.controlapi.secrets import SECRET, DataObjectAPI
from swarmlet.manager.controlapi.stacks import StackAPI
from swarmlet.manager.sealing import DataKeys
from swarmlet.store.keyring import RaftKeyRing

TS = "2026-01-01T12:00:00.000000Z"

VOTING = """
version: "3.8"
services:
  redis:
    image: redis:alpine
    networks: [frontend]
  db:
    image: postgres:15-alpine
    volumes: [db-data:/var/lib/postgresql/data]
    networks: [backend]
  vote:
    image: demo/vote:1
    ports: ["5000:80"]
    networks: [frontend]
    deploy: {replicas: 2}
  worker:
    image: demo/worker:1
    networks: [frontend, backend]
networks:
  frontend:
  backend:
volumes:
  db-data:
"""

SHOP = """
version: "3.8"
services:
  shop:
    image: demo/shop:2
    secrets:
      - db_password
      - source: api_key
        target: /etc/shop/api.key
        mode: 0400
    configs: [shop_conf]
secrets:
  db_password:
    external: true
  api_key:
    file: ./api.key
configs:
  shop_conf:
    file: ./shop.conf
"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def env(monkeypatch):
    host = [IPv4Network("10.255.255.53/32")]
    monkeypatch.setattr(controlapi_networks, "host_networks", lambda: host)
    monkeypatch.setattr(controlapi_stacks, "host_networks", lambda: host)
    store = FakeStore()
    store.state.apply([{"op": "create", "kind": "cluster",
                        "object": {"ID": "c1", "Spec": {"Name": "default"}}},
                       {"op": "create", "kind": "network", "object": ingress_network([])}], TS)
    manager = FakeManager(store)
    manager.data_key = DataKeys(RaftKeyRing.single("raft-key"))
    return StackAPI(manager), manager, store


def request(text: str, name: str = "vote", contents=None, prune=False, filename="stack.yml"):
    return {"Name": name, "Files": [{"Filename": filename, "Config": yaml.safe_load(text)}],
            "Contents": {k: b64(v) for k, v in (contents or {}).items()}, "Prune": prune}


def actions(answer) -> list[tuple[str, str, str]]:
    return [(s["Kind"], s["Name"], s["Action"]) for s in answer["Plan"]]


def names(store, kind: str) -> list[str]:
    return sorted(o["Spec"]["Name"] for o in store.list(kind))


def failure(func, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as exc:
        func(*args, **kwargs)
    return exc.value


def test_a_deploy_creates_in_dockers_order(env):
    stacks, _, store = env
    answer = stacks.deploy(request(VOTING))
    assert answer["DryRun"] is False and answer["Warnings"] == []
    assert actions(answer) == [
        ("network", "vote_backend", "create"), ("network", "vote_frontend", "create"),
        ("service", "vote_db", "create"), ("service", "vote_redis", "create"),
        ("service", "vote_vote", "create"), ("service", "vote_worker", "create")]
    assert all(step["ID"] for step in answer["Plan"])
    assert names(store, "network") == ["ingress", "vote_backend", "vote_frontend"]
    worker = store.find_by_name("service", "vote_worker")
    backend = store.find_by_name("network", "vote_backend")
    assert {"Target": backend["ID"], "Aliases": ["worker"]} in \
        worker["Spec"]["TaskTemplate"]["Networks"]
    assert worker["Spec"]["Labels"]["com.docker.stack.namespace"] == "vote"


def test_a_redeploy_with_one_change_updates_only_that_service(env):
    stacks, _, store = env
    stacks.deploy(request(VOTING))
    versions = {s["Spec"]["Name"]: s["Version"]["Index"] for s in store.list("service")}
    again = stacks.deploy(request(VOTING))
    assert {s["Action"] for s in again["Plan"]} == {"unchanged"}
    assert {s["Spec"]["Name"]: s["Version"]["Index"] for s in store.list("service")} == \
        versions
    changed = stacks.deploy(request(VOTING.replace("replicas: 2", "replicas: 5")))
    assert [(s["Name"], s["Action"]) for s in changed["Plan"] if s["Action"] != "unchanged"] \
        == [("vote_vote", "update")]
    [step] = [s for s in changed["Plan"] if s["Action"] == "update"]
    assert step["Diff"] == [{"Path": "Mode.Replicated.Replicas", "Old": 2, "New": 5}]
    after = {s["Spec"]["Name"]: s["Version"]["Index"] for s in store.list("service")}
    assert [n for n in after if after[n] != versions[n]] == ["vote_vote"]
    assert store.find_by_name("service", "vote_vote")["Spec"]["Mode"] == {
        "Replicated": {"Replicas": 5}}


def test_a_dry_run_plans_and_writes_nothing(env):
    stacks, _, store = env
    before = json.dumps(store.state.objects, sort_keys=True)
    answer = stacks.deploy(request(VOTING), dry_run=True)
    assert answer["DryRun"] is True
    assert [a for _, _, a in actions(answer)] == ["create"] * 6
    assert all(step["ID"] == "" for step in answer["Plan"])
    assert json.dumps(store.state.objects, sort_keys=True) == before


def test_external_secret_must_exist_before_anything_is_created(env):
    stacks, manager, store = env
    contents = {"./api.key": b"k-1", "./shop.conf": b"listen 80"}
    error = failure(stacks.deploy, request(SHOP, "shop", contents))
    assert error.code == "not_found"
    assert error.message == "stack.yml: services.shop: secret not found: db_password"
    assert names(store, "secret") == [] and names(store, "config") == []
    DataObjectAPI(manager, SECRET).create({"Name": "db_password", "Data": b64(b"pw")})
    answer = stacks.deploy(request(SHOP, "shop", contents))
    assert actions(answer) == [("network", "shop_default", "create"),
                               ("secret", "shop_api_key", "create"),
                               ("config", "shop_shop_conf", "create"),
                               ("service", "shop_shop", "create")]
    container = store.find_by_name("service", "shop_shop")["Spec"]["TaskTemplate"][
        "ContainerSpec"]
    ids = {o["Spec"]["Name"]: o["ID"] for o in store.list("secret")}
    assert [(r["SecretName"], r["SecretID"], r["File"]["Name"], r["File"]["Mode"])
            for r in container["Secrets"]] == [
        ("db_password", ids["db_password"], "db_password", 0o444),
        ("shop_api_key", ids["shop_api_key"], "/etc/shop/api.key", 0o400)]
    assert container["Configs"][0]["ConfigName"] == "shop_shop_conf"


def test_a_changed_secret_value_is_refused_before_anything_is_written(env):
    stacks, manager, store = env
    DataObjectAPI(manager, SECRET).create({"Name": "db_password", "Data": b64(b"pw")})
    stacks.deploy(request(SHOP, "shop", {"./api.key": b"k-1", "./shop.conf": b"c"}))
    before = json.dumps(store.state.objects, sort_keys=True)
    text = SHOP.replace("image: demo/shop:2", "image: demo/shop:3")
    error = failure(stacks.deploy, request(text, "shop", {"./api.key": b"k-2",
                                                          "./shop.conf": b"c"}))
    assert error.message.startswith("stack.yml: secrets.api_key: failed to update secret "
                                    "shop_api_key: only updates to Labels are allowed")
    assert json.dumps(store.state.objects, sort_keys=True) == before


def test_a_missing_external_network_is_named(env):
    stacks, _, store = env
    text = """
services:
  web: {image: a, networks: [outside]}
networks:
  outside: {external: true, name: shared-net}
"""
    error = failure(stacks.deploy, request(text, "web"))
    assert (error.code, error.message) == ("not_found", 'network "shared-net" is declared as '
                                           "external, but could not be found. You need to "
                                           "create a swarm-scoped network before the stack is "
                                           "deployed")
    assert names(store, "service") == []


def test_network_rules_refuse_a_stack_network_naming_its_entry(env):
    stacks, _, store = env
    text = """
services:
  web: {image: a}
networks:
  default: {driver: bridge}
"""
    error = failure(stacks.deploy, request(text, "web", filename="c.yml"))
    assert error.message == "c.yml: networks.default: only overlay driver is currently supported"
    assert names(store, "network") == ["ingress"]


def test_a_name_held_outside_the_stack_is_a_conflict(env):
    stacks, manager, store = env
    from swarmlet.manager.controlapi.services import ServiceAPI

    ServiceAPI(manager).create({"Name": "vote_redis",
                                "TaskTemplate": {"ContainerSpec": {"Image": "x"}}})
    error = failure(stacks.deploy, request(VOTING))
    assert (error.code, error.message) == ("conflict", "stack.yml: services.redis: service "
                                           "vote_redis already exists")
    assert names(store, "network") == ["ingress"]


def test_prune_removes_what_the_files_no_longer_name(env):
    stacks, _, store = env
    stacks.deploy(request(VOTING))
    smaller = VOTING.replace("""  worker:
    image: demo/worker:1
    networks: [frontend, backend]
""", "").replace("""  db:
    image: postgres:15-alpine
    volumes: [db-data:/var/lib/postgresql/data]
    networks: [backend]
""", "")
    kept = stacks.deploy(request(smaller))  # without --prune nothing goes
    assert "remove" not in {s["Action"] for s in kept["Plan"]}
    answer = stacks.deploy(request(smaller, prune=True))
    assert [(k, n) for k, n, a in actions(answer) if a == "remove"] == [
        ("service", "vote_db"), ("service", "vote_worker"), ("network", "vote_backend")]
    assert names(store, "service") == ["vote_redis", "vote_vote"]
    assert names(store, "network") == ["ingress", "vote_frontend"]


def test_stack_ls_and_rm(env):
    stacks, manager, store = env
    stacks.deploy(request(VOTING))
    DataObjectAPI(manager, SECRET).create({"Name": "db_password", "Data": b64(b"pw")})
    stacks.deploy(request(SHOP, "shop", {"./api.key": b"k", "./shop.conf": b"c"}))
    assert stacks.list() == [{"Name": "shop", "Services": 1}, {"Name": "vote", "Services": 4}]
    answer = stacks.remove("shop")
    assert [(o["Kind"], o["Name"]) for o in answer["Removed"]] == [
        ("service", "shop_shop"), ("secret", "shop_api_key"), ("config", "shop_shop_conf"),
        ("network", "shop_default")]
    assert "Errors" not in answer
    assert names(store, "secret") == ["db_password"]  # external: not the stack's
    assert stacks.list() == [{"Name": "vote", "Services": 4}]
    error = failure(stacks.remove, "shop")
    assert (error.code, error.message) == ("not_found", "Nothing found in stack: shop")


def test_the_route_keeps_a_compose_files_nulls(env):
    _, manager, _ = env
    router = Router()
    add_stack_routes(router, router.add, lambda: manager)
    route, _ = router.match("POST", "/stacks/deploy")
    body = {"Name": "place", "Files": [{"Filename": "c.yml", "Config": {
        "version": "3.7",
        "services": {"agent": {"image": "a", "networks": {"webnet": None},
                               "deploy": {"mode": "global"}}},
        "networks": {"webnet": None}}}]}
    answer = route.handler(Request("POST", "/stacks/deploy", {}, {"dry_run": "1"}, body,
                                   True))
    assert actions(answer) == [("network", "place_webnet", "create"),
                               ("service", "place_agent", "create")]
    bad = {**body, "Name": " "}
    with pytest.raises(DomainError, match="Name"):
        route.handler(Request("POST", "/stacks/deploy", {}, {}, bad, True))
