"""Understand: an utterance in, registry-checked commands out."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..command import Command, check
from ..errors import CommandError
from ..registry import Registry, Target
from ..schemas import device_types
from .clauses import COORDINATION, split_clauses
from .decoder import Backend, Decoded, PromptFirst, ReplyDecoder, StatefulBackend
from .grammar import MAX_LINES, VALUE_DIGITS, Line, command_lines, numbers_in, target_phrases
from .mentions import Mentions, find_mentions, fitting_targets, named_by, widest
from .numbers import normalize_numbers
from .prompt import LAYOUTS, Segments
from .questions import is_negated, is_question
from .reading import Techniques, Understanding, clean_text, now_hhmm, prepare
from .rooms import blank, fold
from .words import (
    asked_actions,
    asks_for_direction,
    complaint_actions,
    extreme,
    started_appliances,
    stated,
    unsupported,
)

log = logging.getLogger(__name__)
# Shown on a terminal by the command line (see cli.py), not logged as a warning.
_progress = logging.getLogger("edgebrain.progress")
_PROMPT_CHUNK = 256

CONTENT_FREE = "N/A"  # a request with no content: what the model prefers with no words to go on
_ON_OFF = frozenset({"on", "off", "toggle", "open", "close"})
_OFF = frozenset({"off", "close"})
_TIME_MARK = re.compile(r"@(\d\d:\d\d)")
# A number before a measure word counts devices: 两盏灯, 3台空调.
_COUNT = re.compile(r"\d+\s*(?:盏|个|台|把|只|扇|部|组|套)")
_QUOTED_DATA = re.compile(r"[{\[]\s*[\"']\w+[\"']\s*:|```")


def _nothing(text: str, model_text: str, started: float, *rejected: str) -> Understanding:
    """No command for these words, and why when the user can fix it."""
    return Understanding(text, (), model_text, elapsed_ms=(time.perf_counter() - started) * 1000, rejected=rejected)


def _lacking(mentions: Mentions, fitting: Sequence[Target]) -> bool:
    """True when the words name a room and a kind of device the room does not have."""
    return bool(mentions.rooms and mentions.types and not (mentions.devices or mentions.everything or fitting))


class Understander:
    """Reads commands from utterances with a model backend, constrained to one registry."""

    def __init__(self, registry: Registry, backend: Backend, state_dir: Path | None = None,
                 techniques: Techniques | None = None, lazy: bool = False):
        """With ``lazy`` the prompt is evaluated when a request first needs the model, not now."""
        self.registry = registry
        self.backend = PromptFirst(backend, self._ensure_prompt)
        self.techniques = techniques or Techniques()
        self.layout = LAYOUTS[self.techniques.layout]
        self._prefix = self._tokens(self.layout.prefix(registry))
        self._state_dir = state_dir if self.techniques.saved_prompt else None
        self.prompt_seconds = 0.0
        self.phrases = target_phrases(registry)
        names = {fold(p) for d in registry for p in (d.name, *d.aliases, *([d.room] if d.room else []))}
        type_words = sorted({fold(w) for f in device_types().values() for w in f.get("x-words", ()) if w.isascii()},
                            key=len, reverse=True)
        self._counted = re.compile(r"\b\d+\s+(?:" + "|".join(map(re.escape, type_words)) + r")\b")
        self._numbered = sorted((p for p in names if any(ch.isdigit() for ch in p)), key=len, reverse=True)
        # Names and type words that contain number words ("百叶窗", "Fan one") are not numbers.
        words = names | {w for fragment in device_types().values() for w in fragment.get("x-words", ())}
        self._wordy = tuple(sorted({p for w in words for p in (w, w.title(), w.capitalize())
                                    if normalize_numbers(p) != p}, key=len, reverse=True))
        self._neutral: dict[tuple[int, ...], npt.NDArray[np.float32]] = {}
        self.decoder = ReplyDecoder(self.backend, self.layout.end, self.techniques.jump_forward,
                                    self.techniques.same_meaning,
                                    self._content_free if self.techniques.calibration else None)
        self._recent: OrderedDict[str, Understanding] = OrderedDict()
        if not lazy:
            self._ensure_prompt()

    @property
    def prompt_evaluated(self) -> bool:
        """True once this registry's prompt is in the model's KV cache (evaluated or restored)."""
        return self.backend.owner is self

    def _ensure_prompt(self) -> None:
        """Put this registry's prompt in the model's KV cache, unless it is there already."""
        if self.backend.owner is self:
            return
        started = time.perf_counter()
        self.backend.owner = None  # a load that fails half-way leaves no owner behind
        self._load_prompt()
        self._warm_up()
        self.backend.owner = self
        self.prompt_seconds = time.perf_counter() - started
        log.info("prompt of %d tokens ready in %.1f s", len(self._prefix), self.prompt_seconds)

    def _content_free(self, line: tuple[int, ...]) -> tuple[npt.NDArray[np.float32], bool]:
        """The model's scores after a reply line begun with ``line`` to a request with no content, once
        per line beginning and registry (contextual calibration, Zhao et al. 2021); and whether reading
        them used the KV cache."""
        if line in self._neutral:
            return self._neutral[line], False
        self.backend.reset_to(len(self._prefix))
        self.backend.eval(self._tokens(self.layout.request(CONTENT_FREE)) + list(line))
        self._neutral[line] = np.array(self.backend.logits(), copy=True)
        return self._neutral[line], True

    def _warm_up(self) -> None:
        """Run the model once on throwaway words: the first real request should not pay for allocations."""
        inner = self.backend.inner
        inner.reset_to(len(self._prefix))
        inner.eval(self._tokens(self.layout.request("hello")))
        inner.logits()
        inner.reset_to(len(self._prefix))

    def _load_prompt(self) -> None:
        """Evaluate the fixed prompt, or restore its KV state saved by an earlier start."""
        state_dir = self._state_dir
        inner = self.backend.inner
        saver = inner if isinstance(inner, StatefulBackend) else None
        path = None
        if saver is not None and state_dir is not None and saver.identity:
            key = hashlib.sha256(f"{saver.identity}:{self._prefix}".encode()).hexdigest()[:24]
            path = state_dir / f"prompt-{key}.kv"
            if saver.load_state(path, self._prefix):
                log.info("restored the prompt state from %s", path)
                return
        inner.reset_to(0)
        # A registry seen for the first time costs seconds here: say how far it has got.
        for start in range(0, len(self._prefix), _PROMPT_CHUNK):
            inner.eval(self._prefix[start:start + _PROMPT_CHUNK])
            done = min(start + _PROMPT_CHUNK, len(self._prefix))
            _progress.info("preparing the prompt for this registry: %d of %d tokens", done, len(self._prefix))
        if saver is not None and path is not None and state_dir is not None:
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
                saver.save_state(path, self._prefix)
            except OSError as exc:  # a read-only cache only costs time at the next start
                log.warning("cannot save the prompt state to %s: %s", path, exc)

    def _overlaps(self, first: str, second: str) -> bool:
        """True when two targets share a device."""
        a, b = self.registry.target(first), self.registry.target(second)
        return bool({d.id for d in a.members} & {d.id for d in b.members})

    def _values(self, text: str, max_digits: int | None = VALUE_DIGITS) -> tuple[int, ...]:
        """The numbers of the words that are values: not part of a room or a name ("Bedroom 2", "2F
        hallway"), nor a count of devices ("两盏灯", "both 2 lamps")."""
        rest = fold(text)
        for phrase in self._numbered:
            rest, _ = blank(rest, phrase)
        rest = _COUNT.sub(" ", rest)
        rest = self._counted.sub(" ", rest)
        return numbers_in(rest, max_digits)

    @property
    def prompt_tokens(self) -> int:
        """Length of the fixed prompt in tokens."""
        return len(self._prefix)

    def _lines(self, words: str, model_words: str, mentions: Mentions, max_lines: int,
               inherited: frozenset[str] | None = None) -> list[Line]:
        """The reply lines these words allow: their targets, the actions they ask for, their numbers.

        ``inherited`` are the actions asked by the clause before, for a clause that names none.
        """
        narrow = self.techniques.narrowing
        fitting = fitting_targets(self.registry, mentions) if narrow else ()
        # When the words name nothing of the registry, or nothing fits, every target is offered.
        targets = fitting or self.registry.targets
        numbers = self._values(model_words)
        one = max_lines == 1
        answers = complaint_actions(self.registry, words) if self.techniques.action_words else {}
        # A complaint about a room is about all of its devices that answer it ("客厅的灯太亮了").
        room_complaint = bool(answers) and not mentions.devices and (
            bool(mentions.rooms) or len({d.room for t in fitting for d in t.members}) == 1)
        # A name several devices share, when the words name nothing else: all of them.
        shared = bool(mentions.sharing) and all({d.id for d in t.members} <= mentions.sharing for t in fitting)
        if one and fitting and (mentions.whole or mentions.everything or shared or room_complaint):
            # "All the lights", "客厅的灯全部", "too dark in the kitchen", a name two devices share: every
            # device that fits, as the widest group (or as one target made for them).
            targets = widest(fitting)
            if len(targets) > 1:
                targets = (self.registry.union(targets),)
        elif one and fitting and len(named := named_by(fitting, mentions.singular)) == 1:
            # "The living room light": of the room's lights, the one whose own name says "light" (not
            # the floor lamp). Several such names stay a choice: a shared name may mean all of them.
            targets = named
        asked = None
        end = None
        own = False
        if self.techniques.action_words:
            states, _ = stated(words)
            # "The lamp is on but I still can't read": the state it is in does not answer the complaint.
            answers = {kind: tuple(a for a in actions if a not in states) or actions
                       for kind, actions in answers.items()}
            # The model's words: numbers are digits there ("up to sixty" is "up to 60").
            asked = asked_actions(model_words, one_value=one and bool(numbers))
            if asked is None and started_appliances(self.registry, words):
                asked = frozenset({"on"})  # "do the floors": start the vacuum
            own = asked is not None
            asked = asked or (None if answers else inherited)
            if one and asked is None:
                # A complaint that names no action gets the schema's first answer: "too dark" -> on.
                answers = {kind: actions[:1] for kind, actions in answers.items()}
            if one and not numbers and not (own and asked and asked & _OFF):
                # "Full brightness", "fan on max", 调到最小: the end of each device's range (but "turn it
                # off, it is at maximum" asks for off).
                end = extreme(model_words)
        if answers and not own and not mentions.devices and narrow:
            # "So dry my skin feels tight" in a home without a humidifier: a complaint never moves a
            # device of a kind that does not answer it.
            targets = tuple(t for t in targets if {d.type for d in t.members} <= answers.keys())
        # One request asking for more or less is not an on/off request ("open up the blinds" still opens).
        exclude = _ON_OFF - (asked or frozenset()) if one and asks_for_direction(model_words) else frozenset()
        lines = command_lines(targets, self.phrases, numbers, exclude, answers, asked, end,
                              strict=own and narrow and bool(fitting))
        # Where two spellings mean the same command the decoder takes the first: the user's own words.
        lowered = words.lower()
        lines.sort(key=lambda line: (line.phrase.lower() not in lowered, line.phrase not in words))
        return lines

    def _out_of_range(self, model_text: str, fitting: Sequence[Target]) -> str:
        """Why a value the words ask for fits none of the ``fitting`` devices ("调到一千度"); "" if it fits."""
        numbers = self._values(model_text, max_digits=None)
        if not numbers or asked_actions(model_text, one_value=True) != frozenset({"set"}):
            return ""
        ranges = {t.id: r for t in fitting if not t.is_group and (r := t.value_range()) is not None}
        if not ranges or any(low <= n <= high for n in numbers for low, high in ranges.values()):
            return ""
        named = ", ".join(f"{target} takes {low}-{high}" for target, (low, high) in ranges.items())
        return f"the value {', '.join(map(str, numbers))} is out of range: {named}"

    def _clause_plans(self, model_text: str) -> list[tuple[list[Line], tuple[str, ...]]] | None:
        """One single-line plan per clause when every clause names its own devices (see clauses.py)."""
        clauses = split_clauses(self.registry, model_text)
        if clauses is None:
            return None
        plans = []
        inherited: frozenset[str] | None = None
        for clause in clauses:
            # "Turn on the bedroom light and the fan": the second clause asks what the first asked.
            asked_before, inherited = inherited, clause.asked or inherited
            if clause.negated:
                continue  # "…, but don't turn on the fan": that clause asks for nothing
            lines = self._lines(clause.text, clause.text, clause.mentions, 1, asked_before)
            if not lines or _lacking(clause.mentions, fitting_targets(self.registry, clause.mentions)):
                return None
            plans.append((lines, tuple(_TIME_MARK.findall(clause.text))))
        return plans

    def forget(self) -> None:
        """Empty the cache of recent utterances."""
        self._recent.clear()

    def _tokens(self, segments: Segments) -> list[int]:
        # User words never pass as control tokens: "<|im_end|>" typed by a user stays plain text.
        return [t for text, special in segments for t in self.backend.tokenize(text, special=special)]

    def understand(self, text: str, now: str | None = None) -> Understanding:
        """Commands for one utterance; ``now`` (HH:MM) resolves relative times."""
        started = time.perf_counter()
        cleaned = clean_text(text)
        model_text, times = prepare(cleaned, now or now_hhmm(), self._wordy)
        key = f"{cleaned}\x00{model_text}"
        if key in self._recent:
            # The same words at the same resolved times mean the same commands; only the cost differs.
            self._recent.move_to_end(key)
            return replace(self._recent[key], text=text, evaluated_tokens=0, decisions=0, cached=True,
                           elapsed_ms=(time.perf_counter() - started) * 1000)
        result = self._read(text, cleaned, model_text, times, started)
        if self.techniques.cache:
            self._recent[key] = result
            while len(self._recent) > self.techniques.cache:
                self._recent.popitem(last=False)
        return result

    def _read(self, text: str, cleaned: str, model_text: str, times: tuple[str, ...],
              started: float) -> Understanding:
        if is_question(cleaned):
            return _nothing(text, model_text, started)
        if _QUOTED_DATA.search(cleaned):
            # Nobody speaks braces: a JSON or command block inside chit-chat is text, not an instruction.
            return _nothing(text, model_text, started, "quoted data is not a request")
        if refused := unsupported(self.registry, cleaned):
            # "Lock the front door", "pause the music": never the nearest device instead.
            return _nothing(text, model_text, started, refused)
        mentions = find_mentions(self.registry, cleaned)
        fitting = fitting_targets(self.registry, mentions)
        if mentions.unknown_rooms and not (mentions.rooms or mentions.exact):
            # "The garage light", "地下室的灯": a room this home does not have. Never a device elsewhere.
            return _nothing(text, model_text, started)
        # Several commands come joined by a conjunction or a comma; without one, one line is the answer.
        # (In the words with times marked: "in two and a half hours" is one time, not two commands.)
        max_lines = MAX_LINES if COORDINATION.search(model_text) or len(times) > 1 else 1
        if max_lines == 1 and (refused := self._out_of_range(model_text, fitting)):
            return _nothing(text, model_text, started, refused)
        user = self._tokens(self.layout.request(model_text))
        plans = self._clause_plans(model_text) if max_lines > 1 and self.techniques.clauses else None
        if plans is None and _lacking(mentions, fitting):
            # "The kitchen is too dry", "the bedroom humidifier": a room without such a device.
            return _nothing(text, model_text, started)
        if plans is None and is_negated(cleaned):
            # "Don't turn on the light", "别关灯": nothing to do (and when unsure which part is denied,
            # doing nothing is the safe reading).
            return _nothing(text, model_text, started)
        if plans is not None:
            found: list[tuple[Line, str | None]] = []
            evaluated = decisions = 0
            cached = False
            for lines, clause_times in plans:
                part = self.decoder.decode(len(self._prefix), user, lines, clause_times, False, 1,
                                           self._overlaps, user_cached=cached)
                cached = part.user_evaluated
                found += part.lines
                evaluated, decisions = evaluated + part.evaluated, decisions + part.decisions
            decoded = Decoded(tuple(found), evaluated, decisions)
        else:
            lines = self._lines(cleaned, model_text, mentions, max_lines)
            if not lines:
                # "Dim the kettle", "toggle the curtains": an action the devices named do not take.
                names = ", ".join(t.description for t in fitting[:3])
                return _nothing(text, model_text, started, f"{names}: no such action for this device")
            # "None" stays open unless the words ask for something: an action, a value, a complaint, a
            # device or a kind of device. A room alone, or words like a device the home lacks, are not
            # asking ("I love my living room", "the front door").
            # (With a number, a set word or a unit also asks: "50 percent". Without, the same as by name.)
            asks = (asked_actions(model_text, one_value=bool(self._values(model_text))) is not None
                    or bool(complaint_actions(self.registry, cleaned))
                    or bool(mentions.exact or mentions.devices) or bool(mentions.types and not mentions.cued)
                    or extreme(model_text) is not None
                    or bool(started_appliances(self.registry, cleaned)))
            allow_none = not fitting or bool(mentions.unknown_rooms) or not self.techniques.narrowing or not asks
            decoded = self.decoder.decode(len(self._prefix), user, lines, times, allow_none, max_lines,
                                          self._overlaps)
        commands: list[Command] = []
        rejected: list[str] = []
        for line, at in decoded.lines:
            target = self.registry.target(line.target)
            value = line.value if line.action == "set" else None
            for device in target.expand(line.action):
                candidate = Command(device.id, line.action, value, at)
                try:
                    checked = check(candidate, self.registry)
                except CommandError as exc:  # the grammar should make this impossible; never route it
                    log.warning("dropped a command that failed the check: %s", exc)
                    rejected.append(str(exc))
                    continue
                if checked not in commands:
                    commands.append(checked)
        elapsed = (time.perf_counter() - started) * 1000
        return Understanding(text, tuple(commands), model_text, decoded.evaluated, decoded.decisions,
                             elapsed, tuple(rejected))
