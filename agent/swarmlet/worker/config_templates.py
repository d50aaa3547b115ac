"""Templated configs (`Templating: {"Name": "golang"}`), rendered for each task as SwarmKit's
agent renders them (template/context.go, expand.go, getter.go): the config's data is a Go
text/template executed over

    .Service.ID .Service.Name .Service.Labels
    .Node.ID .Node.Hostname .Node.Platform.Architecture .Node.Platform.OS
    .Task.ID .Task.Name .Task.Slot (the node ID for a global service's task)

with Go's builtin functions and SwarmKit's three:

    env "NAME"       the value of NAME in the task's container spec Env ("" if unset)
    secret "target"  the data of the task's secret mounted at that target
    config "target"  the data (as it is, not rendered) of the task's config at that target

The rendered bytes are what the container sees at the config's target; a template that fails
fails the task with Docker's words ("failed to expand templated config ID: template:
expansion:1:13: executing ..."). Everything here is in memory: a secret a template reads is
never written anywhere but the task's tmpfs, and never in an error.
"""

from __future__ import annotations

import platform
import socket
from collections.abc import Mapping
from typing import Any

from swarmlet.errors import SwarmletError
from swarmlet.protocol.tasks import container_name
from swarmlet.spec.gotemplate.exec import Executor
from swarmlet.spec.gotemplate.funcs import FUNCTIONS
from swarmlet.spec.gotemplate.nodes import TemplateError
from swarmlet.spec.gotemplate.parse import parse
from swarmlet.spec.gotemplate.values import Function, FunctionError, GoStruct

NAME = "expansion"  # SwarmKit's template name, in every error
DRIVER = "golang"
# Go's builtins only: the functions Docker's CLI adds to --format (json, split...) are not
# SwarmKit's
BUILTINS = ("and", "or", "not", "len", "index", "print", "printf", "println", "eq", "ne",
            "lt", "le", "gt", "ge")

Data = dict[tuple[str, str], bytes]


class ConfigTemplateError(SwarmletError):
    pass


def _text(blob: bytes) -> str:
    return blob.decode("utf-8", errors="surrogateescape")  # Go's strings are bytes


def context(task: dict[str, Any]) -> GoStruct:
    """SwarmKit's PayloadContext of the task on this node (NewContext)."""
    annotations = task.get("ServiceAnnotations") or {}
    node_id = task.get("NodeID", "")
    return GoStruct("*template.PayloadContext", {
        "Service": GoStruct("struct { ID string; Name string; Labels map[string]string }", {
            "ID": task.get("ServiceID", ""), "Name": annotations.get("Name", ""),
            "Labels": dict(annotations.get("Labels") or {})}),
        "Node": GoStruct("struct { ID string; Hostname string; Platform template.Platform }", {
            "ID": node_id, "Hostname": socket.gethostname(),
            "Platform": GoStruct("template.Platform", {
                "Architecture": platform.machine(), "OS": platform.system().lower()})}),
        "Task": GoStruct("struct { ID string; Name string; Slot string }", {
            "ID": task["ID"], "Name": container_name(task),
            "Slot": str(task["Slot"]) if task.get("Slot") else node_id}),
    })


class _Payload:
    """The functions of one task's templates; `read` keeps the secrets read (to keep them
    out of an error's words)."""

    def __init__(self, task: dict[str, Any], data: Data) -> None:
        self.spec = (task.get("Spec") or {}).get("ContainerSpec") or {}
        self.data = data
        self.read: list[str] = []

    def env(self, name: str) -> str:
        for entry in self.spec.get("Env") or []:
            key, sep, value = entry.partition("=")
            if sep and key == name:
                return value
        return ""

    def lookup(self, kind: str, target: str) -> str:
        for ref in self.spec.get(f"{kind.capitalize()}s") or []:
            if (ref.get("File") or {}).get("Name") == target:
                object_id = ref[f"{kind.capitalize()}ID"]
                blob = self.data.get((kind, object_id))
                if blob is None:
                    raise FunctionError(f"{kind} {object_id} not found")
                text = _text(blob)
                if kind == "secret" and text:
                    self.read.append(text)
                return text
        raise FunctionError(f"{kind} target {target} not found")

    def functions(self) -> dict[str, Function]:
        return {**{name: FUNCTIONS[name] for name in BUILTINS},
                "env": Function(("string",), self.env),
                "secret": Function(("string",), lambda t: self.lookup("secret", t)),
                "config": Function(("string",), lambda t: self.lookup("config", t))}

    def redact(self, message: str) -> str:
        for secret in sorted(self.read, key=len, reverse=True):
            message = message.replace(secret, "<secret>")
        return message


def render(source: bytes, task: dict[str, Any], data: Data) -> bytes:
    """The config's data rendered for the task, or a TemplateError in Go's words."""
    payload = _Payload(task, data)
    functions = payload.functions()
    text = _text(source)
    try:
        tree = parse(text, functions)
    except TemplateError as exc:  # the parser's "template: :1: ...": the template's name
        raise TemplateError(str(exc).replace("template: :", f"template: {NAME}:", 1)) from None
    out: list[str] = []
    try:
        Executor(functions, strict_maps=True, name=NAME, payload=True).run(
            tree, text, context(task), out)
    except TemplateError as exc:
        raise TemplateError(payload.redact(str(exc))) from None
    return "".join(out).encode("utf-8", errors="surrogateescape")


def render_configs(task: dict[str, Any], data: Data, templated: Mapping[str, str]) -> Data:
    """`data` with the task's templated configs rendered for it. Data not here yet stays
    missing (the task waits for it); a template that fails raises ConfigTemplateError."""
    spec = (task.get("Spec") or {}).get("ContainerSpec") or {}
    wanted = [("secret", r["SecretID"]) for r in spec.get("Secrets") or []] + [
        ("config", r["ConfigID"]) for r in spec.get("Configs") or []]
    ids = [config_id for kind, config_id in wanted if kind == "config" and config_id in templated]
    if not ids or any(key not in data for key in wanted):
        return data
    out = dict(data)
    for config_id in ids:
        try:
            if templated[config_id] != DRIVER:
                raise TemplateError("unrecognized template type")
            out[("config", config_id)] = render(data[("config", config_id)], task, data)
        except TemplateError as exc:
            raise ConfigTemplateError(
                f"failed to expand templated config {config_id}: {exc}") from None
    return out
