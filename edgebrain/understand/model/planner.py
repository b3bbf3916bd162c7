"""Plan a reply: the lines the words allow, per request or per clause, before the model chooses among them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from edgebrain.base.schemas import device_types
from edgebrain.devices.registry import Registry, Target
from edgebrain.understand.model.grammar import (
    VALUE_DIGITS,
    Line,
    command_lines,
    phrases_by_target,
    target_phrases,
)
from edgebrain.understand.model.ranges import ValueReader, out_of_range
from edgebrain.understand.words.clauses import split_clauses
from edgebrain.understand.words.mentions import Mentions, fitting_targets, named_by, widest
from edgebrain.understand.words.numbers import normalize_numbers
from edgebrain.understand.words.reading import Techniques
from edgebrain.understand.words.times import marked_times
from edgebrain.understand.words.vocabulary import (
    asked_actions,
    asks_for_direction,
    complaint_actions,
    extreme,
    started_appliances,
    state_answer,
    stated,
)

_ON_OFF = frozenset({"on", "off", "toggle", "open", "close"})
_OFF = frozenset({"off", "close"})


@dataclass(frozen=True)
class Plan:
    """One decode: the lines it may write, the times it must use, whether "none" is open, how many lines."""

    lines: tuple[Line, ...]
    times: tuple[str, ...]
    allow_none: bool
    max_lines: int


def lacking(mentions: Mentions, fitting: Sequence[Target]) -> bool:
    """True when the words name a room and a kind of device the room does not have."""
    return bool(mentions.rooms and mentions.types and not (mentions.devices or mentions.everything or fitting))


class Planner:
    """The reply lines one registry offers for some words, narrowed by what the words name and ask."""

    def __init__(self, registry: Registry, techniques: Techniques):
        """Read the registry's phrases and the names whose numbers are no values, once."""
        self.registry = registry
        self.techniques = techniques
        self.phrases = target_phrases(registry)
        self.by_target = phrases_by_target(self.phrases)
        self.value_reader = ValueReader(registry)
        names = self.value_reader.names
        # Names and type words that contain number words ("百叶窗", "Fan one") are not numbers.
        words = names | {w for fragment in device_types().values() for w in fragment.get("x-words", ())}
        self.wordy = tuple(sorted({p for w in words for p in (w, w.title(), w.capitalize())
                                   if normalize_numbers(p) != p}, key=len, reverse=True))

    def overlaps(self, first: str, second: str) -> bool:
        """True when two targets share a device."""
        a, b = self.registry.target(first), self.registry.target(second)
        return bool({d.id for d in a.members} & {d.id for d in b.members})

    def lines(self, words: str, model_words: str, mentions: Mentions, max_lines: int,
              inherited: frozenset[str] | None = None) -> list[Line]:
        """The reply lines these words allow: their targets, the actions they ask for, their numbers.

        ``inherited`` are the actions asked by the clause before, for a clause that names none.
        """
        narrow = self.techniques.narrowing
        fitting = fitting_targets(self.registry, mentions) if narrow else ()
        # When the words name nothing of the registry, or nothing fits, every target is offered.
        targets = fitting or self.registry.targets
        numbers = self.values(model_words)
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
        states: frozenset[str] = frozenset()
        if self.techniques.action_words:
            states, _ = stated(words)
            # "The lamp is on but I still can't read": the state it is in does not answer the complaint.
            answers = {kind: tuple(a for a in actions if a not in states) or actions
                       for kind, actions in answers.items()}
            if states and answers and (told := mentions.devices | mentions.exact):
                # "The fan is still off and it's stifling": a complaint beside the state of a device of
                # another kind that the words hint at is about that device.
                for kind in {d.type for d in self.registry if d.id in told} - answers.keys():
                    if (answer := state_answer(kind, states, words)) is not None:
                        answers[kind] = (answer,)
            # The model's words: numbers are digits there ("up to sixty" is "up to 60"); a state told
            # ("还没开") names no action.
            asked = asked_actions(stated(model_words)[1] if states else model_words, one_value=one and bool(numbers))
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
        if answers and not own and narrow and (not mentions.devices or states):
            # "So dry my skin feels tight" in a home without a humidifier: a complaint never moves a
            # device of a kind that does not answer it.
            targets = tuple(t for t in targets if {d.type for d in t.members} <= answers.keys())
        # One request asking for more or less is not an on/off request ("open up the blinds" still opens).
        exclude = _ON_OFF - (asked or frozenset()) if one and asks_for_direction(model_words) else frozenset()
        if states and asked is None:
            # "The heater is on and it's roasting": the state a device is in already is no answer.
            exclude |= states
        lines = command_lines(targets, self.phrases, numbers, exclude, answers, asked, end,
                              strict=own and narrow and bool(fitting), by_target=self.by_target)
        # Where two spellings mean the same command the decoder takes the first: the user's own words.
        lowered = words.lower()
        lines.sort(key=lambda line: (line.phrase.lower() not in lowered, line.phrase not in words))
        return lines

    def allows_none(self, cleaned: str, model_text: str, mentions: Mentions, fitting: Sequence[Target]) -> bool:
        """Whether "none" stays open: unless the words ask for something (an action, a value, a complaint,
        a device or a kind of device). A room alone, or words like a device the home lacks, are not
        asking ("I love my living room", "the front door")."""
        # With a number, a set word or a unit also asks: "50 percent". Without, the same as by name.
        asks = (asked_actions(model_text, one_value=bool(self.values(model_text))) is not None
                or bool(complaint_actions(self.registry, cleaned))
                or bool(mentions.exact or mentions.devices) or bool(mentions.types and not mentions.cued)
                or extreme(model_text) is not None
                or bool(started_appliances(self.registry, cleaned)))
        return not fitting or bool(mentions.unknown_rooms) or not self.techniques.narrowing or not asks

    def asks_action(self, cleaned: str, model_text: str) -> bool:
        """Whether the words ask for an action or a value by themselves (not by naming a device)."""
        return (asked_actions(model_text, one_value=bool(self.values(model_text))) is not None
                or bool(self.values(model_text)) or bool(complaint_actions(self.registry, cleaned))
                or extreme(model_text) is not None or bool(started_appliances(self.registry, cleaned)))

    def values(self, text: str, max_digits: int | None = VALUE_DIGITS) -> tuple[int, ...]:
        """The numbers of the words that are values (see ``ValueReader.values``)."""
        return self.value_reader.values(text, max_digits)

    def out_of_range(self, model_text: str, fitting: Sequence[Target], by_clause: bool = False) -> str:
        """Why a value the words ask for fits none of the ``fitting`` devices; "" if it fits (see ranges.py)."""
        return out_of_range(self.registry, self.value_reader, model_text, fitting, by_clause)

    def clause_plans(self, model_text: str, adjust: Callable[[Mentions, str], Mentions] | None = None
                     ) -> tuple[Plan, ...] | None:
        """One single-line plan per clause when every clause names its own devices (see clauses.py);
        ``adjust`` reads each clause's mentions where it was said (the speaker's room)."""
        clauses = split_clauses(self.registry, model_text)
        if clauses is None:
            return None
        if adjust is not None:
            clauses = [replace(c, mentions=adjust(c.mentions, c.text)) for c in clauses]
        plans = []
        inherited: frozenset[str] | None = None
        for clause in clauses:
            # "Turn on the bedroom light and the fan": the second clause asks what the first asked.
            asked_before, inherited = inherited, clause.asked or inherited
            if clause.negated:
                continue  # "…, but don't turn on the fan": that clause asks for nothing
            lines = self.lines(clause.text, clause.text, clause.mentions, 1, asked_before)
            if not lines or lacking(clause.mentions, fitting_targets(self.registry, clause.mentions)):
                return None
            # The clause names its own devices and what to do with them: "none" is no answer to it.
            plans.append(Plan(tuple(lines), marked_times(clause.text), allow_none=False, max_lines=1))
        return tuple(plans)
