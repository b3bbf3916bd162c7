"""The words of a conversation and of a question, by the schema's classes (x-conversation, x-questions):
whether an utterance refers to what came before ("turn it off", 把它关了), repeats it for other devices
("the bedroom too"), says where the speaker is ("in here"), and what shape a question has."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from edgebrain.base.schemas import conversation_words, device_types, question_words
from edgebrain.understand.words.rooms import fold


@cache
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Whole words for Latin script, anywhere for Chinese; longest first."""
    parts = [re.escape(w) if not w.isascii() else rf"(?<![\w']){re.escape(w)}(?![\w'])"
             for w in sorted(words, key=len, reverse=True)]
    return re.compile("|".join(parts) or r"(?!)")


def says(text: str, kind: str, words: dict[str, tuple[str, ...]] | None = None) -> bool:
    """True when ``text`` has a word of the class ``kind`` (of x-conversation unless ``words`` are given)."""
    found = (words or conversation_words()).get(kind, ())
    return bool(found) and _pattern(found).search(fold(text)) is not None


# "It" where a clause starts is its subject ("something's burning, it stinks", "it's too bright"): a complaint,
# read as one, not a reference to a device to act on ("turn it off").
_SUBJECT_IT = re.compile(r"(?:^|[,.;:!?，。；！？]|\b(?:and|but|so|because|cause|now)\b)\s*it\b")


def reference(text: str) -> str | None:
    """"many" for "them", 它们; "one" for "it", 那个; None when the words refer to nothing said before."""
    rest = _SUBJECT_IT.sub(" ", _pattern(conversation_words().get("not", ())).sub(" ", fold(text)))
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
    if shape in ("one", "all", "any") and _pattern(_value_words()).search(fold(text)):
        shape = "value"
    state = "off" if says(text, "off", question_words()) and not _on_before_off(text) else "on"
    return Asked(shape, state)


def _on_before_off(text: str) -> bool:
    """"Is it on or off?" asks about on: the first state word said is the one asked about."""
    words = question_words()
    folded = fold(text)
    on, off = _pattern(words.get("on", ())).search(folded), _pattern(words.get("off", ())).search(folded)
    return bool(on and off and on.start() < off.start())
