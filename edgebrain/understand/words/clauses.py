"""Split a request of several commands into clauses that each name their own devices.

"关掉客厅灯，打开落地灯" is two one-command requests, and each leaves the model far less to choose
(often nothing). A clause that names nothing of the registry is part of its neighbour ("50 percent",
"看不清"), or, when it names an action, is about the devices of the clause before it ("turn it off at
11"). A complaint beside a request about the same devices is answered by that request ("the living room
is too dry, turn the humidifier up" is one command).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from edgebrain.devices.registry import Registry
from edgebrain.understand.words.mentions import Mentions, candidate_targets, find_mentions
from edgebrain.understand.words.questions import is_negated
from edgebrain.understand.words.vocabulary import asked_actions, complaint_actions, state_answer, stated

COORDINATION = re.compile(r"\b(and|then|also|plus|as well)\b|[,;，；、]|和|然后|再|并且|同时|还有|跟")


@dataclass(frozen=True)
class Clause:
    """The words of one command, what they mention, and whether they name an action or complain."""

    text: str
    mentions: Mentions
    asked: frozenset[str] | None  # the actions the words name (asked_actions), None when they name none
    complains: bool
    negated: bool = False  # "don't turn on the AC": this clause asks for nothing

    @property
    def names_action(self) -> bool:
        """True when the words name an action."""
        return self.asked is not None


def _clause(registry: Registry, text: str, mentions: Mentions | None = None, own: str | None = None) -> Clause:
    """The clause of ``text``; whether it is negated is read from its ``own`` words (those that name)."""
    return Clause(text, mentions or find_mentions(registry, text), asked_actions(text),
                  bool(complaint_actions(registry, text)), is_negated(text if own is None else own))


def _devices(registry: Registry, clause: Clause) -> set[str]:
    return {d.id for t in candidate_targets(registry, clause.mentions) for d in t.members}


def _answered(registry: Registry, complaint: Clause, request: Clause) -> bool:
    """True when ``request`` names an action for a device that ``complaint`` is about."""
    return (complaint.complains and not complaint.names_action and request.names_action
            and bool(_devices(registry, complaint) & _devices(registry, request)))


def split_clauses(registry: Registry, text: str) -> list[Clause] | None:
    """The clauses of ``text``, or None when they cannot stand alone (a later clause must see the rest)."""
    parts = [p.strip() for p in COORDINATION.split(text) if p and p.strip()]
    parts = [p for p in parts if not COORDINATION.fullmatch(p)]
    if len(parts) < 2:
        return None
    clauses: list[Clause] = []
    leading = ""
    for part in parts:
        clause = _clause(registry, f"{leading} {part}".strip(), own=part)
        if clause.mentions.unknown_rooms:
            return None
        if not clause.mentions.named and not clause.names_action:
            # "50 percent", "看不清", "please": more words for a neighbour, not a command of their own.
            if clauses:
                # They name nothing, so the devices stay those of the clause (which may be inherited:
                # "…and turn it off at 11, please"); nor do they negate it ("…, I don't need them").
                before = clauses[-1]
                clauses[-1] = replace(_clause(registry, f"{before.text} {part}", before.mentions),
                                      negated=before.negated)
            else:
                leading = clause.text
            continue
        leading = ""
        if clause.mentions.empty:
            if not clauses:
                return None
            # "and turn it off at 11": an action for the devices named just before.
            clause = replace(clause, mentions=clauses[-1].mentions)
        clauses.append(clause)
    if leading:
        return None
    clauses = _states_as_context(registry, clauses)
    merged: list[Clause] = []
    for clause in clauses:
        if merged and (_answered(registry, merged[-1], clause) or _answered(registry, clause, merged[-1])):
            before = merged.pop()
            request = clause if clause.names_action else before
            clause = replace(_clause(registry, f"{before.text} {clause.text}"), negated=request.negated)
        merged.append(clause)
    return merged


# How a clause asks for an action it is given ("the fan is still off, it's stifling": turn on the fan).
_SAID = {"on": "turn on", "off": "turn off", "increase": "turn up", "decrease": "turn down", "open": "open",
         "close": "close"}


def _telling(clause: Clause) -> frozenset[str]:
    """The states a clause only tells ("the kitchen light is already on", 风扇还没开); none if it asks."""
    states, rest = stated(clause.text)
    return states if states and asked_actions(rest) is None and clause.mentions.named else frozenset()


def _states_as_context(registry: Registry, clauses: list[Clause]) -> list[Clause]:
    """Clauses that tell a device's state are context, not commands.

    Beside a clause that asks for an action they are dropped ("the light is on, close the blinds").
    Beside only a complaint that names no device, the complaint is about the device they tell of, and
    asks for what answers it other than the state it is in; where its kind answers no complaint but
    the words hint at it ("the fan is still off and it's stifling"), off asks for on and on for more.
    """
    told = [(c, states) for c in clauses if (states := _telling(c))]
    if not told or len(told) == len(clauses):
        return clauses
    rest = [c for c in clauses if not any(c is t for t, _ in told)]
    if any(c.names_action for c in rest) or len(told) > 1:
        return rest
    (state_clause, states), complaint = told[0], rest[0]
    if len(rest) > 1 or not complaint.complains or complaint.mentions.devices:
        return clauses
    devices = {d for t in candidate_targets(registry, state_clause.mentions) for d in t.members}
    kinds = {d.type for d in devices}
    answers = complaint_actions(registry, complaint.text)
    if len(kinds) != 1:
        return clauses
    kind = next(iter(kinds))
    if kind in answers:
        wanted = [a for a in answers[kind] if a not in states and a != "set"]
    else:
        answer = state_answer(kind, states, complaint.text)
        wanted = [answer] if answer else []
    if not wanted:
        return clauses
    _, named = stated(state_clause.text)
    return [_clause(registry, f"{_SAID[wanted[0]]} {named}", state_clause.mentions)]
