"""Understand: an utterance in, registry-checked commands out.

The stages (docs/understanding.md) run over one ``Reading``: refusals in code, then plans of reply
lines, one decode loop over them, and the expansion and check of what was decoded.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from edgebrain.base.reasons import Reason
from edgebrain.base.schemas import type_name_zh
from edgebrain.devices.registry import Registry, Target
from edgebrain.understand.asking import read_question
from edgebrain.understand.context import Context, resolve
from edgebrain.understand.expand import checked_commands, repeated
from edgebrain.understand.model.decoder import Backend, Decoded, ReplyDecoder
from edgebrain.understand.model.grammar import MAX_LINES, Line
from edgebrain.understand.model.kvcache import PromptCache
from edgebrain.understand.model.planner import Plan, Planner, lacking
from edgebrain.understand.model.prompt import LAYOUTS
from edgebrain.understand.words.clauses import COORDINATION
from edgebrain.understand.words.exceptions import read_exceptions
from edgebrain.understand.words.mentions import Mentions, find_mentions, fitting_targets, widest
from edgebrain.understand.words.questions import addresses_instructions, is_negated, is_question
from edgebrain.understand.words.reading import Techniques, Understanding, clean_text, prepare
from edgebrain.understand.words.times import TimeReading
from edgebrain.understand.words.vocabulary import relative_amount, unsupported

log = logging.getLogger(__name__)
_QUOTED_DATA = re.compile(r"[{\[]\s*[\"']\w+[\"']\s*:|```")


@dataclass(frozen=True)
class Reading:
    """One utterance as every stage reads it: its words, what they name, and the tokens the model reads."""

    text: str  # as given
    cleaned: str
    model_text: str  # numbers as digits, times as @HH:MM markers
    times: tuple[str, ...]
    mentions: Mentions
    fitting: tuple[Target, ...]
    max_lines: int
    clauses: tuple[Plan, ...] | None  # a one-line plan per clause, when the clauses stand alone
    user: tuple[int, ...]
    started: float
    ask: tuple[tuple[str, ...], ...] | None = None  # the words refer to what they cannot mean without asking
    recalled: bool = False  # the conversation gave the devices or their kind

    def nothing(self, *rejected: str) -> Understanding:
        """No command for these words, and why when the user can fix it."""
        return _nothing(self.text, self.model_text, self.started, rejected)


def _nothing(text: str, model_text: str, started: float, rejected: tuple[str, ...] = ()) -> Understanding:
    elapsed = (time.perf_counter() - started) * 1000
    return Understanding(text, (), model_text, elapsed_ms=elapsed, rejected=rejected)


def _refused_words(registry: Registry, text: str, cleaned: str, timed: TimeReading,
                   started: float) -> Understanding | None:
    """Nothing to do, said by the words alone before anything is looked up; else None."""
    model_text = timed.text
    if timed.clashes:
        # "In 25 hours … at 13:00": one marker for two instants would send one of them at the other's time.
        return _nothing(text, model_text, started, (Reason(
            "times_clash", f"two of the times asked for both fall at {timed.clashes[0]}; ask for them one at a time",
            f"两个时间都落在{timed.clashes[0]}，请分开说"),))
    if addresses_instructions(cleaned):
        return _nothing(text, model_text, started, (Reason(
            "instructions", "words about the system's instructions are not a request", "关于系统指令的话不是请求"),))
    if _QUOTED_DATA.search(cleaned):
        # Nobody speaks braces: a JSON or command block inside chit-chat is text, not an instruction.
        return _nothing(text, model_text, started, (Reason("quoted_data", "quoted data is not a request",
                                                           "引用的数据不是请求"),))
    if refused := unsupported(registry, cleaned):
        # "Lock the front door", "pause the music": never the nearest device instead.
        return _nothing(text, model_text, started, (refused,))
    return None


def _refusal(planner: Planner, registry: Registry, reading: Reading) -> Understanding | None:
    """Nothing to do, said in code before any plan (and why, when the user can fix it); else None."""
    cleaned, mentions = reading.cleaned, reading.mentions
    if mentions.unknown_rooms and not (mentions.rooms or mentions.exact):
        # "The garage light", "地下室的灯": a room this home does not have. Never a device elsewhere.
        return reading.nothing()
    if (mentions.types and not mentions.cued and not (mentions.devices or mentions.exact)
            and not any(d.type in mentions.types for d in registry)):
        # "Set the fan to 40" in a home without a fan: never another kind of device instead.
        kinds = sorted(mentions.types)
        return reading.nothing(Reason("no_kind", f"this home has no {' or '.join(kinds)}",
                                      f"这个家里没有{'或'.join(type_name_zh(k) for k in kinds)}"))
    # One clause out of range refuses the whole request: a request the home cannot carry out moves nothing.
    if refused := planner.out_of_range(reading.model_text, reading.fitting, by_clause=reading.max_lines > 1):
        return reading.nothing(refused)
    if reading.clauses is not None:
        return None  # a room without such a device, and a denial, were read clause by clause
    if lacking(mentions, reading.fitting):
        # "The kitchen is too dry", "the bedroom humidifier": a room without such a device.
        return reading.nothing()
    if is_negated(cleaned):
        # "Don't turn on the light", "别关灯": nothing to do (and when unsure which part is denied,
        # doing nothing is the safe reading).
        return reading.nothing()
    return None


def _question(registry: Registry, text: str, cleaned: str, model_text: str, started: float,
              context: Context | None) -> Understanding | None:
    """A question moves nothing: it is answered (or what it refers to is asked about); None for a request."""
    if not is_question(cleaned) or addresses_instructions(cleaned) or _QUOTED_DATA.search(cleaned):
        return None
    question, clarify = read_question(registry, cleaned, context)
    return replace(_nothing(text, model_text, started), question=question, clarify=clarify)


def _repeat(registry: Registry, reading: Reading, context: Context, action: str) -> Understanding:
    """"And the bedroom", "the hall light too": the previous turn's action (and value) for these, at the one
    time the words say, else at the previous turn's ("at the same time")."""
    at = reading.times[0] if len(reading.times) == 1 else context.time
    kinds = frozenset(d.type for i in context.devices if (d := registry.get(i)) is not None)
    commands, rejected = repeated(registry, widest(reading.fitting), action, context.value, at, kinds)
    return Understanding(reading.text, commands, reading.model_text, rejected=rejected,
                         elapsed_ms=(time.perf_counter() - reading.started) * 1000)


def _clause_rooms(registry: Registry, context: Context | None) -> Callable[[Mentions, str], Mentions]:
    """Each clause read where it was said: a clause that names no room is in the room the clause before named
    ("打开次卧的吸顶灯和空调": the second bedroom's AC), else in the speaker's."""
    site = context.room if context is not None else None
    said: list[str | None] = [None]

    def adjust(mentions: Mentions, words: str) -> Mentions:
        room = said[0] or site
        if len(mentions.rooms) == 1:
            said[0] = next(iter(mentions.rooms))
        return resolve(registry, mentions, words, Context(room=room), True).mentions if room else mentions
    return adjust


class Understander:
    """Reads commands from utterances with a model backend, constrained to one registry."""

    def __init__(self, registry: Registry, backend: Backend, state_dir: Path | None = None,
                 techniques: Techniques | None = None, lazy: bool = False):
        """With ``lazy`` the prompt is evaluated when a request first needs the model, not now."""
        self.techniques = techniques or Techniques()
        self.layout = LAYOUTS[self.techniques.layout]
        self.prompt = PromptCache(backend, self.layout, state_dir if self.techniques.saved_prompt else None)
        self.backend = self.prompt.backend
        self.decoder = ReplyDecoder(self.backend, self.layout.end, self.techniques.jump_forward,
                                    self.techniques.same_meaning,
                                    self.prompt.content_free if self.techniques.calibration else None)
        self._take(registry)
        if not lazy:
            self.prompt.ensure()

    @property
    def prompt_tokens(self) -> int:
        """Length of the fixed prompt in tokens."""
        return len(self.prompt.prefix)

    def _take(self, registry: Registry) -> None:
        self.registry = registry
        self.planner = Planner(registry, self.techniques)
        self._recent: OrderedDict[str, Understanding] = OrderedDict()
        # Compile the patterns of every name now, while getting ready: a big home's first requests
        # would otherwise pay for hundreds of them.
        find_mentions(registry, "")

    def with_registry(self, registry: Registry) -> Understander:
        """The same model and prompt (it names no device) for another registry: only its words are read."""
        other = copy.copy(self)
        other._take(registry)
        return other

    def forget(self) -> None:
        """Empty the cache of recent utterances."""
        self._recent.clear()

    def understand(self, text: str, now: str | float | None = None, context: Context | None = None
                   ) -> Understanding:
        """Commands for one utterance (or the question it asks); ``now`` (epoch seconds, None for the current
        time, or a fixed HH:MM) resolves relative times; ``context``: the conversation it is part of."""
        started = time.perf_counter()
        # The exceptions ("…except the porch", 除了台灯) are cut out before the words are read.
        excepted = read_exceptions(self.registry, clean_text(text))
        cleaned = excepted.text
        timed = prepare(cleaned, time.time() if now is None else now, self.planner.wordy)
        model_text = timed.text
        key = f"{cleaned}\x00{model_text}\x00{' '.join(sorted(excepted.spared))}\x00{context!r}"
        relative = relative_amount(model_text, cleaned)
        if relative is not None:
            # "Two degrees warmer" is a warmer by two, never a set to 2: read without the amount.
            model_text = relative[1]
        if key in self._recent:
            # The same words at the same resolved times mean the same commands; only the cost differs
            # (and the instants of durations, which move on with the seconds).
            self._recent.move_to_end(key)
            return replace(self._recent[key], text=text, evaluated_tokens=0, decisions=0, cached=True,
                           elapsed_ms=(time.perf_counter() - started) * 1000, instants=timed.instants)
        result = _question(self.registry, text, cleaned, model_text, started, context) \
            or _refused_words(self.registry, text, cleaned, timed, started)
        if result is None:
            result = self._read(self._reading(text, cleaned, model_text, timed.times, started, context), context)
        if excepted.spared:
            # "Every light except the porch": the porch light gets no command, whatever was read.
            result = replace(result, commands=tuple(c for c in result.commands if c.device not in excepted.spared))
        result = replace(result, instants=timed.instants)
        if relative is not None and any(c.action in ("increase", "decrease") for c in result.commands):
            result = replace(result, amount=relative[0])
        if self.techniques.cache:
            self._recent[key] = result
            while len(self._recent) > self.techniques.cache:
                self._recent.popitem(last=False)
        return result

    def _reading(self, text: str, cleaned: str, model_text: str, times: tuple[str, ...],
                 started: float, context: Context | None = None) -> Reading:
        """What every stage needs to know of the words (in their conversation), read once."""
        mentions = find_mentions(self.registry, cleaned)
        resolved = resolve(self.registry, mentions, cleaned, context, self.planner.asks_action(cleaned, model_text))
        if resolved.ask is not None or resolved.recalled:
            # What the words refer to was settled by the conversation: one target, one line.
            return Reading(text, cleaned, model_text, times, resolved.mentions,
                           fitting_targets(self.registry, resolved.mentions), 1, None,
                           tuple(self.prompt.tokens(self.layout.request(model_text))), started, resolved.ask,
                           resolved.recalled)
        mentions = resolved.mentions
        # Several commands come joined by a conjunction or a comma; without one, one line is the answer.
        # (In the words with times marked: "in two and a half hours" is one time, not two commands.)
        max_lines = MAX_LINES if COORDINATION.search(model_text) or len(times) > 1 else 1
        clauses = self.planner.clause_plans(model_text, _clause_rooms(self.registry, context)) \
            if max_lines > 1 and self.techniques.clauses else None
        return Reading(text, cleaned, model_text, times, mentions, fitting_targets(self.registry, mentions),
                       max_lines, clauses, tuple(self.prompt.tokens(self.layout.request(model_text))), started)

    def _read(self, reading: Reading, context: Context | None = None) -> Understanding:
        """The commands of an utterance: refused in code, or planned, decoded, expanded and checked."""
        if reading.ask is not None:
            return replace(reading.nothing(), clarify=reading.ask)
        if (refused := _refusal(self.planner, self.registry, reading)) is not None:
            return refused
        if reading.recalled and context is not None and context.action is not None \
                and not self.planner.asks_action(reading.cleaned, reading.model_text):
            return _repeat(self.registry, reading, context, context.action)
        plans = self._plans(reading)
        if isinstance(plans, Understanding):
            return plans
        decoding = time.perf_counter()
        decoded = self._decode(reading, plans)
        model_ms = (time.perf_counter() - decoding) * 1000
        commands, rejected = checked_commands(self.registry, decoded.lines)
        elapsed = (time.perf_counter() - reading.started) * 1000
        return Understanding(reading.text, commands, reading.model_text, decoded.evaluated, decoded.decisions,
                             elapsed, rejected, model_ms=model_ms)

    def _plans(self, reading: Reading) -> Sequence[Plan] | Understanding:
        """The clauses' one-line plans, or one plan for the whole request; a refusal when no line fits."""
        if reading.clauses is not None:
            return reading.clauses
        lines = self.planner.lines(reading.cleaned, reading.model_text, reading.mentions, reading.max_lines)
        if not lines:
            # "Dim the kettle", "toggle the curtains": an action the devices named do not take.
            names = ", ".join(t.description for t in reading.fitting[:3])
            said = "、".join(dict.fromkeys(n for t in reading.fitting[:3] for n in (d.chinese_name for d in t.members)))
            return reading.nothing(Reason("no_action", f"{names}: no such action for this device",
                                          f"{said}做不到这个动作"))
        none = self.planner.allows_none(reading.cleaned, reading.model_text, reading.mentions, reading.fitting)
        return (Plan(tuple(lines), reading.times, none, reading.max_lines),)

    def _decode(self, reading: Reading, plans: Sequence[Plan]) -> Decoded:
        """Every plan's lines, decoded after the user's words (evaluated once for all of them)."""
        found: list[tuple[Line, str | None]] = []
        evaluated = decisions = 0
        cached = False
        for plan in plans:
            part = self.decoder.decode(self.prompt_tokens, reading.user, plan.lines, plan.times, plan.allow_none,
                                       plan.max_lines, self.planner.overlaps, user_cached=cached)
            cached = part.user_evaluated
            found += part.lines
            evaluated, decisions = evaluated + part.evaluated, decisions + part.decisions
        return Decoded(tuple(found), evaluated, decisions)
