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


def check_event_time(value: str) -> str:
    """For the query models: the value parses (it is parsed again, against now, where used)."""
    parse_event_time(value, 0)
    return value


# A query's since/until: checked where it comes in (a 400 naming it), parsed where used.
EventTime = Annotated[str, Field(min_length=1, max_length=64),
                      AfterValidator(check_event_time)]
