"""Exceptions and people inside one request: "every light except the porch", 除了台灯都关, "leave X on",
and "Tom's awake, lights on in his room".

An exception is cut out of the words before they are read, and the devices it names are never sent a
command. A pronoun for a person's room ("his room", 她房间) becomes the room of the registry named
after the person the words name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..registry import Registry
from .mentions import find_mentions, fitting_targets

_STOP = r"(?=[,，.;；!！]|\s+(?:and|but|then)\b|$)"
_AS_IT_IS = r"on|off|open|closed|running|alone|as\s+(?:it|they)\s+(?:is|are)"
_EN = (
    re.compile(rf"[,，]?\s*\b(?:except(?:\s+for)?|apart\s+from|other\s+than|but\s+not)\s+(?P<x>.+?){_STOP}", re.I),
    re.compile(rf"[,，]\s*(?:but\s+)?not\s+(?P<x>(?:the|my|his|her|their)\s+.+?){_STOP}", re.I),
    re.compile(rf"(?:[,，]?\s*\b(?:but|and)\s+)?\bleave\s+(?P<x>.+?)(?:\s+(?:{_AS_IT_IS}))?{_STOP}(?:\s+and\b)?", re.I),
)
_ZH_PREFIX = re.compile(r"除了(?P<x>[^，,。；;]+?)(?:以外|之外)?(?:[，,]|(?=其他|其它|其余|别的|所有|全部|都))")
_ZH_CLAUSE = re.compile(r"^\s*(?:但是|但|不过)?(?P<x>.+?)(?:的)?(?:就)?"
                        r"(?:留着|别关|不要关|不用关|别动|不要动|不用动|不用开|别开|不要开|保持开着|开着就行|不关)[了吧]?\s*$")
_CLAUSES = re.compile(r"[，,；;]")
# "His room", 她的房间, "in there": a person's room, named by the person the words name.
_PRONOUN_ROOM = re.compile(r"\b(?:his|her|their)\s+room\b|[他她]的?房间", re.I)
_THERE = re.compile(r"\s+in\s+(?:there|that\s+room)\b|那个房间里?|那个屋里?", re.I)
_POSSESSIVE = re.compile(r"^(?P<who>.+?)(?:'s|’s|s'|的)\s*(?:room|bedroom|房间|卧室)?$", re.I)


@dataclass(frozen=True)
class Excepted:
    """The words left to read, and the devices the words say to leave alone."""

    text: str
    spared: frozenset[str] = frozenset()


def _named(registry: Registry, words: str) -> frozenset[str]:
    """The devices some words name: a device, a room's devices, a kind's devices."""
    mentions = find_mentions(registry, words)
    if mentions.empty or mentions.cued or mentions.unknown_rooms:
        return frozenset()
    return frozenset(d.id for target in fitting_targets(registry, mentions) for d in target.members)


def _person_rooms(registry: Registry, text: str) -> str:
    """The words with "his room" (他房间) as the room named after the person they name, and "in there"
    (那个房间) as the one room they name elsewhere."""
    if _THERE.search(text) and len(named := find_mentions(registry, _THERE.sub(" ", text)).rooms) == 1:
        text = _THERE.sub(f" in {next(iter(named))}", text)
    if not _PRONOUN_ROOM.search(text):
        return text
    lowered = text.lower()
    rooms = [room for room in dict.fromkeys(d.room for d in registry if d.room)
             if (m := _POSSESSIVE.match(room)) and m.group("who").lower() in lowered]
    return _PRONOUN_ROOM.sub(rooms[0], text) if len(rooms) == 1 else text


def read_exceptions(registry: Registry, text: str) -> Excepted:
    """Cut the exceptions out of the words; the devices they name are spared."""
    text = _person_rooms(registry, text)
    spared: set[str] = set()
    for pattern in _EN:
        for match in list(pattern.finditer(text)):
            named = _named(registry, match.group("x"))
            if named:
                spared |= named
                text = text.replace(match.group(0), " ", 1)
    if (prefix := _ZH_PREFIX.search(text)) and (named := _named(registry, prefix.group("x"))):
        spared |= named
        text = text.replace(prefix.group(0), " ", 1)
    clauses = _CLAUSES.split(text)
    if len(clauses) > 1:
        kept = [clauses[0]]
        for clause in clauses[1:]:
            kept_alone = _ZH_CLAUSE.match(clause)
            named = _named(registry, kept_alone.group("x")) if kept_alone else frozenset()
            if named:
                spared |= named
            else:
                kept.append(clause)
        text = "，".join(kept) if len(kept) < len(clauses) else text
    return Excepted(re.sub(r"\s{2,}", " ", text).strip(" ,，"), frozenset(spared))
