"""Local time by the zone's rules (zoneinfo): which zone, what its clock shows at an instant, and when it
next shows a given time.

Timed commands are stored as instants (epoch seconds, UTC). A duration ("in 1 hour") is added to the
instant it was said at; a clock time ("at 02:30") is the next instant at which the zone's clock shows
it. On the night clocks go forward, a time the clock skips is taken with the offset from before the
change, so 02:30 in a gap from 02:00 to 03:00 is 03:30 (as RFC 5545 reads such times); on the night
they go back, a time the clock shows twice is its first occurrence still to come, and it fires once.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

_LOCALTIME = Path("/etc/localtime")


def local_zone() -> tzinfo:
    """This machine's zone: $TZ when it names one, else /etc/localtime, else the C library's offset."""
    return _zone(os.environ.get("TZ"))


@cache
def _zone(tz: str | None) -> tzinfo:
    name = (tz or "").lstrip(":")
    try:
        if name.startswith("/"):
            with open(name, "rb") as file:
                return ZoneInfo.from_file(file, key=name)
        if name:
            return ZoneInfo(name)
        if _LOCALTIME.exists():
            target = str(_LOCALTIME.resolve())
            if "/zoneinfo/" in target:
                return ZoneInfo(target.split("/zoneinfo/", 1)[1])
            with _LOCALTIME.open("rb") as file:
                return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError) as exc:
        log.warning("time zone %r not found (%s); using the current UTC offset, which ignores its changes",
                    name or str(_LOCALTIME), exc)
    # No rules to follow (a POSIX TZ string, no zone data): today's offset, without its changes.
    fixed = datetime.now().astimezone().tzinfo
    assert fixed is not None
    return fixed


def wall_clock(instant: float, zone: tzinfo | None = None) -> datetime:
    """The zone's date and time at an instant."""
    return datetime.fromtimestamp(instant, zone or local_zone())


def hhmm(instant: float, zone: tzinfo | None = None) -> str:
    """What the zone's clock shows at an instant, as HH:MM."""
    return wall_clock(instant, zone).strftime("%H:%M")


def _shown(day: date, clock: str, zone: tzinfo) -> list[float]:
    """The instants at which the clock shows HH:MM on ``day``: one, two in the fold, or (in the gap) the
    time as far after the gap as it is after its start."""
    hours, minutes = (int(p) for p in clock.split(":"))
    wall = datetime.combine(day, dtime(hours, minutes), tzinfo=zone)
    first, second = wall.timestamp(), wall.replace(fold=1).timestamp()
    # fold=0 reads a time with the offset from before a change: in the fold that is the first time the
    # clock shows it; in the gap it is the later of the two readings, the one RFC 5545 takes.
    return [first, second] if first < second else [first]


def next_occurrence(clock: str, now: float, zone: tzinfo | None = None) -> float:
    """The next instant strictly after ``now`` (epoch seconds) at which the zone's clock shows HH:MM."""
    zone = zone or local_zone()
    today = wall_clock(now, zone).date()
    for days in range(3):  # today or tomorrow; a third day only where a change skips a whole day
        for instant in _shown(today + timedelta(days=days), clock, zone):
            if instant > now:
                return instant
    raise ValueError(f"{clock} does not occur within three days of {wall_clock(now, zone).isoformat()}")
