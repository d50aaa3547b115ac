"""Docker's units: byte sizes (RAMInBytes, BytesSize), CPUs, Go durations, HumanDuration."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from swarmlet.cli.durations import parse_duration
from swarmlet.errors import SwarmletError

_BINARY = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_BINARY_ABBRS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
NANO = 10**9


def ram_in_bytes(text: str) -> int:
    """Bytes in a size as Docker's RAMInBytes reads it: 64m, 1g, 512k, 1.5GiB, 100 MB, 42."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise SwarmletError(f"invalid size: '{text}'")
    number, suffix = (text[:sep + 1], text[sep + 1:]) if text[sep] != " " else (
        text[:sep], text[sep + 1:])
    try:
        if not re.fullmatch(r"[0-9.]+", number):
            raise ValueError(number)
        size = float(number)
    except ValueError:
        raise SwarmletError(f'strconv.ParseFloat: parsing "{number}": invalid syntax') from None
    if size < 0:
        raise SwarmletError(f"invalid size: '{text}'")
    if not suffix:
        return int(size)
    low = suffix.lower()
    if len(low) > 3 or (low[0] == "b" and len(low) > 1):
        raise SwarmletError(f"invalid suffix: '{low}'")
    if low[0] == "b":
        return int(size)
    if low[0] not in _BINARY or (len(low) == 2 and low[1] != "b") or (
            len(low) == 3 and low[1:] != "ib"):
        raise SwarmletError(f"invalid suffix: '{low}'")
    return int(size * _BINARY[low[0]])


def bytes_size(size: float) -> str:
    """Docker's BytesSize: 536870912 -> "512MiB", 1610612736 -> "1.5GiB"."""
    i = 0
    while size >= 1024 and i < len(_BINARY_ABBRS) - 1:
        size /= 1024
        i += 1
    return f"{size:.4g}{_BINARY_ABBRS[i]}"


def nano_cpus(text: str) -> int:
    """NanoCPUs in a decimal CPU count ("0.5" -> 500000000), as Docker's NanoCPUs flag."""
    try:
        cpus = Decimal(text)
    except InvalidOperation:
        raise SwarmletError(f"failed to parse {text} as a rational number") from None
    if not cpus.is_finite():
        raise SwarmletError(f"failed to parse {text} as a rational number")
    nanos = cpus * NANO
    if nanos != nanos.to_integral_value():
        raise SwarmletError("value is too precise")
    return int(nanos)


def cpus_text(nanos: int) -> str:
    """NanoCPUs as a CPU count the way Go prints a float64: 1, 0.5, 1.25."""
    return f"{nanos / NANO:.15g}"


def duration_nanos(text: str) -> int:
    """Nanoseconds in a Go duration ("1m30s", "500ms", "0"); Go's error wording otherwise."""
    if text in ("0", "+0", "-0"):
        return 0
    try:
        return round(parse_duration(text) * NANO)
    except SwarmletError:
        raise SwarmletError(f'time: invalid duration "{text}"') from None


def duration_text(nanos: int) -> str:
    """Go's time.Duration.String(): 0s, 500ms, 1.5s, 1m30s, 1h0m0s."""
    if nanos == 0:
        return "0s"
    sign, n = ("-", -nanos) if nanos < 0 else ("", nanos)
    if n < NANO:
        for unit, scale in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if n >= scale:
                return sign + _fraction(n, scale) + unit
    hours, rest = divmod(n, 3600 * NANO)
    minutes, rest = divmod(rest, 60 * NANO)
    text = _fraction(rest, NANO) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _fraction(value: int, scale: int) -> str:
    whole, frac = divmod(value, scale)
    if not frac:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


def human_duration(seconds: float) -> str:
    """Docker's HumanDuration: "Less than a second", "9 seconds", "About a minute", ..."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)  # Go's d.Round(time.Hour), half away from zero
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"
