"""Env files as Docker reads them (pkg/kvfile): one KEY[=VALUE] a line, nothing
interpolated, quotes kept, leading whitespace and a UTF-8 BOM dropped, `#` lines and blank
lines skipped. A key without `=` takes its value from the environment of the client that
deploys; the file's bytes travel without that environment, so such a key is left out (as
Docker leaves it out when the variable is not set)."""

from __future__ import annotations


def parse_env_file(path: str, data: bytes) -> list[str]:
    """The KEY=VALUE entries of an env file; ValueError with Docker's words."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(f"invalid env file ({path}): invalid utf8 bytes at line {line}"
                         ) from None
    text = text.removeprefix("\ufeff")
    entries = []
    for raw in text.split("\n"):  # as bufio.ScanLines: \n ends a line, a \r before it goes
        line = raw.removesuffix("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, _ = line.partition("=")
        if not key:
            raise ValueError(f"invalid env file ({path}): no variable name on line '{line}'")
        if " " in key or "\t" in key:
            raise ValueError(f"invalid env file ({path}): variable '{key}' contains "
                             "whitespaces")
        if sep:
            entries.append(line)
    return entries
