"""Running the host's tools (ip, iptables, ssh-keygen) with errors that say what failed."""

import subprocess

from swarmlet.errors import SwarmletError


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; raise a SwarmletError naming it if it fails."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise SwarmletError(f"{argv[0]} is not installed (run `make setup`)") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise SwarmletError(f"`{' '.join(argv)}` failed: {detail}")
    return proc


def succeeds(*argv: str) -> bool:
    return run(*argv, check=False).returncode == 0
