"""Typed models of one compose file as Docker's CLI reads it for `docker stack deploy`: every
key of the 3.x schemas (cli/compose/schema/data/config_schema_v3.*.json) and the Compose
Specification's, with their types. Which version brought which key is versions.py's table;
which keys swarm mode ignores or refuses is properties.py's. Short and long syntaxes are
both accepted here and made one by shapes.py.

Strict as the schema: a string is not a number, an unknown key is refused, and `x-`
extension fields are dropped where the schema allows them (top level, services, networks,
volumes, secrets, configs)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from swarmlet.spec.base import INT64_MAX, ShortText, Strict, Text
from swarmlet.spec.limits import MAX_LABELS, MAX_LIST, MAX_NAME_FIELD, MAX_REPLICAS
from swarmlet.spec.syntax import parse_duration, parse_file_mode

# The names of services, networks, volumes, secrets and configs (the schema's pattern).
Name = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9._-]+$", max_length=MAX_NAME_FIELD)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_FIELD)]
Scalar = Text | int | float | bool | None  # a value of a list_or_dict mapping
Strings = Annotated[list[Text], Field(max_length=MAX_LIST)]
StringOrList = Text | Strings
ListOrDict = Strings | Annotated[dict[Key, Scalar], Field(max_length=MAX_LABELS)]
Options = Annotated[dict[Key, Text | int | float | bool], Field(max_length=MAX_LABELS)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
Replicas = Annotated[int, Field(ge=0, le=MAX_REPLICAS)]


def _duration(text: str) -> str:
    parse_duration(text)  # Go's message: time: invalid duration "1x"
    return text


Duration = Annotated[str, AfterValidator(_duration)]


class Keys(Strict):
    """A mapping of a compose file: its keys and no others, types as the schema has them."""


class Extensible(Keys):
    """A mapping where `x-` extension fields may stand beside the keys (and are dropped)."""

    @model_validator(mode="before")
    @classmethod
    def _without_extensions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items()
                    if not (isinstance(k, str) and k.startswith("x-"))}
        return data


class External(Keys):
    name: ShortText | None = None


class Healthcheck(Keys):
    test: StringOrList | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    retries: Count | float | None = None
    start_period: Duration | None = None
    start_interval: Duration | None = None
    disable: bool | None = None


class Logging(Keys):
    driver: ShortText | None = None
    options: Annotated[dict[Key, Scalar], Field(max_length=MAX_LABELS)] | None = None


class UpdateConfig(Keys):
    parallelism: Replicas | None = None
    delay: Duration | None = None
    failure_action: ShortText | None = None
    monitor: Duration | None = None
    max_failure_ratio: float | None = None
    order: ShortText | None = None


class RestartPolicy(Keys):
    condition: ShortText | None = None
    delay: Duration | None = None
    max_attempts: Count | None = None
    window: Duration | None = None


class Preference(Keys):
    spread: ShortText


class Placement(Keys):
    constraints: Strings | None = None
    preferences: Annotated[list[Preference], Field(max_length=MAX_LIST)] | None = None
    max_replicas_per_node: Replicas | None = None


class ResourceLimits(Keys):
    cpus: Text | int | float | None = None
    memory: Text | Count | None = None
    pids: Count | None = None


class ResourceReservations(Keys):
    cpus: Text | int | float | None = None
    memory: Text | Count | None = None
    generic_resources: list[Any] | None = None
    devices: list[Any] | None = None  # the Compose Specification's (GPUs): refused


class Resources(Keys):
    limits: ResourceLimits | None = None
    reservations: ResourceReservations | None = None


class Deploy(Keys):
    mode: ShortText | None = None
    replicas: Replicas | None = None
    labels: ListOrDict | None = None
    endpoint_mode: ShortText | None = None
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    placement: Placement | None = None


class PortLong(Keys):
    mode: ShortText | None = None
    target: Annotated[int, Field(ge=0, le=65535)] | None = None
    published: Annotated[int, Field(ge=0, le=65535)] | Text | None = None
    protocol: ShortText | None = None
    host_ip: ShortText | None = None  # the Compose Specification's; swarm listens on all
    name: ShortText | None = None
    app_protocol: ShortText | None = None


class BindOptions(Keys):
    propagation: ShortText | None = None
    create_host_path: bool | None = None
    selinux: ShortText | None = None


class VolumeOptions(Keys):
    nocopy: bool | None = None
    subpath: Text | None = None


def _octal(text: str) -> int:
    mode = parse_file_mode(text)  # "1777", "0o1777": YAML 1.1 readers leave 0o1777 a string
    if mode > 0o7777:
        raise ValueError(f"invalid file mode: {text}")
    return mode


FileMode = Annotated[int, Field(ge=0, le=0o7777)] | Annotated[str, AfterValidator(_octal)]


class TmpfsOptions(Keys):
    size: Count | Text | None = None
    mode: FileMode | None = None


class VolumeLong(Keys):
    type: ShortText
    source: Text | None = None
    target: Text | None = None
    read_only: bool | None = None
    consistency: ShortText | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    image: dict[str, Any] | None = None


class FileRef(Keys):
    """A service's secret or config in the long syntax. The schema allows other keys here
    (no additionalProperties: false); Docker reads these five."""

    source: ShortText
    target: Text | None = None
    uid: ShortText | None = None
    gid: ShortText | None = None
    mode: Annotated[int, Field(ge=0, le=INT64_MAX)] | None = None


class ServiceNetwork(Keys):
    aliases: Strings | None = None
    driver_opts: Options | None = None
    ipv4_address: ShortText | None = None
    ipv6_address: ShortText | None = None
    priority: int | None = None  # the Compose Specification's
    gw_priority: int | None = None
    mac_address: ShortText | None = None
    link_local_ips: Strings | None = None


class Ulimit(Keys):
    soft: int
    hard: int


class CredentialSpec(Keys):
    config: ShortText | None = None
    file: Text | None = None
    registry: Text | None = None


class EnvFile(Keys):
    """The Compose Specification's long env_file entry."""

    path: Text
    required: bool | None = None
    format: ShortText | None = None


Ports = Annotated[list[int | Text | PortLong], Field(max_length=MAX_LIST)]
Volumes = Annotated[list[Text | VolumeLong], Field(max_length=MAX_LIST)]
FileRefs = Annotated[list[ShortText | FileRef], Field(max_length=MAX_LIST)]
ServiceNetworks = Strings | Annotated[dict[Name, ServiceNetwork | None],
                                      Field(max_length=MAX_LIST)]


class Service(Extensible):
    # what swarm mode uses
    image: Text | None = None
    command: StringOrList | None = None
    entrypoint: StringOrList | None = None
    environment: ListOrDict | None = None
    env_file: Text | Annotated[list[Text | EnvFile], Field(max_length=MAX_LIST)] | None = None
    ports: Ports | None = None
    networks: ServiceNetworks | None = None
    volumes: Volumes | None = None
    secrets: FileRefs | None = None
    configs: FileRefs | None = None
    healthcheck: Healthcheck | None = None
    labels: ListOrDict | None = None
    stop_grace_period: Duration | None = None
    stop_signal: ShortText | None = None
    user: ShortText | None = None
    working_dir: Text | None = None
    hostname: ShortText | None = None
    init: bool | None = None
    read_only: bool | None = None
    tty: bool | None = None
    stdin_open: bool | None = None
    cap_add: Strings | None = None
    cap_drop: Strings | None = None
    sysctls: ListOrDict | None = None
    ulimits: Annotated[dict[Key, int | Ulimit], Field(max_length=MAX_LIST)] | None = None
    dns: StringOrList | None = None
    dns_search: StringOrList | None = None
    extra_hosts: ListOrDict | None = None
    logging: Logging | None = None
    deploy: Deploy | None = None
    oom_score_adj: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    isolation: ShortText | None = None
    # what swarm mode ignores or refuses (properties.py): typed as loosely as the schema
    build: Text | dict[str, Any] | None = None
    cgroupns_mode: ShortText | None = None
    cgroup_parent: ShortText | None = None
    container_name: ShortText | None = None
    credential_spec: CredentialSpec | None = None
    depends_on: Strings | dict[str, Any] | None = None
    devices: list[Any] | None = None
    domainname: ShortText | None = None
    expose: list[Text | int] | None = None
    external_links: Strings | None = None
    ipc: ShortText | None = None
    links: Strings | None = None
    mac_address: ShortText | None = None
    network_mode: ShortText | None = None
    pid: ShortText | None = None
    privileged: bool | None = None
    restart: ShortText | None = None
    security_opt: Strings | None = None
    shm_size: Text | int | None = None
    tmpfs: StringOrList | None = None
    userns_mode: ShortText | None = None
    # the Compose Specification's service keys that swarm mode has no use for
    annotations: Any = None
    attach: Any = None
    blkio_config: Any = None
    cpu_count: Any = None
    cpu_percent: Any = None
    cpu_period: Any = None
    cpu_rt_period: Any = None
    cpu_rt_runtime: Any = None
    cpus: Any = None
    develop: Any = None
    device_cgroup_rules: Any = None
    gpus: Any = None
    group_add: Any = None
    label_file: Any = None
    mem_reservation: Any = None
    mem_swappiness: Any = None
    oom_kill_disable: Any = None
    platform: Any = None
    post_start: Any = None
    pre_stop: Any = None
    profiles: Any = None
    pull_policy: Any = None
    runtime: Any = None
    scale: Any = None
    storage_opt: Any = None
    uts: Any = None
    # Docker refuses these (properties.FORBIDDEN) with its own message
    extends: Any = None
    volume_driver: Any = None
    volumes_from: Any = None
    cpu_quota: Any = None
    cpu_shares: Any = None
    cpuset: Any = None
    mem_limit: Any = None
    memswap_limit: Any = None


class IPAMPool(Keys):
    subnet: ShortText | None = None
    ip_range: ShortText | None = None  # the Compose Specification's
    gateway: ShortText | None = None
    aux_addresses: dict[str, Any] | None = None


class IPAM(Keys):
    driver: ShortText | None = None
    config: Annotated[list[IPAMPool], Field(max_length=MAX_LIST)] | None = None
    options: Options | None = None


class Network(Extensible):
    name: ShortText | None = None
    driver: ShortText | None = None
    driver_opts: Options | None = None
    ipam: IPAM | None = None
    external: bool | External | None = None
    internal: bool | None = None
    attachable: bool | None = None
    labels: ListOrDict | None = None
    enable_ipv6: bool | None = None  # the Compose Specification's


class Volume(Extensible):
    name: ShortText | None = None
    driver: ShortText | None = None
    driver_opts: Options | None = None
    external: bool | External | None = None
    labels: ListOrDict | None = None


class FileObject(Extensible):
    name: ShortText | None = None
    file: Text | None = None
    external: bool | External | None = None
    labels: ListOrDict | None = None
    template_driver: ShortText | None = None
    environment: ShortText | None = None  # the Compose Specification's
    content: Text | None = None  # the Compose Specification's (configs)


class Secret(FileObject):
    driver: ShortText | None = None
    driver_opts: Options | None = None


class Config(FileObject):
    pass


def _named(model: Any, nullable: bool = True) -> Any:
    value = model | None if nullable else model
    return Annotated[dict[Name, value], Field(max_length=MAX_LIST)]


class ComposeFile(Extensible):
    version: ShortText | int | float | None = None
    services: _named(Service, nullable=False) | None = None
    networks: _named(Network) | None = None
    volumes: _named(Volume) | None = None
    secrets: _named(Secret) | None = None
    configs: _named(Config) | None = None
    name: ShortText | None = None  # the Compose Specification's project name
    include: Any = None  # the Compose Specification's; refused
    models: Any = None  # the Compose Specification's; refused
