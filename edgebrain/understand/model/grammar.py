"""The language the model may speak, generated from the registry for each request.

A reply is ``- none`` or up to MAX_LINES lines ``- <target> <action>[ <value>][ @HH:MM]``. Targets are
registry devices and the groups the registry offers, actions and value ranges come from the command
schema; per request the targets are narrowed to what the words mention, ``set`` is offered only with
the numbers the words contain, and ``@HH:MM`` only with the times they contain. The same language is
available as a llama.cpp GBNF grammar and as the lines the fast decoder walks as a token trie.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from edgebrain.base.schemas import device_types, type_extreme_actions, type_same_actions
from edgebrain.devices.registry import Registry, Target
from edgebrain.understand.words.rooms import room_words

NONE = "none"
# Words the model writes for schema actions: "turn it up" is copied far more reliably than "increase".
ACTION_WORDS = {"increase": "up", "decrease": "down"}
BULLET = "- "
MAX_LINES = 6
TIME_MARK = " @"
# A number keeps its sign ("-40", "调到-5度", "−5", "minus 5", 负5): no device range admits a negative
# value, so a signed number must be refused, never read as its size (a hyphen inside a Latin name or
# between numbers, "bedroom-2", "20-25", is no sign; after a Chinese character it is one).
_NUMBER = re.compile(r"(?P<sign>(?<![A-Za-z0-9_\-‐–])[-‐–－−]|\bminus\s+|负)?(?<![\d:@.])(?P<digits>\d+)(?![\d:])",
                     re.IGNORECASE)
VALUE_DIGITS = 3  # no device value has more digits; a year or "1000 degrees" offers no set line


@dataclass(frozen=True)
class Line:
    """One command line without its time: a target (by one of its phrases), an action, a value."""

    target: str
    action: str
    value: int | None = None
    phrase: str = ""

    @property
    def text(self) -> str:
        """The line as the model writes it."""
        words = [self.phrase or self.target, ACTION_WORDS.get(self.action, self.action)]
        words += [str(self.value)] if self.value is not None else []
        return BULLET + " ".join(words)


NONE_LINE = Line(NONE, NONE)


def _join(first: str, second: str) -> str:
    """Two words of one language as one phrase; mixed languages make no phrase."""
    if first.isascii() and second.isascii():
        return f"{first} {second}"
    if not first.isascii() and not second.isascii():
        return first + second
    return ""


def target_phrases(registry: Registry) -> dict[str, str]:
    """Phrases the model may write for a target, mapped to the target id.

    A small model copies the user's words far better than it recalls ids, so the registry's names and
    aliases are the vocabulary; a phrase claimed by a device is never also a group's.
    """
    phrases: dict[str, str] = {}

    def claim(phrase: str, target: str) -> None:
        phrase = " ".join(phrase.split())
        # As written and in lower case: users type "AC" and "ac" alike, and the model copies them.
        for variant in (phrase, phrase.lower()):
            if variant and variant != NONE:
                phrases.setdefault(variant, target)

    for device in registry:
        for phrase in (device.name, *device.aliases, device.id.replace("_", " ")):
            claim(phrase, device.id)
    types = device_types()
    vocabulary = room_words(registry.rooms)
    for target in registry.targets:
        if not target.is_group:
            continue
        claim(target.id.replace("_", " "), target.id)
        kinds = {d.type for d in target.members}
        rooms = {d.room for d in target.members}
        if len(kinds) == 1 and len(rooms) == 1:
            room = next(iter(rooms)) or ""
            for word in types[next(iter(kinds))].get("x-words", ()):
                for room_word in (room, *vocabulary.words_of(room)):
                    claim(_join(room_word, word), target.id)
    for target in registry.targets:
        kinds = {d.type for d in target.members}
        if target.is_group and len(kinds) == 1 and len({d.room for d in target.members}) > 1:
            for word in types[next(iter(kinds))].get("x-words", ()):
                claim(_join("all", word), target.id)
                claim(_join("所有", word), target.id)
                claim(word, target.id)
    for target in registry.targets:
        if target.is_group and len({d.type for d in target.members}) > 1:
            rooms = {d.room for d in target.members}
            if len(rooms) == 1:
                room = next(iter(rooms)) or ""
                claim(f"everything in the {room}", target.id)
                for room_word in vocabulary.words_of(room):
                    if not room_word.isascii():
                        claim(f"{room_word}所有设备", target.id)
            else:
                for phrase in ("everything", "all devices", "所有设备", "所有电器"):
                    claim(phrase, target.id)
    return phrases
NONE_TEXT = BULLET + NONE


def numbers_in(text: str, max_digits: int | None = VALUE_DIGITS) -> tuple[int, ...]:
    """Whole numbers written in the text, time markers excluded; those of at most ``max_digits`` digits."""
    return tuple(dict.fromkeys(-int(m["digits"]) if m["sign"] else int(m["digits"]) for m in _NUMBER.finditer(text)
                               if max_digits is None or len(m["digits"]) <= max_digits))


def _said(target: Target) -> str:
    """How a reply line names a target without a phrase of its own (the devices the words picked out):
    by its names, or a few of them; a hundred names would be a hundred words to spell."""
    names = [d.name.lower() for d in target.members]
    return target.description if len(names) <= 3 else f"{names[0]}, {names[1]} and {len(names) - 2} more"


def phrases_by_target(phrases: Mapping[str, str]) -> dict[str, list[str]]:
    """Each target's phrases, in the order of ``phrases``."""
    by_target: dict[str, list[str]] = {}
    for phrase, target_id in phrases.items():
        by_target.setdefault(target_id, []).append(phrase)
    return by_target


def command_lines(targets: Iterable[Target], phrases: dict[str, str],
                  values: Sequence[int] | None = None, exclude: frozenset[str] = frozenset(),
                  answers: Mapping[str, Sequence[str]] | None = None,
                  asked: frozenset[str] | None = None, extreme: str | None = None,
                  strict: bool = False, by_target: Mapping[str, Sequence[str]] | None = None) -> list[Line]:
    """Every line for these targets, by each of their phrases; ``set`` only with ``values``.

    Actions in ``exclude`` are left out, and a target whose types all have an entry in ``answers``
    (device type -> actions that answer a complaint) keeps only those, as long as one is left; so do
    the actions in ``asked``, the ones the words name, as long as one of them makes a line. With
    ``extreme`` ("max" or "min") a target is set to that end of its range, or takes its type's action
    for it (a cover opens). With ``strict`` (the words themselves name the actions) a target that takes
    none of them, nor an action of its type that means the same, gets no line: "dim the kettle" is
    nothing, never another action.
    """
    by_target = by_target if by_target is not None else phrases_by_target(phrases)
    lines: list[Line] = []
    for target in targets:
        value_range = target.value_range()
        settable: list[int] = []
        if value_range is not None:
            low, high = value_range
            settable = list(range(low, high + 1)) if values is None else [v for v in values if low <= v <= high]
        actions = [a for a in target.actions if a not in exclude] or list(target.actions)
        # Toggle, like set, is a choice only when the words ask for it ("toggle", "flip", 切换).
        actions = [a for a in actions if a != "toggle" or (asked is not None and "toggle" in asked)] or actions
        kinds = {d.type for d in target.members}
        if answers and kinds <= answers.keys():
            answering = set.intersection(*(set(answers[k]) for k in kinds))
            actions = [a for a in actions if a in answering] or actions
        if extreme is not None:
            instead = {type_extreme_actions(d.type).get(extreme) for d in target.members}
            if len(instead) == 1 and None not in instead:
                actions = [a for a in instead if a is not None and a in target.actions] or actions
            elif value_range is not None:
                settable, actions = [value_range[1] if extreme == "max" else value_range[0]], ["set"]
        elif asked is not None:
            wanted = [a for a in actions if a in asked and (a != "set" or settable)]
            if strict and not wanted:
                same = {type_same_actions(d.type).get(a) for d in target.members for a in asked}
                # "Raise the blinds": what its type means by the words, even where "up" left out open.
                wanted = [a for a in target.actions if a in same]
                if not wanted:
                    continue
            actions = wanted or actions
        for phrase in by_target.get(target.id) or [_said(target)]:
            for action in actions:
                values_here = settable if action == "set" else [None]
                lines.extend(Line(target.id, action, value, phrase) for value in values_here)
    return lines


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_gbnf(lines: Sequence[Line], times: Sequence[str] = ()) -> str:
    """A llama.cpp GBNF grammar for replies made of these lines and time markers."""
    rules = {"line": " | ".join(_literal(line.text) for line in lines) or _literal(NONE_TEXT)}
    time_part = ""
    if times:
        rules["at"] = f"{_literal(TIME_MARK)} ({' | '.join(_literal(t) for t in times)})"
        time_part = " at?"
    more = " ".join([f'("\\n" line{time_part}'] * (MAX_LINES - 1)) + ")?" * (MAX_LINES - 1)
    head = f"root ::= {_literal(NONE_TEXT)} | line{time_part} {more}"
    return "\n".join([head] + [f"{name} ::= {body}" for name, body in rules.items()]) + "\n"
