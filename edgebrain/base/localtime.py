"""Local time by the zone's rules (zoneinfo): which zone, what its clock shows at an instant, and when it
next shows a given time.

Timed commands are stored as instants (epoch seconds, UTC). A duration ("in 1 hour") is added to the
instant it was said at; a clock time ("at 02:30") is the next instant at which the zone's clock shows
it. On the night clocks go forward, a time the clock skips is taken with the offset from before the
change, so 02:30 in a gap from 02:00 to 03:00 is 03:30 (as RFC 5545 reads such times); on the night
they go back, a time the clock shows twice is its first occurrence still to come, and it fires once.
"""

from __future__ import annotations

import calendar
import logging
import os
import re
import time
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edgebrain.base.errors import InputError

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
        # A POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3") has rules zoneinfo cannot read, the C library can;
        # a name without an offset in it is no such string, and the C library reads it as UTC.
        level = logging.INFO if re.search(r"\d", name) else logging.WARNING
        log.log(level, "time zone %r is not in the zone data (%s); the C library's rules apply%s", name, exc,
                "" if level == logging.INFO else ", which read it as UTC")
    return LibcZone()


class LibcZone(tzinfo):
    """The zone the C library follows (its TZ rules): for a TZ that zoneinfo cannot read."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        """The offset of that wall time: of its first showing (fold 0) or its second (fold 1) when the clock
        shows it twice; in a gap, the offset from before the change."""
        if dt is None:
            return timedelta(seconds=time.localtime().tm_gmtoff)
        fields = dt.timetuple()[:8]
        readings = sorted({time.mktime((*fields, isdst)) for isdst in (-1, 0, 1)})
        shown = [r for r in readings if tuple(time.localtime(r)[:5]) == tuple(fields[:5])]
        instant = (shown[-1] if dt.fold else shown[0]) if shown else time.mktime((*fields, -1))
        return timedelta(seconds=calendar.timegm(fields) - int(instant))

    def dst(self, dt: datetime | None) -> timedelta:
        """Not told apart from the offset: the C library gives the offset whole."""
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        """The zone's abbreviation at that wall time."""
        when = time.time() if dt is None else calendar.timegm(dt.timetuple()) - self.utcoffset(dt).total_seconds()
        return time.localtime(when).tm_zone

    def fromutc(self, dt: datetime) -> datetime:
        """The wall time at a UTC instant (fold 1 for the second showing of a time shown twice)."""
        instant = (dt.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds()
        offset = timedelta(seconds=time.localtime(instant).tm_gmtoff)
        wall = dt + offset
        return wall if wall.utcoffset() == offset else wall.replace(fold=1)


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
    raise InputError(f"{clock} does not occur within three days of {wall_clock(now, zone).isoformat()}")
