"""pflag's error wording for a flag's bad value, shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable

from swarmlet.errors import SwarmletError

SHORT = {"env": "e", "workdir": "w", "user": "u", "publish": "p"}


_TRUE, _FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")


def go_bool(flag: str) -> Callable[[str], bool]:
    """A bool flag's value as Go's strconv.ParseBool reads it (--autolock=false)."""
    def parse(value: str) -> bool:
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise flag_error(flag, value, f'strconv.ParseBool: parsing "{value}": invalid syntax')
    return parse


def flag_error(flag: str, value: str, reason: str) -> SwarmletError:
    """invalid argument "abc" for "--replicas" flag: <reason>."""
    name = f"-{SHORT[flag]}, --{flag}" if flag in SHORT else f"--{flag}"
    return SwarmletError(f'invalid argument "{value}" for "{name}" flag: {reason}')
