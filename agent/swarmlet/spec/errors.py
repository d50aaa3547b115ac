"""The spec core's error: what was wrong, naming the field, in Docker's words where Docker
has them. The API answers it as 400 {"message": ...}; the CLI prints it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from swarmlet.errors import InvalidArgument

MAX_SHOWN = 5  # errors listed in one message; the rest are counted


class SpecError(InvalidArgument):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def field_path(loc: tuple[Any, ...]) -> str:
    """("TaskTemplate", "Networks", 0, "Target") -> "TaskTemplate.Networks[0].Target"."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.startswith(("function-", "constrained-")):
            continue  # pydantic's names for validators, not fields
        else:
            path += f".{part}" if path else str(part)
    return path


# Docker's own words for some refusals: (field path pattern, pydantic error kind) -> message.
# "*" in a pattern stands for a list index; {input} is the value refused.
_DOCKER_WORDS: dict[tuple[str, str], str] = {
    ("EndpointSpec.Mode", "literal_error"): 'invalid resolution mode: "{input}"',
    ("EndpointSpec.Ports[*].Protocol", "literal_error"): 'invalid protocol: "{input}"',
    ("EndpointSpec.Ports[*].PublishMode", "literal_error"): 'invalid publish mode: "{input}"',
    ("TaskTemplate.RestartPolicy.Condition", "literal_error"):
        'invalid restart condition "{input}": expected any, on-failure or none',
    ("TaskTemplate.RestartPolicy.Delay", "greater_than_equal"):
        "TaskSpec: restart-delay cannot be negative",
    ("TaskTemplate.RestartPolicy.Window", "greater_than_equal"):
        "TaskSpec: restart-window cannot be negative",
    ("TaskTemplate.RestartPolicy.MaxAttempts", "greater_than_equal"):
        "TaskSpec: restart-max-attempts cannot be negative",
    ("UpdateConfig.Delay", "greater_than_equal"): "TaskSpec: update-delay cannot be negative",
    ("UpdateConfig.Monitor", "greater_than_equal"): "TaskSpec: update-monitor cannot be negative",
    ("RollbackConfig.Delay", "greater_than_equal"): "TaskSpec: update-delay cannot be negative",
    ("RollbackConfig.Monitor", "greater_than_equal"):
        "TaskSpec: update-monitor cannot be negative",
    ("UpdateConfig.MaxFailureRatio", "less_than_equal"):
        "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1",
    ("UpdateConfig.MaxFailureRatio", "greater_than_equal"):
        "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1",
    ("RollbackConfig.MaxFailureRatio", "less_than_equal"):
        "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1",
    ("RollbackConfig.MaxFailureRatio", "greater_than_equal"):
        "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1",
    ("UpdateConfig.FailureAction", "literal_error"): "unrecognized update failure action {input}",
    ("RollbackConfig.FailureAction", "literal_error"):
        "unrecognized rollback failure action {input}",
    ("UpdateConfig.Order", "literal_error"): "unrecognized update order {input}",
    ("RollbackConfig.Order", "literal_error"): "unrecognized rollback order {input}",
    ("CAConfig.NodeCertExpiry", "greater_than_equal"): "minimum certificate expiry time is 1h0m0s",
    ("Spec.CAConfig.NodeCertExpiry", "greater_than_equal"):
        "minimum certificate expiry time is 1h0m0s",
    ("Role", "literal_error"): 'invalid role "{input}": expected manager or worker',
    ("Availability", "literal_error"):
        'invalid availability "{input}": expected active, pause or drain',
}


def docker_words(path: str, error: dict[str, Any]) -> str | None:
    pattern = re.sub(r"\[\d+\]", "[*]", path)
    words = _DOCKER_WORDS.get((pattern, error["type"]))
    return words.format(input=error.get("input")) if words else None


def _describe(error: dict[str, Any]) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        msg = "unknown field"
    elif kind == "missing":
        msg = "required field is missing"
    return msg


def from_validation(exc: ValidationError, what: str) -> SpecError:
    """One SpecError for pydantic's errors: `invalid <what>: <field>: <problem>; ...`."""
    errors = exc.errors(include_url=False)
    if len(errors) == 1:
        path = field_path(tuple(errors[0]["loc"]))
        words = docker_words(path, errors[0])
        if words:
            return SpecError(words, path)
    parts = []
    for error in errors[:MAX_SHOWN]:
        where = field_path(tuple(error["loc"]))
        parts.append(f"{where}: {_describe(error)}" if where else _describe(error))
    if len(errors) > MAX_SHOWN:
        parts.append(f"and {len(errors) - MAX_SHOWN} more")
    first = field_path(tuple(errors[0]["loc"])) if errors else ""
    return SpecError(f"invalid {what}: {'; '.join(parts)}", first)
