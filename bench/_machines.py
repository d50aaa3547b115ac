"""Local machines for a benchmark: a temporary machine store of its own, the benchmark's
scripts written there (the machines see the host's files), and commands run in them.
SWARMLET_BENCH_LOGS=DIR keeps each machine's log (its agent's too) in DIR/NAME.log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SWARMLET = str(Path(sys.executable).parent / "swarmlet")


class BenchMachines:
    def __init__(self, scripts: dict[str, str]) -> None:
        self.store = tempfile.mkdtemp(prefix="swarmlet-bench-")
        self.env = {**os.environ, "SWARMLET_MACHINE_STORAGE_PATH": self.store}
        self.scripts = Path(self.store) / "scripts"
        self.scripts.mkdir()
        for name, text in scripts.items():
            (self.scripts / name).write_text(text)

    def __call__(self, *args: str) -> str:
        """`swarmlet machine ARGS...`; its stdout, or RuntimeError with its stderr."""
        proc = subprocess.run([SWARMLET, "machine", *args], env=self.env, capture_output=True,
                              text=True)
        if proc.returncode:
            raise RuntimeError(f"swarmlet machine {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def on(self, machine: str, command: str) -> str:
        return self("ssh", machine, "--", command)

    def py_command(self, script: str, *args: str) -> str:
        return f"{sys.executable} {self.scripts / script} {' '.join(args)}"

    def py(self, machine: str, script: str, *args: str) -> str:
        return self.on(machine, self.py_command(script, *args))

    def keep_logs(self) -> None:
        """Before the machines go: their logs to $SWARMLET_BENCH_LOGS, if set."""
        keep = os.environ.get("SWARMLET_BENCH_LOGS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for log in Path(self.store).glob("machines/*/machine.log"):
                shutil.copy(log, Path(keep) / f"{log.parent.name}.log")

    def close(self) -> None:
        self.keep_logs()
        subprocess.run([SWARMLET, "machine", "rm", "--all"], env=self.env, capture_output=True)
        shutil.rmtree(self.store, ignore_errors=True)
