"""What is done with a request, whichever way it came: understand, check, route now or schedule, answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .errors import EdgebrainError, InputError
from .messages import Request, Result
from .replies import Replies
from .router import Router
from .schedule import Schedule
from .understand.reading import Understanding

log = logging.getLogger(__name__)


class Reader(Protocol):
    """The understanding stage as the daemon uses it."""

    def understand(self, text: str, now: str | None = None) -> Understanding:
        """Checked commands for the utterance, and why a command was refused if one was."""


@dataclass(frozen=True)
class Handler:
    """Turns one request into commands sent, jobs scheduled and a Result."""

    reader: Reader
    router: Router
    schedule: Schedule
    replies: Replies
    clock: Callable[[], float]

    def handle(self, request: Request) -> Result | None:
        """Understand, check, route or schedule one request, and answer it; None when it was refused."""
        try:
            understanding = self.reader.understand(request.text)
        except InputError as exc:
            self.replies.error(request.id, exc.code, str(exc))
            return None
        scheduled: list[dict[str, object]] = []
        errors: list[str] = list(understanding.rejected)  # e.g. a value out of every named device's range
        routed = 0
        for command in understanding.commands:
            try:
                if command.time is not None:
                    scheduled.append(self.schedule.add(command, self.clock(), request.id).to_dict())
                else:
                    self.router.route(command)
                    routed += 1
            except EdgebrainError as exc:
                errors.append(f"{command.device}: {exc}")
        result = Result(request.id, request.text, understanding.commands, request.site, routed, tuple(scheduled),
                        tuple(errors))
        self.replies.result(request, result)
        return result
