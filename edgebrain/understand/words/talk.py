"""The words of a conversation and of a question, by the schema's classes (x-conversation, x-questions):
whether an utterance refers to what came before ("turn it off", 把它关了), repeats it for other devices
("the bedroom too"), says where the speaker is ("in here"), and what shape a question has."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from edgebrain.base.schemas import conversation_words, device_types, question_words
from edgebrain.understand.words.rooms import blank_all, find, fold


def says(text: str, kind: str, words: dict[str, tuple[str, ...]] | None = None) -> bool:
    """True when ``text`` has a word of the class ``kind`` (of x-conversation unless ``words`` are given)."""
    return _first_at(fold(text), (words or conversation_words()).get(kind, ())) is not None


def _first_at(folded: str, words: tuple[str, ...]) -> int | None:
    """Where the first of ``words`` (whole words; anywhere for Chinese) occurs in the folded text, or None."""
    starts = [match.start() for w in words if (match := find(folded, w)) is not None]
    return min(starts) if starts else None


# "It" where a clause starts is its subject ("something's burning, it stinks", "it's too bright"): a complaint,
# read as one, not a reference to a device to act on ("turn it off").
_SUBJECT_IT = re.compile(r"(?:^|[,.;:!?，。；！？]|\b(?:and|but|so|because|cause|now)\b)\s*it\b")


def reference(text: str) -> str | None:
    """"many" for "them", 它们; "one" for "it", 那个; None when the words refer to nothing said before."""
    not_words = sorted(conversation_words().get("not", ()), key=len, reverse=True)
    rest = _SUBJECT_IT.sub(" ", blank_all(fold(text), not_words))
    if says(rest, "many"):
        return "many"
    return "one" if says(rest, "one") else None


@dataclass(frozen=True)
class Question:
    """A question about the home, read: its shape and the state asked about (see ``Asked``), the devices it
    covers, and, when it covers none, what the home lacks (``missing``)."""

    shape: str
    state: str
    devices: tuple[str, ...]
    missing: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"shape": self.shape, "state": self.state, "devices": list(self.devices),
                **({"missing": self.missing} if self.missing else {})}


@dataclass(frozen=True)
class Asked:
    """The shape of a question: one (yes or no), value, any, all, which or how_many; and the state asked
    about, "on" or "off"."""

    shape: str
    state: str


def _first(text: str, kinds: tuple[str, ...]) -> str | None:
    words = question_words()
    return next((k for k in kinds if says(text, k, words)), None)


@cache
def _value_words() -> tuple[str, ...]:
    """The words for what a type's value means ("brightness", 温度): a question with one asks for the value."""
    return tuple(w for t in device_types().values() for w in (t.get("x-value") or {}).get("words", ()))


def asked(text: str) -> Asked:
    """The shape and the state of a question ("which lights are on?": which, on; 卧室的灯都关了吗: all, off)."""
    shape = _first(text, ("which", "how_many", "value", "all", "any")) or "one"
    if shape == "one" and fold(text).lstrip().startswith("有"):
        shape = "any"  # 有空调开着吗: "is there an AC on?"
    if shape in ("one", "all", "any") and _first_at(fold(text), _value_words()) is not None:
        shape = "value"
    state = "off" if says(text, "off", question_words()) and not _on_before_off(text) else "on"
    return Asked(shape, state)


def _on_before_off(text: str) -> bool:
    """"Is it on or off?" asks about on: the first state word said is the one asked about."""
    words = question_words()
    folded = fold(text)
    on, off = _first_at(folded, words.get("on", ())), _first_at(folded, words.get("off", ()))
    return on is not None and off is not None and on < off
