"""Local machines for a benchmark, the benchmark's scripts written to a temporary folder (the
machines see the host's files), and commands run in them.

Where machines live: $SWARMLET_MACHINE_STORAGE_PATH when set (a store shared with others, so
underlay addresses are never handed out twice), else a temporary store of the benchmark's own.
Machine names: `name("m1")` is $SWARMLET_BENCH_PREFIX + "m1" (default prefix "bench-").
close() removes only the machines this run created, by name.
SWARMLET_BENCH_LOGS=DIR keeps each machine's log (its agent's too) in DIR/NAME.log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SWARMLET = str(Path(sys.executable).parent / "swarmlet")
PREFIX = os.environ.get("SWARMLET_BENCH_PREFIX", "bench-")


class BenchMachines:
    def __init__(self, scripts: dict[str, str]) -> None:
        self.tmp = tempfile.mkdtemp(prefix="swarmlet-bench-")
        shared = os.environ.get("SWARMLET_MACHINE_STORAGE_PATH")
        self.store = shared or str(Path(self.tmp) / "store")
        self.env = {**os.environ, "SWARMLET_MACHINE_STORAGE_PATH": self.store}
        self.scripts = Path(self.tmp) / "scripts"
        self.scripts.mkdir()
        self.created: list[str] = []
        for name, text in scripts.items():
            (self.scripts / name).write_text(text)

    @staticmethod
    def name(suffix: str) -> str:
        return PREFIX + suffix

    def __call__(self, *args: str) -> str:
        """`swarmlet machine ARGS...`; its stdout, or RuntimeError with its stderr."""
        if args and args[0] == "create":
            self.created += [a for a in args[1:] if not a.startswith("-")]
        proc = subprocess.run([SWARMLET, "machine", *args], env=self.env, capture_output=True,
                              text=True)
        if proc.returncode:
            raise RuntimeError(f"swarmlet machine {' '.join(args)}: {proc.stderr.strip()}")
        if args and args[0] == "rm":
            self.created = [m for m in self.created if m not in args[1:]]
        return proc.stdout

    def on(self, machine: str, command: str) -> str:
        return self("ssh", machine, "--", command)

    def swarm(self, manager: str, others: list[str], role: str = "worker") -> None:
        """Create the machines; `manager` inits a swarm, `others` join it as `role`."""
        self("create", manager, *others)
        self.on(manager, "swarmlet swarm init")
        token = self.on(manager, f"swarmlet swarm join-token -q {role}").strip()
        ip = self("ip", manager).strip()
        for other in others:
            self.on(other, f"swarmlet swarm join --token {token} {ip}:2377")

    def py_command(self, script: str, *args: str) -> str:
        return f"{sys.executable} {self.scripts / script} {' '.join(args)}"

    def py(self, machine: str, script: str, *args: str) -> str:
        return self.on(machine, self.py_command(script, *args))

    def keep_logs(self) -> None:
        """Before the machines go: their logs to $SWARMLET_BENCH_LOGS, if set."""
        keep = os.environ.get("SWARMLET_BENCH_LOGS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for name in self.created:
                log = Path(self.store) / "machines" / name / "machine.log"
                if log.exists():
                    shutil.copy(log, Path(keep) / f"{name}.log")

    def close(self) -> None:
        self.keep_logs()
        if self.created:
            subprocess.run([SWARMLET, "machine", "rm", *self.created], env=self.env,
                           capture_output=True)
            self.created = []
        shutil.rmtree(self.tmp, ignore_errors=True)


def print_rows(rows: list[tuple[str, str]], indent: str = "") -> None:
    """A two-column table: names aligned, then values."""
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{indent}{name:<{width}}   {value}")
