"""Reading fields of stored objects with errors that name the field: the store may hold what
an older version or a worker wrote, and "UpdateConfig.Parallelism: 'two' is not a whole
number" tells a user what to fix where int() would only say "invalid literal"."""

from __future__ import annotations

from typing import Any

from swarmlet.manager.services import mode_of


class FieldError(ValueError):
    """A stored field that does not read as what the manager needs; the message names it."""


def whole_number(value: Any, where: str) -> int:
    """An int (a float with no fraction is one too, as JSON may carry it); bools are not."""
    if isinstance(value, bool) or not (isinstance(value, int) or
                                       (isinstance(value, float) and value.is_integer())):
        raise FieldError(f"{where}: {value!r} is not a whole number")
    return int(value)


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{where}: {value!r} is not a number")
    return float(value)


def service_mode(service: dict[str, Any]) -> str:
    """"replicated" or "global" (a spec without Mode is replicated, as Docker's default)."""
    spec = service["Spec"]
    mode = spec.get("Mode", {}) if isinstance(spec, dict) else None
    if not isinstance(mode, dict):
        raise FieldError(f"Spec.Mode: {mode!r} is neither Replicated nor Global")
    return mode_of(spec)
