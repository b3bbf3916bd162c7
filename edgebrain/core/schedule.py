"""Timed commands in SQLite: they survive restarts, fire at the next occurrence of their time, and
never fire twice (a job is claimed in a committed transaction before it is routed)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from edgebrain.base.errors import CommandError, EdgebrainError
from edgebrain.base.localtime import next_occurrence, wall_clock
from edgebrain.devices.command import Command

log = logging.getLogger(__name__)

PENDING, FIRED, MISSED, CANCELLED, FAILED = "pending", "fired", "missed", "cancelled", "failed"
CLAIMED = "claimed"  # taken for routing; found at start, it was interrupted and is reported missed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    due REAL NOT NULL,
    created REAL NOT NULL,
    request TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    done REAL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(status, due);
"""


@dataclass(frozen=True)
class Job:
    """One timed command."""

    id: int
    command: Command
    due: float
    status: str
    request: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for listings and results."""
        return {"id": self.id, "command": self.command.to_dict(), "status": self.status,
                "due": wall_clock(self.due).isoformat(timespec="seconds"), "request": self.request,
                **({"note": self.note} if self.note else {})}


def _select(db: sqlite3.Connection, where: str, params: tuple[object, ...] = ()) -> list[Job]:
    rows = db.execute(f"SELECT id, command, due, status, request, note FROM jobs {where}",  # noqa: S608
                      params).fetchall()
    return [Job(r[0], Command(**json.loads(r[1])), r[2], r[3], r[4], r[5]) for r in rows]


class Schedule:
    """The persisted schedule in ``<state_dir>/schedule.db``."""

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EdgebrainError(f"{path}: cannot open the schedule database: {exc}") from exc
        self._lock = threading.Lock()
        self.changed = threading.Event()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def add(self, command: Command, now: float | None = None, request: str | None = None,
            due: float | None = None) -> Job:
        """Store one command with a time (see add_all)."""
        return self.add_all([(command, due)], now, request)[0]

    def add_all(self, timed: Sequence[tuple[Command, float | None]], now: float | None = None,
                request: str | None = None) -> list[Job]:
        """Store a request's commands with a time, in one transaction: each due at its ``due`` (a time said
        as a duration) or else at the next occurrence of its clock time.

        The same request delivered again (the daemon died before acknowledging it) schedules nothing
        new: its jobs are matched by what they do, though "in 1 minute" now reads as another clock time.
        """
        if any(command.time is None for command, _ in timed):
            raise CommandError("only a command with a time can be scheduled")
        now = time.time() if now is None else now
        jobs: list[Job] = []
        added: list[Job] = []
        with self._transaction() as db:
            earlier = [] if request is None else _select(db, "WHERE request = ? ORDER BY id", (request,))
            for command, due in timed:
                same = next((j for j in earlier if replace(j.command, time=None) == replace(command, time=None)),
                            None)
                if same is not None:
                    earlier.remove(same)
                    jobs.append(same)
                    continue
                due = next_occurrence(str(command.time), now) if due is None else due
                cursor = db.execute("INSERT INTO jobs (command, due, created, request) VALUES (?, ?, ?, ?)",
                                    (json.dumps(command.to_dict()), due, now, request))
                assert cursor.lastrowid is not None
                added.append(Job(cursor.lastrowid, command, due, PENDING, request))
                jobs.append(added[-1])
        for job in added:
            log.info("scheduled job %d: %s at %s", job.id, job.command.to_dict(), job.command.time)
        if added:
            self.changed.set()
        return jobs

    def _rows(self, where: str, params: tuple[object, ...] = ()) -> list[Job]:
        with self._lock:
            return _select(self._db, where, params)

    def _by_ids(self, ids: list[int]) -> list[Job]:
        if not ids:
            return []
        return self._rows(f"WHERE id IN ({','.join('?' * len(ids))}) ORDER BY due, id", tuple(ids))

    def jobs(self, include_done: bool = False) -> list[Job]:
        """Pending jobs by due time (every job with ``include_done``)."""
        if include_done:
            return self._rows("ORDER BY due, id")
        return self._rows("WHERE status = ? ORDER BY due, id", (PENDING,))

    def next_due(self) -> float | None:
        """When the earliest pending job is due."""
        with self._lock:
            row = self._db.execute("SELECT MIN(due) FROM jobs WHERE status = ?", (PENDING,)).fetchone()
        return None if row[0] is None else float(row[0])

    def claim_due(self, now: float, limit: int = -1) -> list[Job]:
        """Take the pending jobs that are due, earliest first, at most ``limit`` (-1: all); a claimed job is
        never handed out again."""
        with self._transaction() as db:
            rows = db.execute("SELECT id FROM jobs WHERE status = ? AND due <= ? ORDER BY due, id LIMIT ?",
                              (PENDING, now, limit)).fetchall()
            ids = [r[0] for r in rows]
            db.executemany("UPDATE jobs SET status = ? WHERE id = ? AND status = ?",
                           [(CLAIMED, i, PENDING) for i in ids])
        return self._by_ids(ids)

    def finish(self, job_id: int, status: str, note: str | None = None) -> None:
        """Record how a claimed job ended: fired, failed or missed."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET status = ?, done = ?, note = ? WHERE id = ?",
                       (status, time.time(), note, job_id))

    def recover(self, now: float, grace_s: float) -> list[Job]:
        """At start: the jobs now missed, those more than ``grace_s`` late; the others stay due.

        A job left claimed by a daemon that died while routing it may or may not have gone out;
        it is reported missed rather than risk doing it twice.
        """
        with self._transaction() as db:
            db.execute("UPDATE jobs SET status = ?, done = ?, note = ? WHERE status = ?",
                       (MISSED, now, "interrupted while it was being sent", CLAIMED))
            db.execute("UPDATE jobs SET status = ?, done = ?, note = ? WHERE status = ? AND due < ?",
                       (MISSED, now, f"more than {grace_s:.0f} s late", PENDING, now - grace_s))
            missed_ids = [r[0] for r in db.execute("SELECT id FROM jobs WHERE status = ? AND done = ?",
                                                   (MISSED, now)).fetchall()]
        return self._by_ids(missed_ids)

    def cancel(self, job_id: int) -> Job:
        """Cancel a pending job; CommandError when there is no such pending job."""
        with self._transaction() as db:
            changed = db.execute("UPDATE jobs SET status = ?, done = ? WHERE id = ? AND status = ?",
                                 (CANCELLED, time.time(), job_id, PENDING)).rowcount
        jobs = self._rows("WHERE id = ?", (job_id,))
        if not jobs:
            raise CommandError(f"no scheduled job {job_id}")
        if not changed:
            raise CommandError(f"job {job_id} is {jobs[0].status}, not pending")
        self.changed.set()
        return jobs[0]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
