"""Template data as Go sees it: rows (GoStruct, Docker's formatter contexts), the raw maps
of inspected objects, missing values, and how fmt's %v and encoding/json print them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Docker's map-typed fields (map[string]string and the like): a missing key is no error in
# them, and one the API left out is an empty map, as Docker's typed object has it.
MAP_FIELDS = frozenset({"Labels", "Options", "DriverOpts", "Sysctls", "Containers",
                        "Capabilities"})
# Docker's optional (pointer) fields: one the API left out is nil (false in `if`).
POINTER_FIELDS = frozenset({"UpdateStatus", "ServiceStatus", "JobStatus", "ManagerStatus",
                            "PreviousSpec", "ControlError", "Replicated", "Global",
                            "ReplicatedJob", "GlobalJob", "UpdateConfig", "RollbackConfig",
                            "RestartPolicy", "Placement", "Resources", "Healthcheck",
                            "LogDriver", "EndpointSpec", "Privileges", "Driver", "Templating"})


class _NoValue:
    """Go's invalid reflect.Value: a missing map key, printed "<no value>"."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class NilField:
    """An optional field the object has not: Go's nil pointer, printed "<nil>"; a field of it
    fails as Docker's raw fallback does, naming the missing key."""
    name: str


@dataclass(frozen=True)
class Method:
    """A row method taking arguments, as `Label "key"`: its parameter types and body."""
    params: tuple[str, ...]
    call: Callable[..., Any]


@dataclass(frozen=True)
class GoStruct:
    """A formatter context: `fields` are its methods (values, or Method for those with
    arguments); `type_name` is how Go names its type in errors. A `lenient` one (the header
    row's map) answers an unknown name with "<no value>"."""
    type_name: str
    fields: dict[str, Any]
    lenient: bool = False


@dataclass(frozen=True)
class Function:
    params: tuple[str, ...]  # "string" | "int" | "any"; a trailing "..." makes it variadic
    call: Callable[..., Any]


class FunctionError(Exception):
    """What a template function returns as its error ("error calling join: ...")."""


def go_type(value: Any) -> str:
    if isinstance(value, GoStruct):
        return value.type_name
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "interface {}"


def go_float(value: float) -> str:
    """A float64 as Go's %v prints it (strconv 'g', shortest, %e from exponent 21)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # the decimal point's place in `text`
    if point - 1 < -4 or point - 1 >= 21:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        out = f"{mantissa}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    elif point <= 0:
        out = "0." + "0" * -point + text
    elif point >= len(text):
        out = text + "0" * (point - len(text))
    else:
        out = text[:point] + "." + text[point:]
    return ("-" if sign else "") + out


def go_print(value: Any) -> str:
    """fmt's %v of a value."""
    if isinstance(value, str):
        return value
    if value is NO_VALUE:
        return "<no value>"
    if value is None or isinstance(value, NilField):
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_print(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_print(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, GoStruct):
        return "&{" + " ".join(go_print(v) for v in value.fields.values()
                               if not isinstance(v, Method)) + "}"
    return str(value)


def go_json(value: Any) -> str:
    """Docker's `json` function: Go's encoding/json, no HTML escaping; a row (its
    MarshalJSON, a Go map) has sorted keys and, as json.Marshal does, escaped < > &."""
    if value is NO_VALUE or isinstance(value, NilField):
        return "null"
    if isinstance(value, GoStruct):
        fields = {k: v for k, v in value.fields.items() if not isinstance(v, Method)}
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            text = text.replace(char, escaped)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def truth(value: Any) -> bool:
    """Go's isTrue: false, 0, nil and empty things are false; a struct is true."""
    if value is NO_VALUE or value is None or isinstance(value, NilField):
        return False
    if isinstance(value, GoStruct | Method):
        return True
    if isinstance(value, bool | int | float):
        return value != 0
    return len(value) > 0
