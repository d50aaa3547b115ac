"""One compose file checked and loaded, as Docker's loader does it (cli/compose/loader):
its version, the keys Docker refuses, the interpolation casts, the typed models, the keys
its version does not have; then every short syntax made long, env files read, the files of
secrets and configs read — from the request's Contents, keyed by the path as written.

A loaded file is plain data: {"services": {name: service}, "networks": ..., "volumes": ...,
"secrets": ..., "configs": ...}, each service with the keys it gives, in their long forms.
"""

from __future__ import annotations

import copy
import posixpath
from typing import Any

from pydantic import ValidationError

from swarmlet.spec.compose import shapes
from swarmlet.spec.compose.casts import cast_values
from swarmlet.spec.compose.envfile import parse_env_file
from swarmlet.spec.compose.models import ComposeFile
from swarmlet.spec.compose.problems import ComposeError, dotted, from_validation
from swarmlet.spec.compose.properties import forbidden
from swarmlet.spec.compose.versions import (
    VersionError,
    parse_version,
    too_new,
    version_text,
)

Obj = dict[str, Any]
# Service keys taken as they are written (their values need no reshaping).
PLAIN = ("image", "stop_grace_period", "stop_signal", "user", "working_dir", "hostname",
         "init", "read_only", "tty", "stdin_open", "oom_score_adj", "isolation", "restart",
         "cap_add", "cap_drop")


class FileLoader:
    """Loads one file; `warnings` collects what Docker would print while loading it."""

    def __init__(self, filename: str, contents: dict[str, bytes], working_dir: str | None,
                 warnings: list[str]) -> None:
        self.filename = filename
        self.contents = contents
        self.working_dir = working_dir
        self.warnings = warnings

    def fail(self, path: list[Any] | str, problem: str) -> ComposeError:
        return ComposeError(self.filename, path if isinstance(path, str) else dotted(path),
                            problem)

    def load(self, config: Any) -> tuple[tuple[int, int] | None, Obj]:
        """(the file's version, None for the Compose Specification; the loaded file)."""
        if not isinstance(config, dict):
            raise self.fail("", "top-level object must be a mapping")
        try:
            version = parse_version(config.get("version"))
        except VersionError as exc:
            raise self.fail("version", str(exc)) from None
        refused = forbidden(config)
        if refused:
            service, key, reason = refused
            raise self.fail(["services", service, key],
                            f"compose file contains unsupported options: {key}: {reason}")
        config = cast_values(self.filename, copy.deepcopy(config))
        try:
            ComposeFile.model_validate(config)
        except ValidationError as exc:
            raise from_validation(self.filename, config, exc) from None
        newer = too_new(config, version)
        if newer is not None:
            path, since = newer
            needs = f"version {version_text(since)}" if since[0] == 3 else \
                "a file without version"
            raise self.fail(path, f"Additional property {path[-1]} is not allowed (version "
                                  f"{version_text(version)}; it needs {needs})")
        for key in ("include", "models"):
            if config.get(key) is not None:
                raise self.fail(key, f"{key} is not supported by swarmlet stacks; name every "
                                     "file with -c instead" if key == "include" else
                                     f"{key} is not supported by swarmlet stacks")
        loaded: Obj = {
            "services": {name: self.service(name, raw)
                         for name, raw in (config.get("services") or {}).items()},
            "networks": {name: self.network(name, raw or {}, version)
                         for name, raw in (config.get("networks") or {}).items()},
            "volumes": {name: self.volume(name, raw or {})
                        for name, raw in (config.get("volumes") or {}).items()},
        }
        for kind in ("secrets", "configs"):
            loaded[kind] = {name: self.file_object(kind, name, raw or {}, version)
                            for name, raw in (config.get(kind) or {}).items()}
        return version, loaded

    # --- services -----------------------------------------------------------------------------

    def service(self, name: str, raw: Obj) -> Obj:
        where = ["services", name]
        service: Obj = {k: copy.deepcopy(raw[k]) for k in PLAIN if raw.get(k) is not None}
        for key in ("command", "entrypoint"):
            if raw.get(key) is not None:
                try:
                    service[key] = shapes.command(raw[key])
                except ValueError as exc:
                    raise self.fail([*where, key], str(exc)) from None
        if raw.get("env_file") is not None or raw.get("environment") is not None:
            service["environment"] = self.environment(where, raw)
        for key, allow_nil in (("labels", False), ("sysctls", False)):
            if raw.get(key) is not None:
                service[key] = shapes.mapping(raw[key], allow_nil)
        for key in ("dns", "dns_search"):
            if raw.get(key) is not None:
                service[key] = shapes.strings(raw[key])
        if raw.get("extra_hosts") is not None:
            service["extra_hosts"] = shapes.hosts(raw["extra_hosts"])
        if raw.get("ports") is not None:
            service["ports"] = self.ports(where, raw["ports"])
        if raw.get("networks") is not None:
            service["networks"] = {
                net: None if cfg is None else {
                    **cfg, "driver_opts": {k: shapes.go_string(v)
                                           for k, v in (cfg.get("driver_opts") or {}).items()}}
                for net, cfg in shapes.networks(raw["networks"]).items()}
        if raw.get("volumes") is not None:
            service["volumes"] = [self.mount([*where, "volumes", i], v)
                                  for i, v in enumerate(raw["volumes"])]
        for key in ("secrets", "configs"):
            if raw.get(key) is not None:
                service[key] = [shapes.file_ref(v) for v in raw[key]]
        if raw.get("healthcheck") is not None:
            service["healthcheck"] = self.healthcheck(raw["healthcheck"])
        if raw.get("logging") is not None:
            service["logging"] = {
                "driver": raw["logging"].get("driver") or "",
                "options": {k: shapes.go_string(v) if v is not None else ""
                            for k, v in (raw["logging"].get("options") or {}).items()}}
        if raw.get("ulimits") is not None:
            service["ulimits"] = {k: {"single": v} if isinstance(v, int) else dict(v)
                                  for k, v in raw["ulimits"].items()}
        if raw.get("deploy") is not None:
            deploy = copy.deepcopy(raw["deploy"])
            if deploy.get("labels") is not None:
                deploy["labels"] = shapes.mapping(deploy["labels"], False)
            service["deploy"] = {k: v for k, v in deploy.items() if v is not None}
        return service

    def environment(self, where: list[Any], raw: Obj) -> dict[str, str | None]:
        """env_file entries first, then `environment` over them (Docker's
        resolveEnvironment)."""
        env: dict[str, str | None] = {}
        files = raw.get("env_file")
        entries = [files] if isinstance(files, str) else list(files or [])
        for i, entry in enumerate(entries):
            path = entry if isinstance(entry, str) else entry["path"]
            required = True if isinstance(entry, str) else entry.get("required", True) is not False
            key = [*where, "env_file"] + ([] if isinstance(files, str) else [i])
            data = self.contents.get(path)
            if data is None:
                if not required:
                    continue
                raise self.fail(key, f"env file {path} was not sent with the request "
                                     "(Contents has no such path)")
            try:
                lines = parse_env_file(path, data)
            except ValueError as exc:
                raise self.fail(key, str(exc)) from None
            env.update(shapes.mapping(lines, allow_nil=True))
        env.update(shapes.mapping(raw.get("environment"), allow_nil=True))
        return env

    def ports(self, where: list[Any], items: list[Any]) -> list[Obj]:
        found: list[Obj] = []
        for i, item in enumerate(items):
            try:
                if isinstance(item, dict):
                    found += self.long_port(item)
                else:
                    configs, warning = shapes.ports(item)
                    if warning:
                        self.warnings.append(warning)
                    found += configs
            except ValueError as exc:
                raise self.fail([*where, "ports", i], str(exc)) from None
        return found

    def long_port(self, item: Obj) -> list[Obj]:
        port = {k: item[k] for k in ("mode", "target", "protocol") if item.get(k) is not None}
        published = item.get("published")
        if isinstance(published, str):  # the Compose Specification's "8080" or "8080-8081"
            low, _, high = published.partition("-")
            if not low.isdigit() or (high and not high.isdigit()):
                raise ValueError(f"invalid hostPort: {published}")
            numbers = range(int(low), int(high or low) + 1)
            if len(numbers) > 1 and len(numbers) > 65535:
                raise ValueError(f"invalid hostPort: {published}")
            return [{**port, "published": n} for n in numbers]
        if published is not None:
            port["published"] = published
        if item.get("host_ip"):
            self.warnings.append(f"ignoring IP-address ({item['host_ip']}) service will "
                                 "listen on '0.0.0.0'")
        return [port]

    def mount(self, where: list[Any], item: Any) -> Obj:
        try:
            mount = shapes.volume(item) if isinstance(item, str) else copy.deepcopy(item)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None
        mount = {k: v for k, v in mount.items() if v is not None}
        source = mount.get("source") or ""
        if mount.get("type") == "bind" and source and not source.startswith("/"):
            if source.startswith("~") or self.working_dir is None:
                raise self.fail(where, f"bind source {source!r} is relative to the client's "
                                       "directory: write it as an absolute path on the nodes")
            mount["source"] = posixpath.normpath(posixpath.join(self.working_dir, source))
        return mount

    def healthcheck(self, raw: Obj) -> Obj:
        check = {k: v for k, v in raw.items() if v is not None}
        if "test" in check:
            test = check["test"]
            check["test"] = ["CMD-SHELL", test] if isinstance(test, str) else list(test)
        if "retries" in check:
            check["retries"] = int(check["retries"])
        return check

    # --- networks, volumes, secrets and configs -----------------------------------------------

    def _external(self, kind: str, name: str, raw: Obj, version: tuple[int, int] | None,
                  deprecated_since: tuple[int, int]) -> Obj:
        """The external and name settings as Docker's loader resolves them: external.name
        (deprecated) becomes the name; an external object without a name is named by its
        key."""
        obj: Obj = {"external": False}
        if raw.get("name") is not None:
            obj["name"] = raw["name"]
        external = raw.get("external")
        if isinstance(external, dict) or external is True:
            obj["external"] = True
            old_name = external.get("name") if isinstance(external, dict) else None
            if old_name:
                if obj.get("name"):
                    raise self.fail([kind, name], f"{kind[:-1]}.external.name and "
                                                  f"{kind[:-1]}.name conflict; only use "
                                                  f"{kind[:-1]}.name")
                if version is None or version >= deprecated_since:
                    self.warnings.append(f"{kind[:-1]} {name}: {kind[:-1]}.external.name is "
                                         f"deprecated in favor of {kind[:-1]}.name")
                obj["name"] = old_name
            obj.setdefault("name", name)
        return obj

    def network(self, name: str, raw: Obj, version: tuple[int, int] | None) -> Obj:
        network = self._external("networks", name, raw, version, (3, 5))
        for key in ("driver", "internal", "attachable", "enable_ipv6"):
            if raw.get(key) is not None:
                network[key] = raw[key]
        network["driver_opts"] = {k: shapes.go_string(v)
                                  for k, v in (raw.get("driver_opts") or {}).items()}
        network["labels"] = shapes.mapping(raw.get("labels"), False)
        if raw.get("ipam") is not None:
            network["ipam"] = copy.deepcopy(raw["ipam"])
        return network

    def volume(self, name: str, raw: Obj) -> Obj:
        volume = self._external("volumes", name, raw, None, (3, 4))
        if volume["external"]:
            for key in ("driver", "driver_opts", "labels"):
                if raw.get(key):
                    raise self.fail(["volumes", name], f'conflicting parameters "external" and '
                                                       f'"{key}" specified for volume "{name}"')
        if raw.get("driver") is not None:
            volume["driver"] = raw["driver"]
        if raw.get("driver_opts") is not None:
            volume["driver_opts"] = {k: shapes.go_string(v)
                                     for k, v in raw["driver_opts"].items()}
        volume["labels"] = shapes.mapping(raw.get("labels"), False)
        return volume

    def file_object(self, kind: str, name: str, raw: Obj, version: tuple[int, int] | None
                    ) -> Obj:
        obj = self._external(kind, name, raw, version, (3, 5))
        obj["labels"] = shapes.mapping(raw.get("labels"), False)
        what = kind[:-1]
        for key in ("driver", "template_driver"):
            if raw.get(key) and (key, kind) != ("template_driver", "configs"):
                raise self.fail([kind, name, key], f"{what} {key.replace('_', ' ')}s are not "
                                                   "supported by swarmlet")
        if raw.get("template_driver"):  # the nodes render it (worker/config_templates.py)
            obj["template_driver"] = raw["template_driver"]
        if obj["external"]:
            return obj
        if raw.get("environment"):
            raise self.fail([kind, name, "environment"],
                            f"a {what} from the client's environment is not supported: "
                            "write it to a file and name it with file:")
        if raw.get("content") is not None:
            obj["data"] = raw["content"].encode()
            return obj
        path = raw.get("file")
        if not path:
            raise self.fail([kind, name], "file (or external: true) is required")
        data = self.contents.get(path)
        if data is None:
            raise self.fail([kind, name, "file"], f"file {path} was not sent with the request "
                                                  "(Contents has no such path)")
        obj["data"] = data
        return obj
