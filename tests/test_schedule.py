"""The persisted schedule: next occurrence, claim once, grace and missed jobs, cancel, restarts."""

from __future__ import annotations

from datetime import datetime

import pytest

from edgebrain.base.errors import CommandError
from edgebrain.core.schedule import CANCELLED, CLAIMED, FIRED, MISSED, PENDING, Schedule, next_occurrence
from edgebrain.devices.command import Command


def at(hhmm: str, day: int = 1) -> float:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 3, day, hours, minutes).timestamp()


def test_next_occurrence_is_today_or_tomorrow():
    assert next_occurrence("20:00", at("15:00")) == at("20:00")
    assert next_occurrence("07:30", at("15:00")) == at("07:30", day=2)
    assert next_occurrence("15:00", at("15:00")) == at("15:00", day=2)  # "now" has passed


def test_jobs_survive_a_restart_and_fire_once(tmp_path):
    path = tmp_path / "schedule.db"
    schedule = Schedule(path)
    job = schedule.add(Command("kitchen_light", "on", None, "20:00"), at("15:00"), "req-1")
    assert schedule.next_due() == at("20:00")
    assert schedule.claim_due(at("19:59")) == []
    schedule.close()
    reopened = Schedule(path)  # a new process
    claimed = reopened.claim_due(at("20:00"))
    assert [j.id for j in claimed] == [job.id] and claimed[0].status == CLAIMED
    assert reopened.claim_due(at("20:01")) == []  # claimed jobs are never handed out again
    reopened.finish(job.id, FIRED)
    assert [j.status for j in reopened.jobs(include_done=True)] == [FIRED]
    assert reopened.jobs() == []


def test_recovery_fires_within_grace_and_reports_the_rest(tmp_path):
    schedule = Schedule(tmp_path / "schedule.db")
    late = schedule.add(Command("kitchen_light", "on", None, "20:00"), at("15:00"))
    too_late = schedule.add(Command("bedroom_ac", "off", None, "19:00"), at("15:00"))
    future = schedule.add(Command("bedroom_fan", "on", None, "23:00"), at("15:00"))
    interrupted = schedule.add(Command("kitchen_fan", "on", None, "16:00"), at("15:00"))
    schedule.claim_due(at("16:00"))  # claimed, then the daemon died before it was sent
    missed = schedule.recover(at("20:04"), grace_s=300)
    assert {j.id: j.note for j in missed} == {too_late.id: "more than 300 s late",
                                              interrupted.id: "interrupted while it was being sent"}
    assert [j.id for j in schedule.jobs()] == [late.id, future.id]  # still in time: fired as any due job
    statuses = {j.id: j.status for j in schedule.jobs(include_done=True)}
    assert statuses[too_late.id] == MISSED and statuses[future.id] == PENDING
    assert [j.id for j in schedule.claim_due(at("23:00"), limit=1)] == [late.id]  # the earliest, alone
    assert [j.id for j in schedule.claim_due(at("23:00"))] == [future.id]


def test_cancel(tmp_path):
    schedule = Schedule(tmp_path / "schedule.db")
    job = schedule.add(Command("kitchen_light", "off", None, "23:00"), at("15:00"))
    assert schedule.cancel(job.id).status == CANCELLED
    assert schedule.claim_due(at("23:30")) == []
    with pytest.raises(CommandError, match="is cancelled, not pending"):
        schedule.cancel(job.id)
    with pytest.raises(CommandError, match="no scheduled job 99"):
        schedule.cancel(99)
    with pytest.raises(CommandError, match="only a command with a time"):
        schedule.add(Command("kitchen_light", "off"))


def test_two_connections_claiming_at_once_take_each_job_exactly_once(tmp_path):
    # Two handles on one schedule (a daemon, and another process on the same state folder) claim at the same
    # time: each due job goes to exactly one of them, and neither fails.
    import threading

    path = tmp_path / "schedule.db"
    first, second = Schedule(path), Schedule(path)
    jobs = [first.add(Command("kitchen_light", "on", None, "20:00"), at("15:00"), f"r{n}") for n in range(30)]
    claimed: dict[str, list[int]] = {"first": [], "second": []}
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def claim(name: str, schedule: Schedule) -> None:
        start.wait()
        try:
            while taken := schedule.claim_due(at("20:00"), limit=1):
                claimed[name] += [j.id for j in taken]
        except BaseException as exc:  # the test fails below, naming it
            failures.append(exc)

    threads = [threading.Thread(target=claim, args=(n, s)) for n, s in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(claimed["first"] + claimed["second"]) == [j.id for j in jobs]  # each once, none left out
    assert {j.status for j in first.jobs(include_done=True)} == {CLAIMED}
    first.close()
    second.close()
