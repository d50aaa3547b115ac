# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What swarm_secret and swarm_config share: their options, the data (from ``data`` or
``data_src``, checked against the agent's limits), the plan of a run (pure: what to create,
relabel, remove or prune, from the objects and services the agent lists), and the run.

A secret's value cannot be read back, so every object these modules create carries the label
``ansible_key``: the sha224 of its data (as community.docker's modules do); a change of value
is a change of that label. With ``rolling_versions`` a new value is a new object
``<name>_v<N>`` (label ``ansible_version``), and old versions are pruned once no service
uses them. The data itself is never returned, logged or shown in a diff.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    api_argument_spec,
    client_for,
    require_manager,
)

KEY_LABEL = "ansible_key"
VERSION_LABEL = "ansible_version"
OWN_LABELS = (KEY_LABEL, VERSION_LABEL)
HIDDEN = "(hidden)"
HIDDEN_CHANGED = "(hidden, changed)"
_NAME = re.compile(r"^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$")


class Kind:
    """A secret or a config: the word in messages and API paths, the agent's size limit
    (data must be shorter), and where a service's ContainerSpec lists them."""

    def __init__(self, name, max_bytes):
        self.name = name
        self.max_bytes = max_bytes
        self.key = name.capitalize()  # SecretID, ConfigName, ...
        self.refs = self.key + "s"  # ContainerSpec.Secrets / .Configs

    @property
    def path(self):
        return "/" + self.name + "s"


SECRET = Kind("secret", 512000)
CONFIG = Kind("config", 1024000)


class DataObjectError(Exception):
    """A parameter or a state the module cannot go on with; the message says which."""


# --- options ----------------------------------------------------------------------------------

def argument_spec(kind):
    spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        data=dict(type="str", no_log=kind is SECRET),
        data_is_b64=dict(type="bool", default=False),
        data_src=dict(type="path"),
        labels=dict(type="dict"),
        force=dict(type="bool", default=False),
        rolling_versions=dict(type="bool", default=False),
        versions_to_keep=dict(type="int", default=5),
    )
    if kind is CONFIG:
        spec["template_driver"] = dict(type="str", choices=["golang"])
    spec.update(api_argument_spec())
    return spec


MODULE_KWARGS = dict(
    required_if=[("state", "present", ["data", "data_src"], True)],
    mutually_exclusive=[("data", "data_src")],
    supports_check_mode=True,
)


# --- pure parts -------------------------------------------------------------------------------

def check_name(kind, name):
    """The agent's rule for names (SwarmKit's), checked before anything is sent."""
    if len(name) > 64 or not _NAME.match(name):
        raise DataObjectError(
            f"invalid {kind.name} name {name!r}: only 64 [a-zA-Z0-9-_.] characters allowed, "
            "and the start and end character must be [a-zA-Z0-9]")


def load_data(kind, data, data_is_b64=False, data_src=None, read=None):
    """The bytes of the value: ``data`` (base64-decoded with data_is_b64) or the file
    ``data_src`` (``read``: path -> bytes). Checked against the agent's size limit; the
    message never holds the value."""
    if data_src is not None:
        try:
            value = read(data_src)
        except OSError as exc:
            raise DataObjectError(f"Cannot read data_src {data_src}: "
                                  f"{exc.strerror or exc}") from None
    elif data_is_b64:
        try:
            value = base64.b64decode(data or "", validate=True)
        except (binascii.Error, ValueError):
            raise DataObjectError("data is not valid Base64 (data_is_b64 is true)") from None
    else:
        value = (data or "").encode("utf-8")
    if not 0 < len(value) < kind.max_bytes:
        raise DataObjectError(
            f"{kind.name} data must be larger than 0 and less than {kind.max_bytes} bytes "
            f"({kind.max_bytes // 1024} KB); got {len(value)} bytes")
    return value


def data_hash(value):
    return hashlib.sha224(value).hexdigest()


def string_labels(labels):
    """Labels as strings (numbers converted); booleans and nested values refused."""
    result = {}
    for key, value in (labels or {}).items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise DataObjectError(f"labels: the value of {key} must be a string, got "
                                  f"{value!r} (quote values YAML would read as booleans)")
        if str(key) in OWN_LABELS:
            raise DataObjectError(f"labels: {key} is set by the module itself")
        result[str(key)] = str(value)
    return result


def user_labels(obj):
    return dict((k, v) for k, v in (obj["Spec"].get("Labels") or {}).items()
                if k not in OWN_LABELS)


def version_of(obj, base):
    """N for an object named <base>_v<N>; None otherwise."""
    match = re.match(re.escape(base) + r"_v(\d+)$", obj["Spec"]["Name"])
    return int(match.group(1)) if match else None


def versions(objects, base):
    """The objects <base>_v<N>, oldest first."""
    found = [(version_of(o, base), o) for o in objects]
    return [o for n, o in sorted((p for p in found if p[0] is not None), key=lambda p: p[0])]


def users(kind, obj, services):
    """The names of the services whose task template refers to the object (by ID)."""
    return sorted(s["Spec"]["Name"] for s in services if any(
        ref.get(kind.key + "ID") == obj["ID"]
        for ref in ((s["Spec"].get("TaskTemplate") or {}).get("ContainerSpec") or {}).get(
            kind.refs) or []))


def in_use_message(kind, obj, names):
    """The agent's message (controlapi_secrets.remove)."""
    return (f"{kind.name} '{obj['Spec']['Name']}' is in use by the following service: "
            f"{', '.join(names)}")


def data_changed(kind, obj, value, warnings):
    """Whether the value differs from the object's: a config's data is read back; a
    secret's is known by its ansible_key label only (none: not changed, with a warning)."""
    shown = obj["Spec"].get("Data")
    if shown is not None:
        return base64.b64decode(shown) != value
    key = (obj["Spec"].get("Labels") or {}).get(KEY_LABEL)
    if key is None:
        warnings.append(f"'{KEY_LABEL}' label not found. {kind.key} will not be changed "
                        "unless the force parameter is set to 'true'")
        return False
    return key != data_hash(value)


def _describe(obj, rolling, names=None):
    if obj is None:
        return {}
    state = {"name": obj["Spec"]["Name"], "labels": user_labels(obj), "data": HIDDEN}
    if rolling:
        state["versions"] = list(names or [])
    return state


class Plan:
    """What a run does: ``steps`` in order, each ("create", name, labels),
    ("relabel", object, labels) or ("remove", object); the object the module returns
    (``result``: an object, or the name of the one to create), ``pruned`` names,
    ``in_use`` {old version kept: its services}, ``warnings`` and the ``diff``."""

    def __init__(self):
        self.steps = []
        self.result = None
        self.pruned = []
        self.in_use = {}
        self.warnings = []
        self.diff = {"before": {}, "after": {}}

    @property
    def changed(self):
        return bool(self.steps)


def template_driver(obj):
    """A config's template driver ("golang"), None for plain data."""
    return (obj["Spec"].get("Templating") or {}).get("Name") or None


def plan(kind, params, value, objects, services):
    """The plan of a run. ``params``: the module's; ``value``: the data (bytes; None for
    state absent); ``objects``: every secret (config) the agent lists; ``services``: every
    service. Raises DataObjectError when the change cannot be made (an object in use)."""
    name, rolling = params["name"], params["rolling_versions"]
    labels = string_labels(params["labels"]) if params.get("labels") is not None else None
    check_name(kind, name + "_v1" if rolling else name)
    result = Plan()
    if rolling:
        found = versions(objects, name)
    else:
        found = [o for o in objects if o["Spec"]["Name"] == name]
    names = [o["Spec"]["Name"] for o in found]

    if params["state"] == "absent":
        busy = [in_use_message(kind, o, users(kind, o, services)) for o in found
                if users(kind, o, services)]
        if busy:
            raise DataObjectError(f"Cannot remove {kind.name} {name}: " + "; ".join(busy))
        result.steps = [("remove", o) for o in found]
        result.pruned = names if rolling else []
        if found:
            result.diff = {"before": _describe(found[-1], rolling, names), "after": {}}
        return result

    current = found[-1] if found else None
    key = data_hash(value)
    if current is None:
        changed = True
    else:
        changed = (data_changed(kind, current, value, result.warnings) or params["force"]
                   or template_driver(current) != params.get("template_driver"))
    after_names = list(names)
    if changed:
        new_labels = dict(labels if labels is not None else
                          (user_labels(current) if current else {}))
        new_labels[KEY_LABEL] = key
        if rolling:
            number = (version_of(current, name) if current else 0) + 1
            new_name = f"{name}_v{number}"
            new_labels[VERSION_LABEL] = str(number)
            after_names.append(new_name)
        else:
            new_name = name
            if current is not None:
                busy = users(kind, current, services)
                if busy:
                    raise DataObjectError(
                        f"Cannot change {kind.name} {name}: "
                        f"{in_use_message(kind, current, busy)}. A {kind.name} cannot be "
                        "changed while a service uses it: use rolling_versions to create a "
                        "new version and point the services at it")
                result.steps.append(("remove", current))
        result.steps.append(("create", new_name, new_labels))
        result.result = new_name
        after = {"name": new_name, "labels": {k: v for k, v in new_labels.items()
                                              if k not in OWN_LABELS},
                 "data": HIDDEN_CHANGED}
    else:
        result.result = current
        after = _describe(current, rolling)
        if labels is not None and labels != user_labels(current):
            own = dict((k, v) for k, v in (current["Spec"].get("Labels") or {}).items()
                       if k in OWN_LABELS)
            result.steps.append(("relabel", current, dict(labels, **own)))
            after["labels"] = dict(labels)

    if rolling:
        keep = params["versions_to_keep"]
        if keep >= 0:
            keep = max(keep, 1)
            old = [o for o in found if o["Spec"]["Name"] in after_names[:-keep]]
            for obj in old:
                busy = users(kind, obj, services)
                if busy:
                    result.in_use[obj["Spec"]["Name"]] = busy
                else:
                    result.steps.append(("remove", obj))
                    result.pruned.append(obj["Spec"]["Name"])
                    after_names.remove(obj["Spec"]["Name"])
        after["versions"] = after_names
    result.diff = {"before": _describe(current, rolling, names), "after": after}
    return result


# --- the run ----------------------------------------------------------------------------------

def _read(path):
    with open(path, "rb") as f:
        return f.read()


def run_module(module, kind):
    """swarm_secret's and swarm_config's main, given their AnsibleModule."""
    p = module.params
    id_key, name_key = kind.name + "_id", kind.name + "_name"
    out = {"changed": False, id_key: None, name_key: None, "pruned": [], "in_use": {}}

    def fail(msg):
        module.fail_json(msg=msg, **out)

    value = None
    try:
        check_name(kind, p["name"])
        if p["state"] == "present":
            value = load_data(kind, p["data"], p["data_is_b64"], p["data_src"], _read)
    except DataObjectError as exc:
        fail(str(exc))
    client = client_for(module)
    require_manager(module, client)
    try:
        objects = client.get(kind.path)
        services = client.get("/services")
    except SwarmletAPIError as exc:
        fail(f"Cannot list the {kind.name}s: {exc.message}")
    try:
        todo = plan(kind, p, value, objects, services)
    except DataObjectError as exc:
        fail(str(exc))
    for warning in todo.warnings:
        module.warn(warning)
    out.update(changed=todo.changed, pruned=todo.pruned, in_use=todo.in_use)
    if isinstance(todo.result, dict):
        out.update({id_key: todo.result["ID"], name_key: todo.result["Spec"]["Name"]})
    elif todo.result is not None:
        out[name_key] = todo.result
    if not module.check_mode:
        for step in todo.steps:
            out[id_key] = _apply(kind, client, step, value, fail,
                                 p.get("template_driver")) or out[id_key]
    if module._diff:
        out["diff"] = todo.diff
    module.exit_json(**out)


def _apply(kind, client, step, value, fail, driver=None):
    """Run one step; the ID of an object created (with the config's template driver)."""
    action, obj = step[0], step[1]
    try:
        if action == "remove":
            client.delete(f"{kind.path}/{obj['ID']}")
        elif action == "relabel":
            client.post(f"{kind.path}/{obj['ID']}/update",
                        {"Name": obj["Spec"]["Name"], "Labels": step[2]},
                        version=obj["Version"]["Index"])
        else:
            body = {"Name": obj, "Labels": step[2],
                    "Data": base64.b64encode(value).decode("ascii")}
            if driver:  # the nodes render the data for each task
                body["Templating"] = {"Name": driver}
            return client.post(f"{kind.path}/create", body)["ID"]
    except SwarmletAPIError as exc:
        what = obj if action == "create" else obj["Spec"]["Name"]
        verb = {"remove": "remove", "relabel": "update the labels of"}.get(action, "create")
        fail(f"Cannot {verb} {kind.name} {what}: {exc.message}")
    return None
