"""The times `events --since/--until` take, as Docker's CLI reads them (timetypes'
GetTimestamp): Unix seconds with up to nine decimals ("1764000000.5"), an RFC 3339 date
and time ("2026-12-06T23:00:00Z", "2026-12-06T23:00:00.5+01:00"), a date, or a Go duration
meaning that long ago ("10m", "1h30m"). Dates and times without a zone are UTC here."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from swarmlet.spec.syntax import SyntaxValueError, parse_duration

_UNIX = re.compile(r"^([0-9]{1,12})(?:\.([0-9]{1,9}))?$")
NANO = 1_000_000_000


def parse_event_time(value: str, now_ns: int) -> int:
    """Nanoseconds since the epoch; ValueError naming what is wrong."""
    text = value.strip()
    unix = _UNIX.match(text)
    if unix:
        return int(unix.group(1)) * NANO + int((unix.group(2) or "").ljust(9, "0"))
    try:
        return now_ns - parse_duration(text)
    except SyntaxValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a time: give Unix seconds (1764000000.5), an "
                         "RFC 3339 date and time (2026-12-06T23:00:00Z) or a duration "
                         "before now (10m)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    return seconds * NANO + moment.microsecond * 1000


def rfc3339_nanos(text: str | None) -> int | None:
    """An API timestamp (RFC 3339 with up to nine decimals: Docker's, and the store's
    microseconds) as nanoseconds since the epoch; None for one that is not (or none). A time
    without a zone is UTC."""
    if not text:
        return None
    head, dot, rest = text.partition(".")
    digits = len(rest) - len(rest.lstrip("0123456789")) if dot else 0
    fraction, zone = rest[:digits], rest[digits:] if dot else ""
    try:  # fromisoformat takes at most microseconds: the fraction is read here
        moment = datetime.fromisoformat(head + zone)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * NANO + int(fraction[:9].ljust(9, "0"))


def unix_time(nanos: int) -> str:
    """Nanoseconds as the API's since/until take them: Unix seconds with nine decimals."""
    return f"{nanos // NANO}.{nanos % NANO:09d}"


def check_event_time(value: str) -> str:
    """For the query models: the value parses (it is parsed again, against now, where used)."""
    parse_event_time(value, 0)
    return value


# A query's since/until: checked where it comes in (a 400 naming it), parsed where used.
EventTime = Annotated[str, Field(min_length=1, max_length=64),
                      AfterValidator(check_event_time)]
