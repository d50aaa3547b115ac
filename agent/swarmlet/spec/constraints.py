"""Placement constraints as the spec core checks them (`key==value`, `key!=value`)."""

from __future__ import annotations

from typing import Any

from swarmlet.errors import SwarmletError


def parse_constraints(constraints: list[str]) -> list[Any]:
    """The parsed constraints; ValueError with SwarmKit's message for a malformed one."""
    from swarmlet.manager.scheduler.constraints import parse_constraints as parse

    try:
        return parse(constraints)
    except SwarmletError as exc:
        raise ValueError(str(exc)) from None
