"""Placement constraints: `key==value` / `key!=value` against a node (SwarmKit's
manager/constraint). Values compare case-insensitively and exactly; a missing attribute or
label is "", so `!=` matches it and `==` does not. In the spec core: the API checks them,
the scheduler matches them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from swarmlet.errors import SwarmletError

NODE_LABELS = "node.labels."
ENGINE_LABELS = "engine.labels."
OPERATORS = ("==", "!=")  # tried in this order, as SwarmKit does
KNOWN_KEYS = ("node.id", "node.hostname", "node.ip", "node.role", "node.platform.os",
              "node.platform.arch", "node.labels.<name>", "engine.labels.<name>")

# SwarmKit's patterns; ASCII so `\s` and (?i) mean what they mean in Go's RE2.
_KEY = re.compile(r"[a-z_][a-z0-9\-_.]+", re.IGNORECASE | re.ASCII)
_VALUE = re.compile(r"[a-z0-9:\-_\s.*()?+\[\]\\^$|/]+", re.IGNORECASE | re.ASCII)

Getter = Callable[[dict], object]


def _path(*keys: str) -> Getter:
    def get(node: dict) -> object:
        value: object = node
        for key in keys:
            if not isinstance(value, dict):
                return ""
            value = value.get(key)
        return value
    return get


def _label(where: tuple[str, ...], name: str) -> Getter:
    labels = _path(*where)

    def get(node: dict) -> object:
        found = labels(node)
        return found.get(name) if isinstance(found, dict) else None
    return get


_FIXED: dict[str, Getter] = {
    "node.id": _path("ID"),
    "node.hostname": _path("Description", "Hostname"),
    "node.role": _path("Spec", "Role"),
    "node.platform.os": _path("Description", "Platform", "OS"),
    "node.platform.arch": _path("Description", "Platform", "Architecture"),
}


def label_getter(key: str) -> Getter | None:
    """`node.labels.<name>` / `engine.labels.<name>`: prefix case-insensitive, name as given.
    Also used by spread preferences, which accept only these two kinds of descriptor."""
    lowered = key.lower()
    if lowered.startswith(NODE_LABELS) and len(key) > len(NODE_LABELS):
        return _label(("Spec", "Labels"), key[len(NODE_LABELS):])
    if lowered.startswith(ENGINE_LABELS) and len(key) > len(ENGINE_LABELS):
        return _label(("Description", "Engine", "Labels"), key[len(ENGINE_LABELS):])
    return None


@dataclass(frozen=True)
class Constraint:
    key: str       # as written (trimmed)
    operator: str  # "==" or "!="
    value: str     # as written (trimmed)
    _match: Callable[[dict], bool] = field(repr=False, compare=False)

    def matches(self, node: dict) -> bool:
        return self._match(node)

    def __str__(self) -> str:
        return f"{self.key}{self.operator}{self.value}"


def _text_matcher(get: Getter, equal: bool, value: str) -> Callable[[dict], bool]:
    folded = value.lower()

    def match(node: dict) -> bool:
        actual = get(node)
        return (str(actual if actual is not None else "").lower() == folded) == equal
    return match


def _ip_matcher(equal: bool, value: str) -> Callable[[dict], bool]:
    """node.ip: one address or a CIDR subnet, against the address the manager sees."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise SwarmletError(f"value '{value}' is invalid: node.ip wants an IP address or a "
                            "CIDR subnet such as 10.0.0.0/24") from None

    def match(node: dict) -> bool:
        try:
            addr = ipaddress.ip_address(str(_path("Status", "Addr")(node) or ""))
        except ValueError:
            return not equal  # an unknown address is neither equal to nor within anything
        return (addr in net) == equal
    return match


def parse_constraint(expr: str) -> Constraint:
    for op in OPERATORS:
        if op not in expr:
            continue
        raw_key, raw_value = expr.split(op, 1)
        key, value = raw_key.strip(), raw_value.strip()
        if not _KEY.fullmatch(key):
            raise SwarmletError(f"key '{key}' is invalid")
        if not _VALUE.fullmatch(value):
            raise SwarmletError(f"value '{value}' is invalid")
        equal = op == "=="
        lowered = key.lower()
        if lowered == "node.ip":
            return Constraint(key, op, value, _ip_matcher(equal, value))
        get = _FIXED.get(lowered) or label_getter(key)
        if get is None:
            # SwarmKit accepts it and then matches no node; saying so now is kinder.
            raise SwarmletError(f"key '{key}' is invalid: constraint keys are "
                                + ", ".join(KNOWN_KEYS))
        return Constraint(key, op, value, _text_matcher(get, equal, value))
    raise SwarmletError("constraint expected one operator from " + ", ".join(OPERATORS))


def parse_constraints(exprs: list[str]) -> list[Constraint]:
    """Parse `--constraint` expressions; SwarmletError with Docker's words on bad input."""
    return [parse_constraint(expr) for expr in exprs]


def node_matches(constraints: list[Constraint], node: dict) -> bool:
    """All constraints AND-ed, as SwarmKit's NodeMatches."""
    return all(c.matches(node) for c in constraints)
