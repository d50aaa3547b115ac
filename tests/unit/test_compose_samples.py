"""Compose files shaped like the sample applications people deploy as stacks, converted as
Docker's CLI converts them: names STACK_x, the stack's labels, networks with the service's
name as an alias, the default network, named volumes, external secrets, ports, policies."""

from __future__ import annotations

import base64

import yaml

from swarmlet.spec.compose import load_stack

NS = "com.docker.stack.namespace"

VOTING = """
version: "3.9"
services:
  redis:
    image: redis:alpine
    networks: [frontend]
    deploy:
      replicas: 1
      update_config: {parallelism: 2, delay: 10s}
      restart_policy: {condition: on-failure}
  db:
    image: postgres:15-alpine
    environment:
      POSTGRES_USER: "postgres"
      POSTGRES_PASSWORD: "postgres"
    volumes:
      - db-data:/var/lib/postgresql/data
    networks: [backend]
    deploy:
      placement:
        constraints: [node.role == manager]
  vote:
    image: dockersamples/examplevotingapp_vote
    ports: ["5000:80"]
    networks: [frontend]
    depends_on: [redis]
    deploy:
      replicas: 2
  worker:
    image: dockersamples/examplevotingapp_worker
    networks: [frontend, backend]
    deploy:
      labels: [APP=VOTING]
      restart_policy: {condition: on-failure, delay: 10s, max_attempts: 3, window: 120s}
  visualizer:
    image: dockersamples/visualizer:stable
    ports: ["8080:8080"]
    stop_grace_period: 1m30s
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
networks:
  frontend:
  backend:
volumes:
  db-data:
"""

# 4-space indentation, explicit null networks, a global service on workers only.
PLACEMENT = """
version: '3.7'
services:
    web:
        image: demo/web:1
        networks:
            - webnet
        deploy:
            replicas: 3
            placement:
                constraints:
                    - node.labels.ssd == true
    agent:
        image: demo/agent:1
        networks:
            webnet: null
        deploy:
            mode: global
            placement:
                constraints: [node.role == worker]
networks:
    webnet: null
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
        uid: "1000"
        gid: "1000"
        mode: 0400
    ports:
      - "80:8080"
      - target: 8443
        published: 443
        protocol: tcp
        mode: host
      - "9000-9001:9000-9001/udp"
    stop_grace_period: 1m30s
    healthcheck:
      test: ["CMD", "wget", "-q", "http://localhost:8080/health"]
      interval: 30s
      timeout: 5s
      retries: 3
      start_period: 10s
    deploy:
      replicas: 2
      update_config:
        parallelism: 1
        delay: 10s
        failure_action: rollback
        order: start-first
      rollback_config:
        parallelism: 0
      resources:
        limits: {cpus: '0.50', memory: 256M}
        reservations: {memory: 64M}
secrets:
  db_password:
    external: true
  api_key:
    external:
      name: shop_api_key_v2
"""


def deploy(text: str, stack: str = "app", contents: dict | None = None, name: str = "c.yml"):
    return load_stack(stack, [{"Filename": name, "Config": yaml.safe_load(text)}],
                      contents or {})


def service(specs, name: str) -> dict:
    return next(s for s in specs.services if s["Name"] == name)


def test_voting_app_names_labels_networks_and_volume():
    specs = deploy(VOTING, "vote")
    assert [n["Name"] for n in specs.networks] == ["vote_backend", "vote_default",
                                                   "vote_frontend"]
    assert all(n["Labels"] == {NS: "vote"} and n["DriverConfiguration"] == {"Name": "overlay"}
               for n in specs.networks)
    db = service(specs, "vote_db")
    container = db["TaskTemplate"]["ContainerSpec"]
    assert container["Env"] == ["POSTGRES_PASSWORD=postgres", "POSTGRES_USER=postgres"]
    assert container["Mounts"] == [{"Type": "volume", "Target": "/var/lib/postgresql/data",
                                    "Source": "vote_db-data",
                                    "VolumeOptions": {"Labels": {NS: "vote"}}}]
    assert db["Labels"] == {NS: "vote", "com.docker.stack.image": "postgres:15-alpine"}
    worker = service(specs, "vote_worker")
    assert worker["TaskTemplate"]["Networks"] == [
        {"Target": "vote_backend", "Aliases": ["worker"]},
        {"Target": "vote_frontend", "Aliases": ["worker"]}]
    assert worker["Labels"]["APP"] == "VOTING"
    assert worker["TaskTemplate"]["RestartPolicy"] == {
        "Condition": "on-failure", "Delay": 10 * 10**9, "MaxAttempts": 3,
        "Window": 120 * 10**9}
    visualizer = service(specs, "vote_visualizer")  # names no network: the default one
    assert visualizer["TaskTemplate"]["Networks"] == [{"Target": "vote_default",
                                                       "Aliases": ["visualizer"]}]
    assert visualizer["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == 90 * 10**9
    assert service(specs, "vote_vote")["EndpointSpec"] == {"Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 5000, "PublishMode": "ingress"}]}
    assert specs.warnings == ["Ignoring unsupported options: depends_on"]


def test_placement_exercise_with_four_spaces_and_null_networks():
    specs = deploy(PLACEMENT, "place")
    assert [n["Name"] for n in specs.networks] == ["place_webnet"]
    web, agent = service(specs, "place_web"), service(specs, "place_agent")
    assert web["TaskTemplate"]["Placement"] == {"Constraints": ["node.labels.ssd == true"]}
    assert web["Mode"] == {"Replicated": {"Replicas": 3}}
    assert agent["Mode"] == {"Global": {}}
    assert agent["TaskTemplate"]["Networks"] == [{"Target": "place_webnet",
                                                  "Aliases": ["agent"]}]


def test_shop_with_external_secrets_short_and_long():
    specs = deploy(SHOP, "shop")
    assert specs.secrets == []  # external: nothing to create
    shop = service(specs, "shop_shop")
    container = shop["TaskTemplate"]["ContainerSpec"]
    assert container["Secrets"] == [
        {"File": {"Name": "db_password", "UID": "0", "GID": "0", "Mode": 0o444},
         "SecretName": "db_password"},
        {"File": {"Name": "/etc/shop/api.key", "UID": "1000", "GID": "1000", "Mode": 0o400},
         "SecretName": "shop_api_key_v2"}]
    assert container["StopGracePeriod"] == 90 * 10**9
    assert container["Healthcheck"] == {
        "Test": ["CMD", "wget", "-q", "http://localhost:8080/health"],
        "Interval": 30 * 10**9, "Timeout": 5 * 10**9, "Retries": 3,
        "StartPeriod": 10 * 10**9}
    assert shop["UpdateConfig"] == {"Parallelism": 1, "Delay": 10 * 10**9,
                                    "FailureAction": "rollback", "Order": "start-first"}
    assert shop["RollbackConfig"] == {"Parallelism": 0}
    assert shop["TaskTemplate"]["Resources"] == {
        "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 256 << 20},
        "Reservations": {"MemoryBytes": 64 << 20}}
    assert shop["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 80, "PublishMode": "ingress"},
        {"Protocol": "tcp", "TargetPort": 8443, "PublishedPort": 443, "PublishMode": "host"},
        {"Protocol": "udp", "TargetPort": 9000, "PublishedPort": 9000,
         "PublishMode": "ingress"},
        {"Protocol": "udp", "TargetPort": 9001, "PublishedPort": 9001,
         "PublishMode": "ingress"}]
    assert "secret.external.name is deprecated" in " ".join(specs.warnings)


def test_anchors_merge_keys_and_extension_fields():
    text = """
version: "3.7"
x-defaults: &defaults
  image: demo/app:1
  deploy:
    replicas: 2
  x-note: extension fields may stand in a service
x-logging: &logging
  driver: json-file
  options: {max-size: 10m, max-file: 3}
services:
  api:
    <<: *defaults
    logging: *logging
    environment:
      - MODE=api
  jobs:
    <<: *defaults
    environment: {MODE: jobs, WORKERS: 4, RATIO: 0.5, EMPTY: ""}
networks:
  default:
    x-comment: here too
"""
    specs = deploy(text)
    api, jobs = service(specs, "app_api"), service(specs, "app_jobs")
    assert api["Mode"] == jobs["Mode"] == {"Replicated": {"Replicas": 2}}
    assert api["TaskTemplate"]["LogDriver"] == {
        "Name": "json-file", "Options": {"max-size": "10m", "max-file": "3"}}
    assert jobs["TaskTemplate"]["ContainerSpec"]["Env"] == [
        "EMPTY=", "MODE=jobs", "RATIO=0.5", "WORKERS=4"]


def test_env_file_secrets_and_configs_from_contents():
    text = """
version: "3.8"
services:
  app:
    image: demo/app:1
    env_file: [./common.env, app.env]
    environment: [LEVEL=debug, FROM_CLIENT]
    secrets: [token]
    configs:
      - source: nginx
        target: /etc/nginx/nginx.conf
secrets:
  token:
    file: ./token.txt
    labels: {team: a}
configs:
  nginx:
    name: nginx-conf-v1
    file: ./nginx.conf
"""
    contents = {"./common.env": b"\xef\xbb\xbf# comment\n  LEVEL=info\nQUOTED=\"a b\" \n"
                                b"NO_VALUE\n",
                "app.env": b"NAME=app\r\n",
                "./token.txt": b"s3cret", "./nginx.conf": b"server {}"}
    specs = deploy(text, contents=contents)
    container = service(specs, "app_app")["TaskTemplate"]["ContainerSpec"]
    assert container["Env"] == ["FROM_CLIENT", "LEVEL=debug", "NAME=app", 'QUOTED="a b" ']
    assert specs.secrets == [{"Name": "app_token", "Labels": {"team": "a", NS: "app"},
                              "Data": base64.b64encode(b"s3cret").decode()}]
    assert specs.configs[0]["Name"] == "nginx-conf-v1"
    assert container["Configs"] == [{"File": {"Name": "/etc/nginx/nginx.conf", "UID": "0",
                                              "GID": "0", "Mode": 0o444},
                                     "ConfigName": "nginx-conf-v1"}]


def test_compose_specification_without_version():
    text = """
name: myproject
services:
  web:
    image: nginx:alpine
    platform: linux/amd64
    pull_policy: always
    restart: unless-stopped
    build: .
    container_name: web
    ports:
      - target: 80
        published: "8080"
    volumes:
      - type: tmpfs
        target: /cache
        tmpfs: {size: 1m, mode: 0o1777}
      - type: volume
        source: data
        target: /data
        volume: {nocopy: true, subpath: sub}
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    cap_add: [net_admin]
    cap_drop: [ALL]
    extra_hosts: ["db=10.1.2.3", "cache:10.1.2.4"]
    dns: [1.1.1.1, not-an-ip]
volumes:
  data:
    driver: local
    driver_opts: {type: tmpfs, device: tmpfs, o: size=100m}
    labels: [tier=data]
"""
    specs = deploy(text)
    web = service(specs, "app_web")
    container = web["TaskTemplate"]["ContainerSpec"]
    assert container["Mounts"] == [
        {"Type": "tmpfs", "Target": "/cache",
         "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}},
        {"Type": "volume", "Target": "/data", "Source": "app_data", "VolumeOptions": {
            "NoCopy": True, "Subpath": "sub", "Labels": {"tier": "data", NS: "app"},
            "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs",
                                                          "o": "size=100m"}}}}]
    assert web["TaskTemplate"]["RestartPolicy"] == {"Condition": "any"}  # from `restart`
    assert container["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert container["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048},
                                    {"Name": "nproc", "Soft": 512, "Hard": 512}]
    assert (container["CapabilityAdd"], container["CapabilityDrop"]) == (["CAP_NET_ADMIN"],
                                                                          ["ALL"])
    assert container["Hosts"] == ["10.1.2.3 db", "10.1.2.4 cache"]
    assert container["DNSConfig"] == {"Nameservers": ["1.1.1.1"]}
    assert web["EndpointSpec"]["Ports"] == [{"TargetPort": 80, "PublishedPort": 8080}]
    assert specs.warnings == [
        "Ignoring unsupported options: build, name, platform, pull_policy, restart",
        "Ignoring deprecated options:\n\ncontainer_name: Setting the container name is not "
        "supported."]


def test_interpolated_strings_are_cast_as_docker_casts_them():
    text = """
version: "3.8"
services:
  app:
    image: demo/app:1
    read_only: "true"
    ports: [{target: "80", published: "8080"}]
    deploy: {replicas: "3", update_config: {max_failure_ratio: "0.2"}}
networks:
  outside:
    external: "yes"
"""
    app = service(deploy(text), "app_app")
    assert app["Mode"] == {"Replicated": {"Replicas": 3}}
    assert app["UpdateConfig"]["MaxFailureRatio"] == 0.2
    assert app["TaskTemplate"]["ContainerSpec"]["ReadOnly"] is True


def test_job_modes_and_external_network_by_name():
    text = """
version: "3.9"
services:
  migrate:
    image: demo/migrate:1
    networks: [shared]
    deploy: {mode: replicated-job, replicas: 2}
networks:
  shared:
    external: true
    name: platform_net
"""
    specs = load_stack_unchecked(text)
    migrate = specs.services[0]
    assert migrate["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}
    assert migrate["TaskTemplate"]["Networks"] == [{"Target": "platform_net",
                                                    "Aliases": ["migrate"]}]
    assert specs.external_networks == ["platform_net"] and specs.networks == []


def load_stack_unchecked(text: str):
    """The conversion alone, without the spec core's rules (job modes are another part's)."""
    from swarmlet.spec.compose import convert_stack, load_project

    project = load_project([{"Filename": "c.yml", "Config": yaml.safe_load(text)}], {})
    import swarmlet.spec.compose.stack as stack

    saved, stack._check = stack._check, lambda specs: None
    try:
        return convert_stack("app", project)
    finally:
        stack._check = saved
