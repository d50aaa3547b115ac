"""Docker's type casts after interpolation (cli/compose/loader/interpolate.go): a string at
these keys — `replicas: ${REPLICAS:-2}` once substituted, or `replicas: "2"` — is read as
the number or boolean the key takes. Values of other types are left to the models."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from swarmlet.spec.compose.problems import ComposeError, dotted

_INT = re.compile(r"[+-]?[0-9]+")


def _int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


def _bool(text: str) -> bool:  # http://yaml.org/type/bool.html, as Docker's toBoolean
    low = text.lower()
    if low in ("y", "yes", "true", "on"):
        return True
    if low in ("n", "no", "false", "off"):
        return False
    raise ValueError(f"invalid boolean: {text}")


def _service(*parts: str) -> tuple[str, ...]:
    return ("services", "*", *parts)


# "*" is any key of a mapping, "[]" any item of a list.
CASTS: tuple[tuple[tuple[str, ...], Callable[[str], Any]], ...] = (
    (_service("configs", "[]", "mode"), _int),
    (_service("secrets", "[]", "mode"), _int),
    (_service("healthcheck", "retries"), _int),
    (_service("healthcheck", "disable"), _bool),
    (_service("deploy", "replicas"), _int),
    (_service("deploy", "update_config", "parallelism"), _int),
    (_service("deploy", "update_config", "max_failure_ratio"), _float),
    (_service("deploy", "rollback_config", "parallelism"), _int),
    (_service("deploy", "rollback_config", "max_failure_ratio"), _float),
    (_service("deploy", "restart_policy", "max_attempts"), _int),
    (_service("deploy", "placement", "max_replicas_per_node"), _int),
    (_service("ports", "[]", "target"), _int),
    (_service("ports", "[]", "published"), _int),
    (_service("ulimits", "*"), _int),
    (_service("ulimits", "*", "hard"), _int),
    (_service("ulimits", "*", "soft"), _int),
    (_service("privileged"), _bool),
    (_service("oom_score_adj"), _int),
    (_service("read_only"), _bool),
    (_service("stdin_open"), _bool),
    (_service("tty"), _bool),
    (_service("init"), _bool),
    (_service("volumes", "[]", "read_only"), _bool),
    (_service("volumes", "[]", "volume", "nocopy"), _bool),
    (("networks", "*", "external"), _bool),
    (("networks", "*", "internal"), _bool),
    (("networks", "*", "attachable"), _bool),
    (("volumes", "*", "external"), _bool),
    (("secrets", "*", "external"), _bool),
    (("configs", "*", "external"), _bool),
)


def cast_values(filename: str, config: dict[str, Any]) -> dict[str, Any]:
    """`config` with the strings at CASTS' keys cast (in place); a string that is not of
    the key's type is a ComposeError naming it."""
    for pattern, cast in CASTS:
        _cast(filename, config, pattern, [], cast)
    return config


def _cast(filename: str, node: Any, pattern: tuple[str, ...], path: list[Any],
          cast: Callable[[str], Any]) -> None:
    head, rest = pattern[0], pattern[1:]
    if head == "[]":
        items = list(enumerate(node)) if isinstance(node, list) else []
    elif isinstance(node, dict):
        items = list(node.items()) if head == "*" else [(head, node[head])] if head in node \
            else []
    else:
        items = []
    for key, value in items:
        if rest:
            _cast(filename, value, rest, [*path, key], cast)
        elif isinstance(value, str):
            # a published port may be a range in the Compose Specification: left as written
            if pattern[-1] == "published" and "-" in value:
                continue
            try:
                node[key] = cast(value)
            except ValueError as exc:
                raise ComposeError(filename, dotted([*path, key]), str(exc)) from None
