"""A compose file's problems in the words Docker users know, naming the file and the key:
`docker-compose.yml: services.web.deploy.replicas: must be an integer`.

Paths are written as Docker's schema errors write them (`services.web.ports.0.target`).
Of pydantic's errors the most specific one is told, as Docker's getMostSpecificError does:
the deepest key; at one key, the types a value may have ("must be a string or a list")."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from swarmlet.spec.errors import SpecError

# pydantic's error kinds that say "not of this type", and the type's name in Docker's words
_TYPES = {
    "string_type": "string", "int_type": "integer", "int_from_float": "integer",
    "float_type": "number", "bool_type": "boolean", "dict_type": "mapping",
    "model_type": "mapping", "model_attributes_type": "mapping", "list_type": "list",
    "none_required": "null", "is_instance_of": "mapping",
}


class ComposeError(SpecError):
    """A compose file refused: `FILE: PATH: problem` (the API answers 400)."""

    def __init__(self, filename: str, path: str, problem: str) -> None:
        where = f"{filename}: {path}" if path else filename
        super().__init__(f"{where}: {problem}", path)
        self.filename = filename
        self.path = path
        self.problem = problem


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def dotted(parts: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in parts)


def _real_path(data: Any, loc: tuple[Any, ...], kind: str) -> list[Any]:
    """The keys of `loc` that are keys of the file: pydantic adds the names of union members
    and validators ("str", "PortLong", "function-after[...]"), which the data does not have."""
    path: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        if in_dict or (isinstance(node, list) and isinstance(part, int)
                       and 0 <= part < len(node)):
            node = node[part]
            path.append(part)
        elif kind == "missing" and i == len(loc) - 1:
            path.append(part)
    return path


def _problem(error: dict[str, Any], key: Any) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return f"Additional property {key} is not allowed"
    if kind == "missing":
        return f"{key} is required"
    if kind in _TYPES:
        return f"must be {_a(_TYPES[kind])}"
    if kind == "string_pattern_mismatch":
        return f"does not match pattern {error['ctx']['pattern']}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {error['ctx'].get('ge', error['ctx'].get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {error['ctx'].get('le', error['ctx'].get('lt'))}"
    if kind in ("too_long", "string_too_long"):
        return "is too long"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return msg


def from_validation(filename: str, data: Any, exc: ValidationError) -> ComposeError:
    """The one most specific problem of a file's validation errors."""
    found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for error in exc.errors(include_url=False):
        path = tuple(_real_path(data, tuple(error["loc"]), error["type"]))
        found.setdefault(path, []).append(error)
    path = max(found, key=len)
    errors = found[path]
    types = [_TYPES[e["type"]] for e in errors if e["type"] in _TYPES]
    others = [e for e in errors if e["type"] not in _TYPES]
    if others:  # a value of the right type, wrong otherwise: that is the problem
        problem = _problem(others[0], path[-1] if path else "")
    elif len(set(types)) > 1:
        names = list(dict.fromkeys(types))
        problem = f"must be {_a(names[0])}{''.join(', ' + n for n in names[1:-1])} or " \
            f"{names[-1]}"
    else:
        problem = _problem(errors[0], path[-1] if path else "")
    return ComposeError(filename, dotted(path), problem)
