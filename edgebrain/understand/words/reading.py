"""What a request is before it is understood: its clean words and times, the techniques, the result."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

from edgebrain.base.errors import ConfigError, InputError
from edgebrain.devices.command import Command
from edgebrain.understand.words.numbers import normalize_numbers
from edgebrain.understand.words.quantities import read_quantities
from edgebrain.understand.words.talk import Question
from edgebrain.understand.words.times import TimeReading, read_times

MAX_TEXT_CHARS = 500


@dataclass(frozen=True)
class Techniques:
    """The speed and accuracy techniques, each of which the benchmark can switch off alone."""

    layout: str = "list"  # "chat": a user and an assistant turn per request
    jump_forward: bool = True  # append forced tokens in one batch, not one evaluation per token
    same_meaning: bool = True  # never ask the model to choose between two spellings of one command
    saved_prompt: bool = True  # restore the prompt's KV state saved by an earlier start
    narrowing: bool = True  # keep only the targets the words mention
    action_words: bool = True  # "turn off" keeps off; "too dark" keeps the actions that answer it
    clauses: bool = True  # "X and Y": each clause its own one-line request
    calibration: bool = True  # a choice between actions is divided by the model's content-free preference
    cache: int = 64  # recent identical utterances answered without the model (0: off)

    @classmethod
    def without(cls, names: Sequence[str]) -> Techniques:
        """All techniques except the named ones (field names, with - for _; "list-layout")."""
        changes: dict[str, object] = {}
        for name in names:
            key = _TECHNIQUE_FIELDS.get(name.replace("-", "_"))
            if key is None:
                raise ConfigError(f"unknown technique {name!r}; known: {', '.join(TECHNIQUES)}")
            changes[key] = _OFF.get(key, False)
        return replace(cls(), **changes)  # type: ignore[arg-type]


# A technique is named by its field with - for _ ("jump-forward"), except these.
_NAMES = {"layout": "list-layout"}
# What a field is with its technique off, where that is not False.
_OFF: dict[str, object] = {"layout": "chat", "cache": 0}
TECHNIQUES = tuple(_NAMES.get(f.name, f.name.replace("_", "-")) for f in fields(Techniques))
_TECHNIQUE_FIELDS = {name.replace("-", "_"): f.name for name, f in zip(TECHNIQUES, fields(Techniques), strict=True)}


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
    model_ms: float = 0.0  # of elapsed_ms, the time the model ran (evaluating words and choosing)
    cached: bool = False
    # The exact instant of each time said as a duration ("in 1 hour"), by the HH:MM its commands carry.
    instants: tuple[tuple[str, float], ...] = ()
    question: Question | None = None  # a question about the home: answered from states, never a command
    # Not None when the words cannot be acted on without asking which devices: the choices (groups of
    # device ids), none when there is nothing they could refer to.
    clarify: tuple[tuple[str, ...], ...] | None = None
    # How much each increase or decrease changes its value ("two degrees warmer": 2), in the type's unit.
    amount: float | None = None

    def to_dict(self) -> dict[str, object]:
        """The CLI's JSON line: text and commands, and why a command was refused if one was."""
        line: dict[str, object] = {"text": self.text, "commands": [c.to_dict() for c in self.commands]}
        if self.rejected:
            line["errors"] = list(self.rejected)
        if self.question is not None:
            line["question"] = self.question.to_dict()
        if self.clarify is not None:
            line["clarify"] = [list(group) for group in self.clarify]
        if self.amount is not None:
            line["amount"] = self.amount
        return line


def clean_text(text: str) -> str:
    """Refuse text that is not an utterance; collapse whitespace and drop control characters."""
    if not isinstance(text, str):
        raise InputError("the utterance must be text", "bad_text")
    if "\x00" in text:
        raise InputError("the utterance contains NUL bytes; binary data is not text", "bad_text")
    cleaned = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InputError("the utterance is empty", "bad_text")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise InputError(f"the utterance is {len(cleaned)} characters long; the limit is {MAX_TEXT_CHARS}",
                         "too_long")
    return cleaned


def prepare(text: str, now: str | float, keep: Sequence[str] = ()) -> TimeReading:
    """The words as the model sees them (digits, @HH:MM markers) and the times they name; the words of
    ``keep`` (the registry's names with number words in them, like 百叶窗) stay words."""
    timed = read_times(normalize_numbers(text, keep), now)
    return replace(timed, text=read_quantities(timed.text))
