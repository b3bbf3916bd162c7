"""What is done with a request, whichever way it came: understand, check, route now or schedule, answer."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from edgebrain.base.errors import EdgebrainError, InputError
from edgebrain.base.reasons import Reason
from edgebrain.core.amounts import by_amount
from edgebrain.core.answers import answer, answer_text
from edgebrain.core.conversation import Conversations
from edgebrain.core.messages import Request, Result
from edgebrain.core.replies import Replies
from edgebrain.core.reply import chinese
from edgebrain.core.schedule import Schedule
from edgebrain.devices.command import Command
from edgebrain.devices.router import Router
from edgebrain.understand.context import Context
from edgebrain.understand.words.reading import Understanding

log = logging.getLogger(__name__)

REMEMBERED = 256  # requests whose commands a continuing request can still look up


class Reader(Protocol):
    """The understanding stage as the daemon uses it."""

    def understand(self, text: str, now: str | float | None = None, context: Context | None = None
                   ) -> Understanding:
        """Checked commands for the utterance (or its question), and why a command was refused if one was."""


class CurrentReader:
    """The understanding stage in use, which a changed home replaces between two requests."""

    def __init__(self, reader: Reader):
        self.reader = reader

    def understand(self, text: str, now: str | float | None = None, context: Context | None = None
                   ) -> Understanding:
        """Commands for the utterance, by the reader of the moment."""
        return self.reader.understand(text, now, context)


@dataclass(frozen=True)
class Handler:
    """Turns one request into commands sent, jobs scheduled and a Result."""

    reader: Reader
    router: Router
    schedule: Schedule
    replies: Replies
    clock: Callable[[], float]
    conversations: Conversations = field(default_factory=Conversations)
    stale_s: float = 3600.0  # a device state older than this is not known
    # Commands each recent request has done (with those of the requests it continues), by request id.
    done: OrderedDict[str, frozenset[Command]] = field(default_factory=OrderedDict)

    def handle(self, request: Request) -> Result | None:
        """Understand, check, route or schedule one request, and answer it; None when it was refused."""
        now = self.clock()
        registry = self.router.registry
        try:
            understanding = self.reader.understand(request.text, now, self.conversations.context(request, registry))
        except InputError as exc:
            self.replies.error(request.id, exc.code, str(exc))
            return None
        if understanding.question is not None or understanding.clarify is not None:
            return self._talk(request, understanding)
        before = self.done.get(request.continues, frozenset()) if request.continues else frozenset()
        commands = tuple(c for c in understanding.commands if c not in before)  # nothing is done twice
        scheduled: list[dict[str, object]] = []
        errors: list[str] = list(understanding.rejected)  # e.g. a value out of every named device's range
        if understanding.amount is not None:  # the states are read only for a change by an amount
            commands, beyond = by_amount(commands, understanding.amount, self.router.known_states(), registry,
                                         self.stale_s)
            errors += [Reason("out_of_range", why, "超出了范围") for why in beyond]
        routed = 0
        instants = dict(understanding.instants)  # "in 1 hour" is an hour, whatever the clock does meanwhile
        timed = [(c, instants.get(c.time)) for c in commands if c.time is not None]
        if timed:
            try:
                scheduled = [j.to_dict() for j in self.schedule.add_all(timed, now, request.id)]
            except EdgebrainError as exc:
                errors.append(Reason("schedule", str(exc), "没能安排定时命令"))
        for command in commands:
            if command.time is None:
                try:
                    self.router.route(command)
                    routed += 1
                except EdgebrainError as exc:
                    device = registry.get(command.device)
                    errors.append(Reason("device", f"{command.device}: {exc}",
                                         f"{device.chinese_name if device else command.device}没能执行"))
        self.done[request.id] = before | frozenset(commands)
        while len(self.done) > REMEMBERED:
            self.done.popitem(last=False)
        result = Result(request.id, request.text, commands, request.site, routed, tuple(scheduled), tuple(errors))
        self.conversations.remember(request, understanding, registry)
        return self.replies.result(request, result)

    def _talk(self, request: Request, understanding: Understanding) -> Result:
        """Answer a question from the states known, or ask which devices were meant; nothing moves."""
        question = understanding.question
        if question is None:
            return self.replies.result(request, Result(request.id, request.text, site=request.site,
                                                       clarify=understanding.clarify))
        registry = self.router.registry
        known = self.router.known_states()
        found = answer(question, known, self.stale_s)
        reply = answer_text(found, question, registry, known, chinese(request.text), question.missing)
        # "Which lights are on?" then "turn them off": the ones the answer named.
        named = found.devices if question.shape == "which" and found.devices else question.devices
        self.conversations.remember(request, replace(understanding, question=replace(question, devices=named)),
                                    registry)
        return self.replies.result(request, Result(request.id, request.text, site=request.site, reply=reply,
                                                   answer=found.to_dict()))
