"""Understand: an utterance in, registry-checked commands out."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..command import Command, check
from ..errors import CommandError, InputError
from ..registry import Registry
from .decoder import Backend, ReplyDecoder, StatefulBackend
from .grammar import MAX_LINES, command_lines, numbers_in, target_phrases
from .mentions import asks_for_direction, candidate_targets, find_mentions
from .numbers import normalize_numbers
from .prompt import chat_messages
from .questions import is_question
from .times import read_times

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 500
_ON_OFF = frozenset({"on", "off", "toggle", "open", "close"})
# Several commands come joined by a conjunction or a comma; without one, one line is the answer.
_COORDINATION = re.compile(r"\b(and|then|also|plus|as well)\b|[,;，；、]|和|然后|再|并且|同时|还有|跟")
IM_START, IM_END = "<|im_start|>", "<|im_end|>"


@dataclass(frozen=True)
class Understanding:
    """The commands read from one utterance, and what reading them cost."""

    text: str
    commands: tuple[Command, ...]
    model_text: str = ""
    evaluated_tokens: int = 0
    decisions: int = 0
    elapsed_ms: float = 0.0
    rejected: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """The CLI's JSON line: text and commands."""
        return {"text": self.text, "commands": [c.to_dict() for c in self.commands]}


def clean_text(text: str) -> str:
    """Refuse text that is not an utterance; collapse whitespace and drop control characters."""
    if not isinstance(text, str):
        raise InputError("the utterance must be text")
    if "\x00" in text:
        raise InputError("the utterance contains NUL bytes; binary data is not text")
    cleaned = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InputError("the utterance is empty")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise InputError(f"the utterance is {len(cleaned)} characters long; the limit is {MAX_TEXT_CHARS}")
    return cleaned


def now_hhmm() -> str:
    """The local time as HH:MM."""
    return datetime.now().strftime("%H:%M")


def prepare(text: str, now: str) -> tuple[str, tuple[str, ...]]:
    """The words as the model sees them (digits, @HH:MM markers) and the times they name."""
    reading = read_times(normalize_numbers(text), now)
    return reading.text, reading.times


class Understander:
    """Reads commands from utterances with a model backend, constrained to one registry."""

    def __init__(self, registry: Registry, backend: Backend, state_dir: Path | None = None):
        self.registry = registry
        self.backend = backend
        self._prefix: list[int] = []
        for message in chat_messages(registry):
            self._prefix += self._turn(message["role"], message["content"])
        self._state_dir = state_dir
        self._load_prompt()
        self.phrases = target_phrases(registry)
        self.decoder = ReplyDecoder(backend, IM_END)
        log.info("prompt of %d tokens evaluated", len(self._prefix))

    def _load_prompt(self) -> None:
        """Evaluate the fixed prompt, or restore its KV state saved by an earlier start."""
        state_dir = self._state_dir
        saver = self.backend if isinstance(self.backend, StatefulBackend) else None
        path = None
        if saver is not None and state_dir is not None and saver.identity:
            key = hashlib.sha256(f"{saver.identity}:{self._prefix}".encode()).hexdigest()[:24]
            path = state_dir / f"prompt-{key}.kv"
            if saver.load_state(path, self._prefix):
                log.info("restored the prompt state from %s", path)
                return
        self.backend.reset_to(0)
        self.backend.eval(self._prefix)
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

    @property
    def prompt_tokens(self) -> int:
        """Length of the fixed prompt in tokens."""
        return len(self._prefix)

    def _turn(self, role: str, content: str, open_only: bool = False) -> list[int]:
        head = self.backend.tokenize(f"{IM_START}{role}\n", special=True)
        if open_only:
            return head
        # User words never pass as control tokens: "<|im_end|>" typed by a user stays plain text.
        return head + self.backend.tokenize(content) + self.backend.tokenize(f"{IM_END}\n", special=True)

    def understand(self, text: str, now: str | None = None) -> Understanding:
        """Commands for one utterance; ``now`` (HH:MM) resolves relative times."""
        started = time.perf_counter()
        cleaned = clean_text(text)
        model_text, times = prepare(cleaned, now or now_hhmm())
        user = self._turn("user", model_text) + self._turn("assistant", "", open_only=True)
        if is_question(cleaned):
            return Understanding(text, (), model_text, elapsed_ms=(time.perf_counter() - started) * 1000)
        mentions = find_mentions(self.registry, cleaned)
        targets = candidate_targets(self.registry, mentions)
        max_lines = MAX_LINES if _COORDINATION.search(cleaned) or len(times) > 1 else 1
        # One request asking for more or less is not an on/off request; with several, any may be.
        exclude = _ON_OFF if max_lines == 1 and asks_for_direction(cleaned) else frozenset()
        lines = command_lines(targets, self.phrases, numbers_in(model_text), exclude)
        # Words that name the registry's devices ask for something; "none" stays open only when they
        # name nothing of it, or a room the home does not have.
        allow_none = mentions.empty or bool(mentions.unknown_rooms)
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
