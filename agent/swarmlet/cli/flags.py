"""pflag's error wording for a flag's bad value, shared by the command modules."""

from __future__ import annotations

from swarmlet.errors import SwarmletError

SHORT = {"env": "e", "workdir": "w", "user": "u", "publish": "p"}


def flag_error(flag: str, value: str, reason: str) -> SwarmletError:
    """invalid argument "abc" for "--replicas" flag: <reason>."""
    name = f"-{SHORT[flag]}, --{flag}" if flag in SHORT else f"--{flag}"
    return SwarmletError(f'invalid argument "{value}" for "{name}" flag: {reason}')
