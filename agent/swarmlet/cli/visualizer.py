"""`swarmlet visualizer`: serve the live page of the swarm (swarmlet/visualizer/)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from pathlib import Path

from swarmlet.errors import SwarmletError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "visualizer", help="Serve a live page of the swarm's nodes and tasks (foreground)",
        description="Serve a live page of the swarm: a column per node, a card per task. "
        "Run it on a manager. A loopback address needs nothing; any other address needs "
        "--token-file, or --tls-cert and --tls-key (then browsers present a client "
        "certificate of the swarm).")
    p.add_argument("--listen", default="127.0.0.1:8888", metavar="ADDR:PORT",
                   help="Address to serve the page on (default 127.0.0.1:8888)")
    p.add_argument("--token-file", metavar="FILE",
                   help="File holding the token a browser presents once as /?token=TOKEN")
    p.add_argument("--tls-cert", metavar="FILE", help="Serve HTTPS with this certificate "
                   "and ask clients for a certificate signed by the swarm's root CA")
    p.add_argument("--tls-key", metavar="FILE", help="The key of --tls-cert")
    p.set_defaults(run=cmd_visualizer)


def read_token(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise SwarmletError(f"cannot read the token file {path}: {exc.strerror}") from exc


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_visualizer(args: argparse.Namespace) -> None:
    from swarmlet.visualizer.server import serve

    if (args.tls_cert is None) != (args.tls_key is None):
        raise SwarmletError("--tls-cert and --tls-key go together")
    token = read_token(args.token_file) if args.token_file else None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    # A supervisor stops it with SIGTERM: end as Ctrl-C does (the finally of serve()).
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.listen, args.host, token, args.tls_cert, args.tls_key)
