"""Which numbers of the words are values, and why a value fits none of the devices named."""

from __future__ import annotations

import re
from collections.abc import Sequence

from edgebrain.base.reasons import Reason, in_chinese
from edgebrain.base.schemas import device_types, type_value_unit
from edgebrain.devices.registry import Registry, Target
from edgebrain.understand.model.grammar import VALUE_DIGITS, numbers_in
from edgebrain.understand.words.clauses import split_clauses
from edgebrain.understand.words.mentions import fitting_targets
from edgebrain.understand.words.rooms import blank, fold
from edgebrain.understand.words.vocabulary import asked_actions

# A number with a unit of temperature: only a type whose value is in °C takes it.
_DEGREES = re.compile(r"\d\s*(?:°|degrees?\b|度)", re.I)
# A number before a measure word counts devices: 两盏灯, 3台空调.
_COUNT = re.compile(r"\d+\s*(?:盏|个|台|把|只|扇|部|组|套)")


class ValueReader:
    """The numbers of some words that are values, for one registry (its numbered names read once)."""

    def __init__(self, registry: Registry):
        """Read the registry's names and rooms, and the type words a count of devices comes before."""
        self.names = {fold(p) for d in registry for p in (d.name, *d.aliases, *([d.room] if d.room else []))}
        type_words = sorted({fold(w) for f in device_types().values() for w in f.get("x-words", ()) if w.isascii()},
                            key=len, reverse=True)
        self._counted = re.compile(r"\b\d+\s+(?:" + "|".join(map(re.escape, type_words)) + r")\b")
        self._numbered = sorted((p for p in self.names if any(ch.isdigit() for ch in p)), key=len, reverse=True)

    def values(self, text: str, max_digits: int | None = VALUE_DIGITS) -> tuple[int, ...]:
        """The numbers of the words that are values: not part of a room or a name ("Bedroom 2", "2F
        hallway"), nor a count of devices ("两盏灯", "both 2 lamps")."""
        rest = fold(text)
        for phrase in self._numbered:
            rest, _ = blank(rest, phrase)
        rest = _COUNT.sub(" ", rest)
        rest = self._counted.sub(" ", rest)
        return numbers_in(rest, max_digits)


def out_of_range(registry: Registry, reader: ValueReader, model_text: str, fitting: Sequence[Target],
                 by_clause: bool = False) -> str:
    """Why a value the words ask for fits none of the ``fitting`` devices ("调到一千度"); "" if it fits.

    ``by_clause``: each clause of a request of several is checked against its own devices ("the
    humidifier to 101 and the fan to 500"), and every clause's reason is given."""
    if not by_clause:
        return _misfit(reader, model_text, fitting, None)
    reasons: list[str] = []
    asked: frozenset[str] | None = None
    for clause in split_clauses(registry, model_text) or ():
        inherited, asked = asked, clause.asked or asked  # "…and the fan to 500" sets too
        if why := _misfit(reader, clause.text, fitting_targets(registry, clause.mentions), inherited):
            reasons.append(why)
    if not reasons:
        return ""
    return Reason("out_of_range", "; ".join(reasons), "；".join(in_chinese(r) for r in reasons))


def _misfit(reader: ValueReader, model_text: str, fitting: Sequence[Target], inherited: frozenset[str] | None) -> str:
    numbers = reader.values(model_text, max_digits=None)
    if not numbers or (asked_actions(model_text, one_value=True) or inherited) != frozenset({"set"}):
        return ""
    if _DEGREES.search(model_text) and fitting and not any(
            type_value_unit(d.type) == "°C" for t in fitting for d in t.members):
        # "The blinds to 30 degrees": a unit no named device takes is never read as another value.
        named = ", ".join(f"{t.description} takes {type_value_unit(t.members[0].type) or 'no value'}"
                          for t in fitting[:3])
        return Reason("degrees", f"the value {numbers[0]} is in degrees: {named}",
                      f"{numbers[0]}度不是这些设备能设的值")
    ranges = {t.id: r for t in fitting if not t.is_group and (r := t.value_range()) is not None}
    if not ranges or any(low <= n <= high for n in numbers for low, high in ranges.values()):
        return ""
    named = ", ".join(f"{target} takes {low}-{high}" for target, (low, high) in ranges.items())
    said = "、".join(f"{low}到{high}" for low, high in dict.fromkeys(ranges.values()))
    values = ", ".join(map(str, numbers))
    return Reason("out_of_range", f"the value {values} is out of range: {named}", f"{values}超出了范围（可以设{said}）")
