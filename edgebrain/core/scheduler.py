"""The scheduler: a thread of its own that fires timed commands when they are due and reports each."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from edgebrain.base.errors import EdgebrainError
from edgebrain.core.loop import Loop
from edgebrain.core.messages import Request, Result
from edgebrain.core.replies import Replies
from edgebrain.core.schedule import FAILED, FIRED, Job, Schedule
from edgebrain.devices.command import Command
from edgebrain.devices.router import Router

log = logging.getLogger(__name__)


class Scheduler:
    """Recovers the schedule at start, then routes each job at its time; a job's result is ``job-<id>``."""

    def __init__(self, schedule: Schedule, router: Router, replies: Replies, grace_s: float,
                 clock: Callable[[], float]):
        self.schedule = schedule
        self.router = router
        self.replies = replies
        self.grace_s = grace_s
        self.clock = clock
        self._loop = Loop("tick", self._tick)

    def start(self) -> None:
        """Report jobs missed while the daemon was away, fire those still in time, and start the thread."""
        for job in self.schedule.recover(self.clock(), self.grace_s):
            log.warning("job %d (%s) was missed: %s", job.id, job.command.to_dict(), job.note)
            self._report(job, missed=True)
        self._fire_due()
        self._loop.start()

    def stop(self) -> None:
        """Stop the thread; a job being sent is finished first."""
        self._loop.stop(self.schedule.changed.set)

    def healthy(self, stuck_after_s: float) -> bool:
        """True while the thread runs and came round recently."""
        return self._loop.healthy(stuck_after_s)

    def _tick(self) -> None:
        next_due = self.schedule.next_due()
        wait = 1.0 if next_due is None else max(0.0, min(1.0, next_due - self.clock()))
        self.schedule.changed.wait(wait)
        self.schedule.changed.clear()
        if self._loop.stopping:
            return
        self._fire_due()

    def _fire_due(self) -> None:
        # One claimed at a time: a daemon that dies while sending a job leaves only that one claimed (and
        # reported missed at the next start); the jobs after it are still pending and fire then.
        while not self._loop.stopping:
            claimed = self.schedule.claim_due(self.clock(), limit=1)
            if not claimed:
                return
            self._fire(claimed[0])

    def _fire(self, job: Job) -> None:
        command = Command(job.command.device, job.command.action, job.command.value)
        try:
            delivery = self.router.route(command)
        except EdgebrainError as exc:
            self._finish(job, str(exc))
            return
        if delivery.sent is None:
            self._finish(job, None)
        else:
            # Fired once the broker has the command, not when it is handed over (held while the broker is
            # away): a daemon that dies before leaves the job claimed, reported missed at the next start.
            delivery.sent.then(partial(self._finish, job))

    def _finish(self, job: Job, error: str | None) -> None:
        """Mark the job fired (or failed with ``error``) and report it as the schedule has it now."""
        try:
            if error is not None:
                self.schedule.finish(job.id, FAILED, error)
                self._report(replace(job, status=FAILED, note=error), errors=(error,))
                return
            self.schedule.finish(job.id, FIRED)
            log.info("fired job %d: %s", job.id, job.command.to_dict())
            self._report(replace(job, status=FIRED), routed=1)
        except Exception:  # on the broker's thread: a failing report must not end it
            log.exception("could not finish job %d", job.id)

    def _report(self, job: Job, routed: int = 0, errors: tuple[str, ...] = (), missed: bool = False) -> None:
        request = Request("", f"job-{job.id}", None, "schedule")
        self.replies.result(request, Result(request.id, "", (job.command,), None, routed, (job.to_dict(),), errors,
                                            missed))
