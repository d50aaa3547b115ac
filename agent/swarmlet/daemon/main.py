"""Entry point of swarmletd."""

import sys


def main() -> int:
    print("swarmletd: not built yet", file=sys.stderr)
    return 1
