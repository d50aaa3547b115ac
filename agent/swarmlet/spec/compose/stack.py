"""A stack from its compose files: each file loaded and checked (loader.py), the files
merged in order (merge.py), then converted to the Docker object specs a deploy creates —
networks, secrets, configs and services named STACK_name with the stack's label
(cli/compose/convert) — and each converted spec checked by the spec core's own models and
rules (spec/service.py, network_models.py, data_models.py), so every rule has one owner
and a refusal names the file and the key it comes from."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from typing import Any

from swarmlet.spec.compose.convert_service import ConvertError, service_spec
from swarmlet.spec.compose.loader import FileLoader
from swarmlet.spec.compose.merge import merge_files
from swarmlet.spec.compose.names import DEFAULT_NETWORK, scope, with_stack_label
from swarmlet.spec.compose.problems import ComposeError
from swarmlet.spec.compose.properties import warnings as ignored_warnings
from swarmlet.spec.compose.versions import LATEST, version_text
from swarmlet.spec.data_models import ConfigSpec, SecretSpec
from swarmlet.spec.errors import SpecError
from swarmlet.spec.network_models import NetworkSpec
from swarmlet.spec.service import normalise_spec
from swarmlet.spec.validate import checked

Obj = dict[str, Any]
KINDS = ("services", "networks", "volumes", "secrets", "configs")


@dataclass
class Project:
    """The merged files: loaded services, networks, volumes, secrets and configs (secrets and
    configs with their `data`), Docker's warnings, and which file last defined each object
    (origins[("services", "web")] = "docker-compose.prod.yml")."""

    services: dict[str, Obj]
    networks: dict[str, Obj]
    volumes: dict[str, Obj]
    secrets: dict[str, Obj]
    configs: dict[str, Obj]
    warnings: list[str]
    origins: dict[tuple[str, str], str]


@dataclass
class StackSpecs:
    """What a deploy of the stack creates or updates, in Docker's order, by spec: each
    refers to the others by name (the manager resolves names to IDs)."""

    name: str
    networks: list[Obj] = field(default_factory=list)  # NetworkSpecs to create
    external_networks: list[str] = field(default_factory=list)  # names that must exist
    secrets: list[Obj] = field(default_factory=list)  # SecretSpecs, Data in base64
    configs: list[Obj] = field(default_factory=list)  # ConfigSpecs, Data in base64
    services: list[Obj] = field(default_factory=list)  # ServiceSpecs
    warnings: list[str] = field(default_factory=list)
    origins: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def origin(self, kind: str, spec_name: str) -> tuple[str, str]:
        """(file, key path) of the compose entry a spec came from, for messages."""
        return self.origins.get((kind, spec_name), ("", f"{kind}.{spec_name}"))


def load_project(files: list[Obj], contents: dict[str, bytes],
                 working_dir: str | None = None) -> Project:
    """The compose files ([{"Filename", "Config"}], in -c order), checked and merged;
    ComposeError names the file and key of the first problem."""
    if not files:
        raise SpecError("no compose file given: name at least one with -c")
    warnings: list[str] = []
    loaded, origins = [], {}
    first: tuple[str, tuple[int, int]] | None = None
    for item in files:
        filename = item.get("Filename") or "-"
        version, data = FileLoader(filename, contents, working_dir, warnings).load(
            item.get("Config"))
        effective = version or LATEST  # Docker reads a file without version as the latest
        if first is None:
            first = (filename, effective)
        elif effective != first[1]:
            raise ComposeError(filename, "version", "version mismatched between two "
                               f"composefiles : {version_text(first[1])} and "
                               f"{version_text(effective)}")
        for kind in KINDS:
            origins.update({(kind, name): filename for name in data[kind]})
        loaded.append(data)
    merged = merge_files(loaded)
    warnings = ignored_warnings([f.get("Config") or {} for f in files]) + warnings
    return Project(**{kind: merged[kind] for kind in KINDS}, warnings=warnings,
                   origins=origins)


def convert_stack(stack: str, project: Project) -> StackSpecs:
    """The object specs of a deploy, each checked by the spec core."""
    specs = StackSpecs(stack, warnings=list(project.warnings))
    tables = {"networks": project.networks, "volumes": project.volumes,
              "secrets": project.secrets, "configs": project.configs}
    used: dict[str, None] = {}
    for name, service in project.services.items():
        filename = project.origins.get(("services", name), "")
        if not service.get("image"):
            raise ComposeError(filename, f"services.{name}.image", "invalid image reference "
                               f"for service {name}: no image specified")
        try:
            spec = service_spec(stack, name, service, tables)
        except ConvertError as exc:
            raise ComposeError(filename, f"services.{name}.{exc.key}", str(exc)) from None
        for net in service.get("networks") or {DEFAULT_NETWORK: None}:
            used.setdefault(net, None)
        specs.origins[("service", spec["Name"])] = (filename, f"services.{name}")
        specs.services.append(spec)
    for net in sorted(used):
        _add_network(specs, stack, net, project)
    for kind, target in (("secrets", specs.secrets), ("configs", specs.configs)):
        for name, obj in sorted(getattr(project, kind).items()):
            if obj.get("external"):
                continue
            spec = {"Name": obj.get("name") or scope(stack, name),
                    "Labels": with_stack_label(stack, obj.get("labels")),
                    "Data": base64.b64encode(obj["data"]).decode()}
            if obj.get("template_driver"):  # Docker's convert: the config's Templating
                spec["Templating"] = {"Name": obj["template_driver"]}
            specs.origins[(kind[:-1], spec["Name"])] = (
                project.origins.get((kind, name), ""), f"{kind}.{name}")
            target.append(spec)
    _check(specs)
    return specs


def _add_network(specs: StackSpecs, stack: str, net: str, project: Project) -> None:
    """convert.Networks: a network a service uses, created unless it is external."""
    config = project.networks.get(net) or {}
    if config.get("external"):
        specs.external_networks.append(config.get("name") or net)
        return
    where = project.origins.get(("networks", net), "")
    for key, why in (("internal", "swarmlet's overlay networks always reach out through "
                                  "their nodes"),
                     ("enable_ipv6", "swarmlet's overlay networks are IPv4 only")):
        if config.get(key):  # never silently a network other than the one asked for
            raise ComposeError(where, f"networks.{net}.{key}", f"{key}: not supported: {why}")
    ipam_driver = (config.get("ipam") or {}).get("driver")
    if ipam_driver not in (None, "", "default"):
        raise ComposeError(where, f"networks.{net}.ipam.driver", f"IPAM driver {ipam_driver}: "
                           "not supported: swarmlet's managers allocate addresses (default)")
    spec: Obj = {"Name": config.get("name") or scope(stack, net),
                 "Labels": with_stack_label(stack, config.get("labels")),
                 "DriverConfiguration": {"Name": config.get("driver") or "overlay"}}
    if config.get("driver_opts"):
        spec["DriverConfiguration"]["Options"] = config["driver_opts"]
    for key, field_name in (("internal", "Internal"), ("attachable", "Attachable"),
                            ("enable_ipv6", "IPv6Enabled")):
        if config.get(key):
            spec[field_name] = True
    ipam = config.get("ipam") or {}
    if ipam.get("driver") or ipam.get("config"):
        options: Obj = {}
        if ipam.get("driver"):
            options["Driver"] = {"Name": ipam["driver"]}
        pools = [{k: v for k, v in (("Subnet", pool.get("subnet")),
                                    ("Range", pool.get("ip_range")),
                                    ("Gateway", pool.get("gateway"))) if v}
                 for pool in ipam.get("config") or []]
        if pools:
            options["Configs"] = pools
        spec["IPAMOptions"] = options
    specs.origins[("network", spec["Name"])] = (
        project.origins.get(("networks", net), ""), f"networks.{net}")
    specs.networks.append(spec)


def _check(specs: StackSpecs) -> None:
    """Each spec through the spec core; its refusal names the compose entry."""
    checks = [("network", s, lambda s: checked(NetworkSpec, copy.deepcopy(s), "network spec"))
              for s in specs.networks]
    checks += [("secret", s, lambda s: checked(SecretSpec, copy.deepcopy(s), "secret spec"))
               for s in specs.secrets]
    checks += [("config", s, lambda s: checked(ConfigSpec, copy.deepcopy(s), "config spec"))
               for s in specs.configs]
    checks += [("service", s, lambda s: normalise_spec(copy.deepcopy(s)))
               for s in specs.services]
    for kind, spec, check in checks:
        try:
            check(spec)
        except SpecError as exc:
            filename, path = specs.origin(kind, spec["Name"])
            key = compose_key(exc.field) if kind == "service" else ""
            raise ComposeError(filename, f"{path}.{key}" if key else path, str(exc)) from None


# A ServiceSpec field (as SpecError.field names it) -> the compose key it comes from.
_SPEC_KEYS = (
    ("TaskTemplate.ContainerSpec.Mounts[", "volumes."),
    ("TaskTemplate.ContainerSpec.Healthcheck", "healthcheck"),
    ("TaskTemplate.ContainerSpec.Image", "image"),
    ("TaskTemplate.RestartPolicy", "deploy.restart_policy"),
    ("TaskTemplate.Placement", "deploy.placement"),
    ("TaskTemplate.Resources", "deploy.resources"),
    ("TaskTemplate.Networks", "networks"),
    ("UpdateConfig", "deploy.update_config"),
    ("RollbackConfig", "deploy.rollback_config"),
    ("EndpointSpec.Mode", "deploy.endpoint_mode"),
    ("EndpointSpec", "ports"),
    ("Mode", "deploy.mode"),
    ("Labels", "deploy.labels"),
)


def compose_key(spec_field: str) -> str:
    """The compose key of a ServiceSpec field, as far as it is known ("" if not)."""
    for prefix, key in _SPEC_KEYS:
        if spec_field.startswith(prefix):
            if key == "volumes.":
                return key + spec_field[len(prefix):].partition("]")[0]
            return key
    return ""


def load_stack(stack: str, files: list[Obj], contents: dict[str, bytes],
               working_dir: str | None = None) -> StackSpecs:
    """load_project then convert_stack: the one call the manager makes."""
    return convert_stack(stack, load_project(files, contents, working_dir))
