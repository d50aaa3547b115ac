"""Docker's `filters` query parameter: JSON of {"key": ["value", ...]} or, as older clients
send it, {"key": {"value": true}}; each list route accepts its own keys."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from swarmlet.transport.errors import HttpError

MAX_VALUES = 1000


class Filters:
    def __init__(self, values: dict[str, list[str]]) -> None:
        self.values = values

    def get(self, key: str) -> list[str]:
        return self.values.get(key, [])

    def __contains__(self, key: str) -> bool:
        return bool(self.values.get(key))

    def any_prefix(self, key: str, value: str) -> bool:
        """No filter on `key`, or `value` starts with one of its values."""
        wanted = self.get(key)
        return not wanted or any(value.startswith(w) for w in wanted)

    def any_equal(self, key: str, value: str | Iterable[str]) -> bool:
        """No filter on `key`, or `value` (one of `value`) is one of its values."""
        wanted = self.get(key)
        if not wanted:
            return True
        values = [value] if isinstance(value, str) else list(value)
        return any(v in wanted for v in values)

    def labels_match(self, key: str, labels: Mapping[str, str] | None) -> bool:
        """Every `key` filter ("name" or "name=value") holds for `labels`, as Docker's
        MatchKVList: all of them, not any."""
        labels = labels or {}
        for item in self.get(key):
            name, eq, value = item.partition("=")
            if name not in labels or (eq and labels[name] != value):
                return False
        return True


def parse_filters(raw: str | None, accepted: Iterable[str] | None) -> Filters:
    """The filters of a request; 400 naming what is wrong (Docker's texts). `accepted`
    None: any key (the syntax only: what is checked before a request goes to dockerd,
    which answers a malformed one 500 in 20.10)."""
    if not raw:
        return Filters({})
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HttpError(400, f"invalid filter: the filters query parameter is not valid "
                             f"JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise HttpError(400, "invalid filter: the filters query parameter must be a JSON "
                             "object of lists")
    allowed = None if accepted is None else set(accepted)
    values: dict[str, list[str]] = {}
    for key, items in data.items():
        if allowed is not None and key not in allowed:
            raise HttpError(400, f"Invalid filter '{key}'")
        if isinstance(items, dict):  # {"value": true}: the older form
            items = [k for k, on in items.items() if on is True]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise HttpError(400, f"invalid filter '{key}': want a list of strings")
        if len(items) > MAX_VALUES:
            raise HttpError(400, f"invalid filter '{key}': at most {MAX_VALUES} values")
        values[key] = items
    return Filters(values)
