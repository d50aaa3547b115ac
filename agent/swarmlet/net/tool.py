"""Run this node's dataplane alone, from a hand-written assignment: for tests and for trying
overlays without a manager.

    python -m swarmlet.net.tool --local-addr 198.18.0.2 [--machine NAME] FILE

FILE holds {"Networks": [...]} in the assignments' shape (docs/networking.md). The tool serves
the network driver, programs what FILE lists, makes a Docker network for each (the agent makes
them only for its tasks), and programs again whenever FILE changes (write a new file and rename
it over the old one). Attach containers with the endpoint option `swarmlet.address`, e.g.
`docker network connect --driver-opt swarmlet.address=10.0.1.9/24 NETWORK CONTAINER`.
SIGTERM or SIGINT: it stops serving and leaves everything as it is, as the agent does; an
empty list removes the devices and Docker networks first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from swarmlet.net.dataplane import NodeNetworks
from swarmlet.net.spec import parse_networks

POLL = 0.2


def _read(path: Path) -> list:
    return json.loads(path.read_text()).get("Networks") or []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swarmlet.net.tool")
    parser.add_argument("--local-addr", required=True, help="this node's underlay address")
    parser.add_argument("--machine", default=os.environ.get("SWARMLET_MACHINE") or None,
                        help="the local machine this runs in (default: $SWARMLET_MACHINE)")
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _s, _f: stopping.set())
    plane = NodeNetworks(machine=args.machine or "")
    plane.start()
    seen = None
    try:
        while not stopping.is_set():
            try:
                stat = args.file.stat()
                version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
                if version != seen:
                    entries = _read(args.file)
                    plane.update(entries, args.local_addr)
                    made = [plane.docker.ensure(spec)
                            for spec in parse_networks(entries).values()]
                    seen = version
                    print(f"programmed {args.file}: {' '.join(made) or 'no networks'}",
                          flush=True)
            except Exception as exc:  # a half-written file, dockerd away: try again
                print(f"cannot use {args.file}: {exc}", file=sys.stderr, flush=True)
                stopping.wait(1.0)
            stopping.wait(POLL)
    finally:
        plane.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
