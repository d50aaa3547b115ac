"""A task's secret and config files: on a tmpfs of its own, never on a disk.

Per task, a tmpfs at /run/swarmlet-secrets/<machine or node>/<task> (each directory root's
alone, 0700) holds one file per reference (owner and mode as asked), remounted read-only
once written; each file is bind-mounted read-only into the container at its target
(/run/secrets/<target> for a secret, the path asked for a config). The tmpfs is made in
dockerd's mount namespace, where the bind mounts are resolved (on a host that is the agent's
own; the local machines share one dockerd with the host), and unmounted when the task ends:
nothing of it stays on the node. The data comes from the assignments, in memory, and
reaches the files through a pipe (never an argument or a temporary file).
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

from swarmlet.errors import SwarmletError
from swarmlet.worker import containers

log = logging.getLogger("swarmlet.worker.files")

ROOT = Path("/run/swarmlet-secrets")
DOCKER_PID = Path("/var/run/docker.pid")
SECRETS_DIR = "/run/secrets"
KINDS = ("secret", "config")


class TaskFilesError(SwarmletError):
    pass


def references(task: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, reference) of the task's secrets and configs, in order."""
    container = (task.get("Spec") or {}).get("ContainerSpec") or {}
    return [(kind, ref) for kind in KINDS
            for ref in container.get(f"{kind.capitalize()}s") or []]


def container_path(kind: str, ref: dict[str, Any]) -> str:
    target = ref["File"]["Name"]
    if target.startswith("/"):
        return target
    return f"{SECRETS_DIR}/{target}" if kind == "secret" else f"/{target}"


def unmount_all(owner: str, root: Path = ROOT) -> None:
    """A local machine's power cut: the tmpfs mounts of its tasks go with it (what RAM
    held). Run on the host, in dockerd's mount namespace (the machine tool's own)."""
    where = root / owner
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
              if line.split()[1].startswith(f"{where}/")]
    for mount in mounts:
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        subprocess.run(["rmdir", mount], capture_output=True, check=False)
    for empty in (where, root):  # (root only when no other machine's files are there)
        subprocess.run(["rmdir", str(empty)], capture_output=True, check=False)


class TaskFiles:
    def __init__(self, owner: str, root: Path = ROOT) -> None:
        """`owner`: the local machine's name (machines share one dockerd), else the node
        ID."""
        self.dir = root / owner
        self._made: set[str] | None = None  # task IDs with a tmpfs; None: not listed yet

    def prepare(self, task: dict[str, Any], data: dict[tuple[str, str], bytes],
                ) -> list[dict[str, Any]] | None:
        """The bind mounts of the task's files, made now; [] for a task without any, None
        while some data has not arrived yet."""
        refs = references(task)
        if not refs:
            return []
        blobs = [data.get((kind, ref[f"{kind.capitalize()}ID"])) for kind, ref in refs]
        if any(b is None for b in blobs):
            return None
        where = self.dir / task["ID"]
        self._release(where)  # a half-made one of an earlier attempt
        size = sum(len(b) for b in blobs if b is not None) + 64 * 1024
        # Root's alone (0700), from the top: a container reads its files through their
        # bind mounts, which no directory above them on the node guards.
        _in_docker_ns(["install", "-d", "-m", "0700", str(self.dir.parent), str(self.dir),
                       str(where)])
        _in_docker_ns(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700,nodev,nosuid,"
                       "noexec", "tmpfs", str(where)])
        self._held().add(task["ID"])
        mounts = []
        for i, ((kind, ref), blob) in enumerate(zip(refs, blobs, strict=True)):
            path, file = str(where / str(i)), ref["File"]
            _in_docker_ns(["sh", "-c", 'umask 077 && cat > "$1"', "sh", path], stdin=blob)
            _in_docker_ns(["chown", f"{file.get('UID') or '0'}:{file.get('GID') or '0'}",
                           path])
            _in_docker_ns(["chmod", format(int(file.get("Mode", 0o444)), "o"), path])
            mounts.append(containers.mount(container_path(kind, ref), path, "bind",
                                           read_only=True))
        _in_docker_ns(["mount", "-o", "remount,ro", str(where)])
        return mounts

    def release_all_but(self, keep: set[str]) -> None:
        """Unmount the files of every task not in `keep` (ended, or no longer here)."""
        for task_id in sorted(self._held() - keep):
            self._release(self.dir / task_id)
            self._held().discard(task_id)
            log.info("files of task %s removed", task_id)

    def _held(self) -> set[str]:
        if self._made is None:  # after an agent restart: what the last one left
            out = _in_docker_ns(["sh", "-c", 'ls -1 "$1" 2>/dev/null || true', "sh",
                                 str(self.dir)])
            self._made = set(out.split())
        return self._made

    def _release(self, where: Path) -> None:
        _in_docker_ns(["sh", "-c", 'if mountpoint -q "$1"; then umount -l "$1"; fi; '
                       'rmdir "$1" 2>/dev/null || true', "sh", str(where)])


def _docker_mount_ns() -> str:
    """dockerd's mount namespace (its pid file), else PID 1's."""
    try:
        pid = int(DOCKER_PID.read_text().strip())
        if Path(f"/proc/{pid}/ns/mnt").exists():
            return f"/proc/{pid}/ns/mnt"
    except (OSError, ValueError):
        pass
    return "/proc/1/ns/mnt"


def _in_docker_ns(argv: list[str], stdin: bytes | None = None) -> str:
    proc = subprocess.run(["nsenter", f"--mount={_docker_mount_ns()}", "--", *argv],
                          input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        # argv never holds data (it comes by stdin), so it may be named
        raise TaskFilesError(f"{' '.join(argv[:2])}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace")
