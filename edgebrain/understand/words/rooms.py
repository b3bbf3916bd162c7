"""Rooms an utterance names, in any script: the registry's own rooms, their common synonyms, and parts.

A registry room is named *exactly* by its own words ("Bedroom 2", "卧室") or by a word of its synonym
set in the registry schema ("卧室" for "bedroom"), and *partly* by what is left without its number or
qualifier ("bedroom" for "Bedroom 2" or "Master bedroom", "次卧" for "次卧2"). A room word of a set that
no registry room belongs to ("the garage light" in a home without a garage) names a room the home
lacks. Longer words are matched first and consume their span, so "master bedroom" is not also "bedroom".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from edgebrain.base.schemas import room_synonyms

_APOSTROPHES = re.compile(r"['’`]")
# Letters of scripts that write words with spaces: a phrase in them matches whole words only.
_LETTERS = "0-9a-z\u00df-\u024f\u0370-\u03ff\u0400-\u04ff"
# "The lamp's on": the state, not a possessive.
_IS_STATE = re.compile(r"['’]s (?=(?:on|off|still|already)\b)")
# A hyphen between words joins them; after a Chinese character and before a digit it is a sign ("调到-5").
_HYPHENS = re.compile(r"(?<=[^\W\u4e00-\u9fff])[-‐–](?=\w)|(?<=[\u4e00-\u9fff])[-‐–](?=[^\W\d])")
# What makes one room of several alike: a number, a floor ("2F", "1st floor", "二楼"), "#2", "no. 2".
_QUALIFIER = re.compile(r"(?:\b(?:no\.?\s*)?#?\d+(?:st|nd|rd|th|f)?\b(?:\s*floor\b)?|\d+\s*楼|[一二三四五]楼|\d+|"
                        r"[一二三四五六]号)", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case without apostrophes or hyphens: "Kid's room" and "kids room", "under-cabinet" and
    "under cabinet" read alike."""
    return _HYPHENS.sub(" ", _APOSTROPHES.sub("", _IS_STATE.sub(" is ", text.lower())))


def contains(text: str, phrase: str) -> bool:
    """True when the folded ``text`` has ``phrase`` as whole words (any substring for Chinese).

    A ``*`` in the phrase stands for one to four words: "get * going" matches "get the kettle going".
    """
    return find(text, phrase) is not None


def find(text: str, phrase: str) -> re.Match[str] | None:
    """Where ``phrase`` (see ``contains``) occurs in the folded ``text``."""
    pattern, literal = _pattern(phrase)
    if pattern is None or (literal and literal not in text):
        return None  # most phrases of a big home are not in the words: a substring test says so at once
    return pattern.search(text)


def literal(phrase: str) -> str:
    """The text ``phrase`` must contain to be found (see ``contains``): "" when it has a wildcard."""
    return _pattern(phrase)[1]


# A word as the patterns bound one (letters and digits), or any other single character (Chinese).
_FIRST = re.compile(f"[{_LETTERS}]+|\\S")


class Sieve:
    """Phrases indexed by their first word (or first character, in Chinese): the phrases some words may
    hold are found by looking up the words' own, not by trying each of a big home's names."""

    def __init__(self, phrases: Iterable[str]):
        self._order: dict[str, int] = {}
        self._literals: dict[str, str] = {}
        self._by_first: dict[str, list[str]] = {}
        self._always: list[str] = []
        for phrase in phrases:
            if phrase in self._order:
                continue
            self._order[phrase] = len(self._order)
            piece = self._literals[phrase] = literal(phrase)
            first = _FIRST.search(piece) if piece else None
            if first is None:
                self._always.append(phrase)  # a wildcard: no text it must contain
            else:
                self._by_first.setdefault(first.group(0), []).append(phrase)

    def present(self, text: str) -> list[str]:
        """The phrases the folded ``text`` may contain, in their first order: a cheap first sieve before
        ``contains``."""
        keys = set(_FIRST.findall(text))
        found = [p for key in keys for p in self._by_first.get(key, ()) if self._literals[p] in text]
        return sorted((*found, *self._always), key=self._order.__getitem__)


@lru_cache(maxsize=16384)
def _pattern(phrase: str) -> tuple[re.Pattern[str] | None, str]:
    """The phrase's pattern, and the text it must contain (none for a phrase with a wildcard)."""
    phrase = " ".join(fold(phrase).split())
    if not phrase.strip(" *"):
        return None, ""  # a name of only "*" or spaces names nothing
    # Only " * " between words is a wildcard (the schema's "get * going"); a "*" inside a name is a "*".
    parts = [re.escape(p) for p in phrase.split(" * ")]
    body = r"\s+(?:\S+\s+){0,3}?".join(parts)
    if re.search(f"[{_LETTERS}]", phrase):
        body = f"(?<![{_LETTERS}])" + body + f"(?![{_LETTERS}])"
    return re.compile(body), ("" if " * " in phrase else phrase)


def blank_all(text: str, phrases: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``phrases`` blanked out, in their order."""
    for phrase in phrases:
        text, _ = blank(text, phrase)
    return text


def blank(text: str, phrase: str) -> tuple[str, bool]:
    """``text`` with every occurrence of ``phrase`` blanked out, and whether there was one."""
    found = False
    while (match := find(text, phrase)) is not None and match.group(0).strip():
        found = True
        text = text[:match.start()] + " " * (match.end() - match.start()) + text[match.end():]
    return text, found


@dataclass(frozen=True)
class RoomWords:
    """Which registry rooms each room word names, and how."""

    exact: dict[str, frozenset[str]]  # word -> registry rooms it names fully
    partial: dict[str, frozenset[str]]  # word -> registry rooms it names partly
    unknown: frozenset[str]  # room words of no registry room

    @property
    def words(self) -> frozenset[str]:
        """Every room word, the registry's and the schema's."""
        return frozenset(self.exact) | frozenset(self.partial) | self.unknown

    def words_of(self, room: str) -> tuple[str, ...]:
        """The words that name ``room`` fully, its own first."""
        own = fold(room)
        return (own, *sorted(w for w, rooms in self.exact.items() if room in rooms and w != own))


def _synonyms(word: str) -> tuple[str, ...]:
    folded = fold(word)
    for words in room_synonyms():
        if folded in (fold(w) for w in words):
            return tuple(fold(w) for w in words)
    return (folded,)


def _parts(room: str) -> set[str]:
    """What names a room partly: the room without its number or floor, and common rooms inside it."""
    folded = fold(room)
    parts: set[str] = set()
    head = " ".join(_QUALIFIER.sub(" ", folded).split())
    if head and head != folded:
        parts.update(_synonyms(head))
    # "主卧" is partly a bedroom because "master bedroom" and "主卧室" are.
    own = _synonyms(room)
    for words in room_synonyms():
        for word in words:
            if fold(word) not in own and any(contains(name, word) for name in own):
                parts.update(_synonyms(word))
    return parts - set(own)


@lru_cache(maxsize=64)
def room_words(rooms: tuple[str, ...]) -> RoomWords:
    """The room vocabulary of a registry with these rooms."""
    exact: dict[str, set[str]] = {}
    partial: dict[str, set[str]] = {}
    for room in rooms:
        for word in _synonyms(room):
            exact.setdefault(word, set()).add(room)
        for word in _parts(room):
            partial.setdefault(word, set()).add(room)
    known = set(exact) | set(partial)
    unknown = {fold(w) for words in room_synonyms() for w in words} - known
    return RoomWords({w: frozenset(r) for w, r in exact.items()},
                     {w: frozenset(r - exact.get(w, set())) for w, r in partial.items()},
                     frozenset(unknown))


@dataclass(frozen=True)
class RoomMentions:
    """The registry rooms words name fully and partly, and the room words that name none."""

    exact: frozenset[str]
    partial: frozenset[str]
    unknown: frozenset[str]


def find_rooms(rooms: tuple[str, ...], text: str) -> RoomMentions:
    """The rooms the folded ``text`` names; longer words first, each taking its span."""
    vocabulary = room_words(rooms)
    exact: set[str] = set()
    partial: set[str] = set()
    unknown: set[str] = set()
    rest = text
    for word in sorted(vocabulary.words, key=len, reverse=True):
        rest, found = blank(rest, word)
        if found:
            exact |= vocabulary.exact.get(word, frozenset())
            partial |= vocabulary.partial.get(word, frozenset())
            if word in vocabulary.unknown:
                unknown.add(word)
    return RoomMentions(frozenset(exact), frozenset(partial - exact), frozenset(unknown))
