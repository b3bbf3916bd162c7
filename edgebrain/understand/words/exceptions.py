"""Exceptions and people inside one request: "every light except the porch", 除了台灯都关, "leave X on",
and "Tom's awake, lights on in his room".

An exception is cut out of the words before they are read, and the devices it names are never sent a
command. It is cut only where the words left still ask for something: "leave the porch light on
tonight" alone is a request, not an exception. A pronoun for a person's room ("his room", 她房间)
becomes the room of the registry named after the person the words name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgebrain.devices.registry import Registry
from edgebrain.understand.words.mentions import Mentions, find_mentions, fitting_targets
from edgebrain.understand.words.times import keeps_running
from edgebrain.understand.words.vocabulary import asked_actions

# Where the words of an exception end: a clause break, a conjunction, or a time ("…except the porch
# light at 11 pm" keeps its time for the request).
_NUMBER_WORDS = r"\d|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|half|a\b|an\b"
_TIME = (rf"\s+(?:(?:at|by|after|before|until|till)\s+(?:{_NUMBER_WORDS}|noon|midnight)"
         rf"|in\s+(?:\S+\s+){{0,2}}(?:minutes?|mins?|hours?|hrs?)\b|tonight\b|tomorrow\b|this\s+(?:morning|evening|afternoon)\b)")
_STOP = rf"(?=[,，.;；!！]|\s+(?:and|but|then)\b|{_TIME}|$)"
_AS_IT_IS = r"on|off|open|closed|running|alone|as\s+(?:it|they)\s+(?:is|are)"
_EN = (
    re.compile(rf"[,，]?\s*\b(?:except(?:\s+for)?|apart\s+from|other\s+than|but\s+not)\s+(?P<x>.+?){_STOP}", re.I),
    re.compile(rf"[,，]\s*(?:but\s+)?not\s+(?P<x>(?:the|my|his|her|their)\s+.+?){_STOP}", re.I),
    # "Leave X on" where a clause starts: not "when I leave the kitchen", not "don't leave X on".
    re.compile(rf"(?:^|[,，]\s*|\b(?:but|and)\s+)leave\s+(?P<x>.+?)(?:\s+(?:{_AS_IT_IS}))?{_STOP}(?:\s+and\b)?",
               re.I),
)
# "…except the porch and the garden light": more of the same list.
_MORE = re.compile(rf"(?P<more>\s+(?:and|or)\s+.+?|[,，]\s*(?:and\s+|or\s+)?.+?){_STOP}", re.I)
_ZH_PREFIX = re.compile(r"除了(?P<x>[^，,。；;]+?)(?:以外|之外)?(?:[，,]|(?=其他|其它|其余|别的|所有|全部|都))")
_ZH_CLAUSE = re.compile(r"^\s*(?:但是|但|不过)?(?P<x>.+?)(?:的)?(?:就)?(?:都|也)?"
                        r"(?:留着|别关|不要关|不用关|别动|不要动|不用动|不用开|别开|不要开|保持开着|开着就行|不关)[了吧]?\s*$")
# A later clause "除了X" (…, except X) on its own.
_ZH_BESIDES = re.compile(r"^\s*(?:但是|但|不过)?除了(?P<x>.+?)(?:以外|之外)?\s*$")
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


def _named(registry: Registry, words: str, besides: bool = False) -> tuple[frozenset[str], Mentions | None]:
    """The devices some words name (a device, a room's devices, a kind's devices), and what they mention.

    With ``besides`` (除了X) words that ask for an action are no exception: "除了开灯" is "besides
    turning on the lights"."""
    if besides and asked_actions(words) is not None:
        return frozenset(), None
    mentions = find_mentions(registry, words)
    if mentions.empty or mentions.cued or mentions.unknown_rooms:
        return frozenset(), None
    return frozenset(d.id for target in fitting_targets(registry, mentions) for d in target.members), mentions


def _asks(text: str) -> bool:
    """True when the words still ask for an action once an exception is cut out."""
    return asked_actions(text) is not None


def _person_rooms(registry: Registry, text: str) -> str:
    """The words with "his room" (他房间) as the room named after the person they name, and "in there"
    (那个房间) as the one room they name elsewhere."""
    if _THERE.search(text) and len(named := find_mentions(registry, _THERE.sub(" ", text)).rooms) == 1:
        text = _THERE.sub(f" in {next(iter(named))}", text)
    if not _PRONOUN_ROOM.search(text):
        return text
    rooms = [room for room in dict.fromkeys(d.room for d in registry if d.room)
             if (m := _POSSESSIVE.match(room)) and _says(text, m.group("who"))]
    return _PRONOUN_ROOM.sub(rooms[0], text) if len(rooms) == 1 else text


def _says(text: str, name: str) -> bool:
    """True when ``text`` names ``name`` as a word of its own (Tom, not "tomorrow")."""
    if name.isascii():
        return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.I) is not None
    return name in text


class _Cutter:
    """The words, and what has been cut out of them so far."""

    def __init__(self, registry: Registry, text: str):
        self.registry = registry
        self.text = text
        self.spared: set[str] = set()
        self.mentioned: list[Mentions] = []

    def cut(self, cut_out: str, named: frozenset[str], mentions: Mentions | None, replacement: str = " ") -> None:
        """Cut ``cut_out`` from the words and spare ``named``, if the words left still ask for something."""
        rest = self.text.replace(cut_out, replacement, 1)
        if named and mentions is not None and _asks(rest):
            self.text = rest
            self.spared |= named
            self.mentioned.append(mentions)

    def english(self) -> None:
        if keeps_running(self.text):
            return  # "leave the porch light on for ten more minutes and then turn it off": a timed off
        for pattern in _EN:
            for match in list(pattern.finditer(self.text)):
                words, end = match.group("x"), match.end()
                while (more := _MORE.match(self.text, end)) and _named(self.registry, more.group("more"))[0]:
                    words, end = words + more.group("more"), more.end()
                self.cut(self.text[match.start():end], *_named(self.registry, words))

    def chinese(self) -> None:
        if (prefix := _ZH_PREFIX.search(self.text)) is not None:
            # "除了台灯都关": what is left is "全关", every other device.
            named = _named(self.registry, prefix.group("x"), True)
            if self.text.startswith("都", prefix.end()) and not prefix.group(0).endswith(("，", ",")):
                self.cut(prefix.group(0) + "都", *named, replacement="全")
            else:
                self.cut(prefix.group(0), *named)
        clauses = _CLAUSES.split(self.text)
        if len(clauses) < 2:
            return
        for index, clause in enumerate(clauses):
            besides = _ZH_BESIDES.match(clause) if index else None
            if kept_alone := besides or _ZH_CLAUSE.match(clause):
                self.cut(clause, *_named(self.registry, kept_alone.group("x"), besides is not None), replacement="")

    def excepted(self) -> Excepted:
        text = re.sub(r"\s{2,}", " ", self.text).strip(" ,，")
        text = re.sub(r"^[，,]+|[，,]{2,}", "，", text).strip(" ,，")
        spared = frozenset(self.spared)
        if spared and all(not (m.types or m.devices) for m in self.mentioned):
            # "…except in the kitchen, and start the espresso maker": a room spares the kinds asked for.
            kinds = find_mentions(self.registry, text).types
            if kinds:
                spared = frozenset(d.id for d in self.registry if d.id in spared and d.type in kinds)
        return Excepted(text, spared)


def read_exceptions(registry: Registry, text: str) -> Excepted:
    """Cut the exceptions out of the words; the devices they name are spared."""
    cutter = _Cutter(registry, _person_rooms(registry, text))
    cutter.english()
    cutter.chinese()
    return cutter.excepted()
