"""Entry point of swarmletd: `swarmletd [--config PATH] [--log-file PATH] [--debug]`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from swarmlet.daemon.daemon import Daemon
from swarmlet.daemon.memory import limit_malloc_arenas
from swarmlet.errors import SwarmletError
from swarmlet.node.config import DEFAULT_CONFIG_PATH, Config, load_config


def setup_logging(config: Config) -> None:
    handler: logging.Handler
    if config.log_file:
        config.log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(config.log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level.upper())


def main(argv: list[str] | None = None) -> int:
    limit_malloc_arenas()
    parser = argparse.ArgumentParser(prog="swarmletd", description="The Swarmlet node agent.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH,
                        help=f"config file (default {DEFAULT_CONFIG_PATH})")
    parser.add_argument("--log-file", type=Path, help="log here instead of stderr")
    parser.add_argument("--debug", action="store_true", help="log at debug level")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        overrides = {}
        if args.log_file:
            overrides["log_file"] = args.log_file
        if args.debug:
            overrides["log_level"] = "debug"
        if overrides:
            config = Config(**{**config.__dict__, **overrides})
        setup_logging(config)
        Daemon(config).run()
    except SwarmletError as exc:
        print(f"swarmletd: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
