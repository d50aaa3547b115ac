"""Several compose files merged in order, as Docker merges `-c base.yml -c prod.yml`."""

from __future__ import annotations

import yaml

from swarmlet.spec.compose import load_project, load_stack

BASE = """
version: "3.8"
services:
  web:
    image: demo/web:1
    command: ["serve", "--port", "80"]
    environment: {LEVEL: info, REGION: eu}
    labels: {tier: front}
    ports: ["80:8080", "9090"]
    cap_add: [NET_ADMIN]
    read_only: true
    volumes: ["data:/data", "/etc/tz:/etc/timezone:ro"]
    secrets: [token]
    networks:
      front:
        aliases: [www]
    logging:
      driver: json-file
      options: {max-size: 10m}
    deploy:
      replicas: 2
      placement: {constraints: [node.role == worker]}
      resources: {limits: {memory: 128M}}
  db:
    image: postgres:15
networks:
  front:
    driver_opts: {com.example.a: "1"}
volumes:
  data:
secrets:
  token:
    file: ./token
"""

PROD = """
version: "3.8"
services:
  web:
    image: demo/web:2
    command: serve --port 8080
    environment: [LEVEL=warn]
    read_only: false
    ports:
      - target: 8443
        published: 80
    cap_add: [SYS_TIME]
    volumes: [{type: volume, source: data, target: /data, read_only: true}]
    networks:
      front:
        aliases: [web.example]
    logging:
      options: {max-file: "3"}
    deploy:
      replicas: 0
      placement: {constraints: [node.labels.zone == a]}
      resources: {limits: {cpus: "1"}}
  cache:
    image: redis:7
networks:
  front:
    labels: [owner=ops]
"""


def merged():
    files = [{"Filename": "base.yml", "Config": yaml.safe_load(BASE)},
             {"Filename": "prod.yml", "Config": yaml.safe_load(PROD)}]
    return load_project(files, {"./token": b"t"}), files


def test_services_merge_key_by_key():
    project, _ = merged()
    web = project.services["web"]
    assert list(project.services) == ["cache", "db", "web"]
    assert web["image"] == "demo/web:2"
    assert web["command"] == ["serve", "--port", "8080"]  # replaced, not appended
    assert web["environment"] == {"LEVEL": "warn", "REGION": "eu"}
    assert web["labels"] == {"tier": "front"}
    assert web["read_only"] is True  # false is Go's zero value: it does not override
    assert web["cap_add"] == ["NET_ADMIN", "SYS_TIME"]  # lists are appended
    assert web["deploy"]["replicas"] == 0  # a pointer in Go: 0 overrides
    assert web["deploy"]["placement"]["constraints"] == ["node.role == worker",
                                                         "node.labels.zone == a"]
    assert web["deploy"]["resources"]["limits"] == {"memory": "128M", "cpus": "1"}
    assert web["networks"]["front"]["aliases"] == ["web.example"]
    assert web["logging"] == {"driver": "json-file",
                              "options": {"max-size": "10m", "max-file": "3"}}


def test_ports_volumes_and_secrets_merge_by_their_keys():
    project, _ = merged()
    web = project.services["web"]
    assert web["ports"] == [
        {"target": 9090, "published": 0, "protocol": "tcp", "mode": "ingress"},
        {"target": 8443, "published": 80}]  # published port 80 replaced
    assert web["volumes"] == [
        {"type": "volume", "source": "data", "target": "/data", "read_only": True},
        {"source": "/etc/tz", "target": "/etc/timezone", "read_only": True, "type": "bind"}]
    assert web["secrets"] == [{"source": "token"}]


def test_top_level_definitions_are_replaced_whole():
    project, _ = merged()
    assert project.networks["front"]["labels"] == {"owner": "ops"}
    assert project.networks["front"]["driver_opts"] == {}
    assert project.origins[("services", "web")] == "prod.yml"
    assert project.origins[("services", "db")] == "base.yml"


def test_merged_files_convert_to_one_stack():
    _, files = merged()
    specs = load_stack("shop", files, {"./token": b"t"})
    web = next(s for s in specs.services if s["Name"] == "shop_web")
    assert web["TaskTemplate"]["ContainerSpec"]["Args"] == ["serve", "--port", "8080"]
    assert web["Mode"] == {"Replicated": {"Replicas": 0}}
    assert web["TaskTemplate"]["Networks"] == [{"Target": "shop_front",
                                                "Aliases": ["web.example", "web"]}]
    assert [s["Name"] for s in specs.services] == ["shop_cache", "shop_db", "shop_web"]
