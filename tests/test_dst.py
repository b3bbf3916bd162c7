"""Times across daylight saving time and midnight, in TZ=Europe/Berlin with an injected clock.

Berlin moves its clocks from 02:00 to 03:00 on 2026-03-29 (the spring gap: 02:30 never shows) and from
03:00 back to 02:00 on 2026-10-25 (the autumn fold: 02:30 shows twice). A relative time ("in 1 hour")
is an exact duration; a clock time ("at 02:30", "晚上八点") is the next instant the clock shows it,
a skipped one is shifted forward by the gap, and one shown twice is its first occurrence still to come.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import pytest

from edgebrain.core.handler import Handler
from edgebrain.core.history import History
from edgebrain.core.messages import Request
from edgebrain.core.replies import Replies
from edgebrain.core.schedule import PENDING, Schedule
from edgebrain.devices.command import Command
from edgebrain.devices.router import Router
from edgebrain.understand.engine import Understander
from tests.fakes import Recorder, ScriptedBackend


@pytest.fixture()
def berlin(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def utc(*fields: int) -> float:
    """An instant given as a UTC date and time."""
    return datetime(*fields, tzinfo=UTC).timestamp()


def handlers(registry, schedule: Schedule):
    """A Handler on ``schedule`` (the registry's MQTT devices, the scripted model) for any instant."""
    recorder = Recorder()
    without_gpio = type(registry)([d for d in registry if not d.gpio])
    router = Router(without_gpio, publisher=recorder, prefix="eb")
    replies = Replies(recorder, "eb", None, router, History())
    reader = Understander(without_gpio, ScriptedBackend({}))
    return lambda now: Handler(reader, router, schedule, replies, lambda: now)


@pytest.fixture()
def schedule_for(tmp_path, registry, berlin):
    """Say one request at an instant; get the job it scheduled (and the result's view of it)."""
    schedule = Schedule(tmp_path / "schedule.db")
    handler_at = handlers(registry, schedule)
    said = [0]

    def say(text: str, now: float) -> tuple[float, str]:
        said[0] += 1
        handler = handler_at(now)
        result = handler.handle(Request(text, f"r{said[0]}"))
        assert result is not None and result.status == "scheduled", result
        (job,) = [j for j in schedule.jobs() if j.request == f"r{said[0]}"]
        (shown,) = result.scheduled
        assert shown["status"] == PENDING and shown["id"] == job.id
        return job.due, str(shown["due"])

    yield say
    schedule.close()


# What is said | when (UTC) | when it is due (UTC) | the due time as the result shows it (Berlin).
CASES = """
turn on the kitchen light in 1 hour       | 2026-10-25 00:30 | 2026-10-25 01:30 | 2026-10-25T02:30:00+01:00
turn on the kitchen light in 90 minutes   | 2026-10-24 23:45 | 2026-10-25 01:15 | 2026-10-25T02:15:00+01:00
turn on the kitchen light in 2 hours      | 2026-10-25 00:10 | 2026-10-25 02:10 | 2026-10-25T03:10:00+01:00
turn on the kitchen light in 1 hour       | 2026-03-29 00:30 | 2026-03-29 01:30 | 2026-03-29T03:30:00+02:00
turn on the kitchen light in 45 minutes   | 2026-03-29 00:50 | 2026-03-29 01:35 | 2026-03-29T03:35:00+02:00
turn on the kitchen light at 02:30        | 2026-03-29 00:00 | 2026-03-29 01:30 | 2026-03-29T03:30:00+02:00
turn on the kitchen light at 02:30        | 2026-03-28 21:00 | 2026-03-29 01:30 | 2026-03-29T03:30:00+02:00
turn on the kitchen light at 02:30        | 2026-10-24 23:00 | 2026-10-25 00:30 | 2026-10-25T02:30:00+02:00
turn on the kitchen light at 02:30        | 2026-10-25 00:45 | 2026-10-25 01:30 | 2026-10-25T02:30:00+01:00
turn on the kitchen light at 02:30        | 2026-10-25 01:45 | 2026-10-26 01:30 | 2026-10-26T02:30:00+01:00
晚上八点开厨房灯                          | 2026-10-24 19:00 | 2026-10-25 19:00 | 2026-10-25T20:00:00+01:00
turn on the kitchen light at 8 pm         | 2026-03-28 20:00 | 2026-03-29 18:00 | 2026-03-29T20:00:00+02:00
turn on the kitchen light in 30 minutes   | 2026-06-30 21:50 | 2026-06-30 22:20 | 2026-07-01T00:20:00+02:00
turn on the kitchen light at midnight     | 2026-06-30 21:30 | 2026-06-30 22:00 | 2026-07-01T00:00:00+02:00
turn on the kitchen light at 7            | 2026-06-30 21:30 | 2026-07-01 05:00 | 2026-07-01T07:00:00+02:00
turn on the kitchen light in 25 hours     | 2026-06-30 08:00 | 2026-07-01 09:00 | 2026-07-01T11:00:00+02:00
"""
# Rows 1-3, the autumn fold: the hour after 02:30 CEST is 02:30 CET, not 03:30 CET two hours later.
# Rows 4-5, the spring gap: an hour after 01:30 CET is 03:30 CEST.
# Rows 6-7: a clock time in the gap happens as far after it as it is after 02:00 (RFC 5545): 03:30 CEST.
# Rows 8-10: a clock time in the fold is its first occurrence still to come, once.
# Rows 11-12: across a change clock times are wall-clock times: 8 pm is 8 pm, 23 or 25 hours later.
# Rows 13-15, midnight: the next day, by duration or by the clock.
# Row 16: a duration longer than a day is not a clock time: 25 hours is tomorrow, an hour later.


def cases() -> list[tuple[str, float, float, str]]:
    rows = [[cell.strip() for cell in line.split("|")] for line in CASES.strip().splitlines()]
    return [(text, utc_text(now), utc_text(due), shown) for text, now, due, shown in rows]


def utc_text(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("text", "now", "due", "shown"), cases())
def test_times_follow_the_zone(schedule_for, text, now, due, shown):
    assert schedule_for(text, now) == (due, shown)


def test_a_duration_keeps_its_seconds(schedule_for):
    now = utc(2026, 10, 25, 0, 30, 50)  # 02:30:50 CEST: an hour later is 02:30:50 CET, not 02:30 or 03:30
    assert schedule_for("turn on the kitchen light in 1 hour", now) == (now + 3600, "2026-10-25T02:30:50+01:00")


def test_jobs_stored_before_the_change_still_load_and_fire(tmp_path, berlin):
    """A schedule file written by an earlier version (the same table, due as epoch seconds) opens as it was."""
    path = tmp_path / "schedule.db"
    old = sqlite3.connect(str(path))
    old.executescript("""
        CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, due REAL NOT NULL,
                           created REAL NOT NULL, request TEXT, status TEXT NOT NULL DEFAULT 'pending',
                           done REAL, note TEXT);
        CREATE INDEX jobs_due ON jobs(status, due);
    """)
    old.execute("INSERT INTO jobs (command, due, created, request) VALUES (?, ?, ?, ?)",
                ('{"device": "kitchen_light", "action": "on", "time": "02:30"}', utc(2026, 10, 25, 0, 30),
                 utc(2026, 10, 24, 20, 0), "old-1"))
    old.commit()
    old.close()
    schedule = Schedule(path)
    try:
        (job,) = schedule.jobs()
        assert (job.command, job.due, job.request) == (Command("kitchen_light", "on", None, "02:30"),
                                                       utc(2026, 10, 25, 0, 30), "old-1")
        assert job.to_dict()["due"] == "2026-10-25T02:30:00+02:00"
        assert schedule.claim_due(utc(2026, 10, 25, 0, 29)) == []
        assert [j.id for j in schedule.claim_due(utc(2026, 10, 25, 0, 30))] == [job.id]
    finally:
        schedule.close()


@pytest.mark.parametrize("tz", ["Europe/Berlin", ":Europe/Berlin", "/usr/share/zoneinfo/Europe/Berlin",
                                "CET-1CEST,M3.5.0,M10.5.0/3"])  # the last a POSIX rule, read by the C library
def test_the_zone_is_read_from_tz_in_each_of_its_forms(monkeypatch, tz):
    from edgebrain.base.localtime import next_occurrence, wall_clock

    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        # Between the two 02:30s of the fold, the next is the second: Berlin's rules, not a fixed offset.
        assert next_occurrence("02:30", utc(2026, 10, 25, 0, 45)) == utc(2026, 10, 25, 1, 30)
        assert next_occurrence("02:30", utc(2026, 10, 24, 23, 50)) == utc(2026, 10, 25, 0, 30)
        assert next_occurrence("02:30", utc(2026, 3, 29, 0, 10)) == utc(2026, 3, 29, 1, 30)  # the gap: 03:30
        assert next_occurrence("20:00", utc(2026, 3, 29, 10, 0)) == utc(2026, 3, 29, 18, 0)  # summer time
        # The two 02:30s read back with their own offsets (a job's due time is shown with it).
        assert [wall_clock(utc(2026, 10, 25, hour, 30)).isoformat() for hour in (0, 1)] == [
            "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_clock_time_never_takes_the_instant_of_a_duration_that_shows_the_same_time(berlin, registry):
    from edgebrain.base.localtime import local_zone
    from edgebrain.understand.words.times import read_times

    zone = local_zone()
    noon = utc(2026, 6, 1, 10, 0)  # 12:00 in Berlin
    assert dict(read_times("the light in 1 hour", noon, zone).instants) == {"13:00": noon + 3600}
    # "In 25 hours" and "at 13:00" both show 13:00: the marker cannot tell them apart, so neither is a
    # duration's instant, and the request is refused rather than one of them sent at the other's time.
    clash = read_times("the light in 25 hours and the fan at 13:00", noon, zone)
    assert (clash.instants, clash.clashes) == ((), ("13:00",))
    # The night clocks go back, at 02:20 summer time: 10 and 70 minutes on both show 02:30.
    fold = utc(2026, 10, 25, 0, 20)
    assert read_times("the light in 10 minutes and the fan in 70 minutes", fold, zone).clashes == ("02:30",)
    understander = Understander(type(registry)([d for d in registry if not d.gpio]), ScriptedBackend({}))
    refused = understander.understand("turn on the kitchen light in 25 hours and the floor lamp at 13:00", noon)
    assert refused.commands == () and refused.rejected == (
        "two of the times asked for both fall at 13:00; ask for them one at a time",)


def test_a_request_delivered_again_later_keeps_its_one_job_whatever_its_duration_now_reads(tmp_path, registry):
    schedule = Schedule(tmp_path / "schedule.db")
    handler_at = handlers(registry, schedule)
    said = utc(2026, 6, 1, 10, 0)
    try:
        results = []
        # Answered, then the daemon died before the broker heard so: the broker delivers it again, later.
        for now in (said, said + 120):
            results.append(handler_at(now).handle(Request("turn on the kitchen light in 1 minute", "k1")))
        jobs = schedule.jobs(include_done=True)
        assert [(j.request, j.due) for j in jobs] == [("k1", said + 60)]
        assert [[s["id"] for s in r.scheduled] for r in results] == [[jobs[0].id], [jobs[0].id]]
    finally:
        schedule.close()


def test_a_clock_time_is_strictly_after_now(berlin):
    from edgebrain.base.localtime import next_occurrence

    # Said at 14:00:00 sharp (12:00 UTC in summer): "at 14:00" is tomorrow's, never this very instant.
    assert next_occurrence("14:00", utc(2026, 6, 1, 12, 0)) == utc(2026, 6, 2, 12, 0)
    assert next_occurrence("14:00", utc(2026, 6, 1, 11, 59, 59)) == utc(2026, 6, 1, 12, 0)
    # In the fold, said between the two showings of 02:30: the second one, still to come.
    assert next_occurrence("02:30", utc(2026, 10, 25, 0, 45)) == utc(2026, 10, 25, 1, 30)
