"""Whether words heard so far already read as a whole request, so speech can be acted on before the
speaker's silence is confirmed. Code only (the model is busy with the request before)."""

from __future__ import annotations

import re

from edgebrain.base.errors import InputError
from edgebrain.devices.registry import Registry
from edgebrain.understand.words.clauses import COORDINATION
from edgebrain.understand.words.mentions import find_mentions
from edgebrain.understand.words.numbers import normalize_numbers
from edgebrain.understand.words.questions import is_question
from edgebrain.understand.words.reading import clean_text
from edgebrain.understand.words.vocabulary import asked_actions, complaint_actions, extreme, started_appliances

# Words after which a request goes on: a conjunction (COORDINATION), a number (it may grow: "twenty"
# -> "twenty five"), or a word that introduces a value or a time ("to", "at", 调到, 八点 -> 八点半).
_OPEN_WORD = re.compile(r"(?:\b(?:to|at|in|by|for|until|from|the|a|an|my|of|with)|\d|[到在于点把将给])$")
_OPEN_END = re.compile(rf"(?:{COORDINATION.pattern})$")


def reads_complete(registry: Registry, text: str) -> bool:
    """True when ``text`` names a device, a room or all of a kind, asks something of it, and leaves nothing
    open."""
    try:
        cleaned = clean_text(text)
    except InputError:
        return False
    if is_question(cleaned):
        return False
    tail = normalize_numbers(cleaned).rstrip(" .!。！")
    if _OPEN_WORD.search(tail.lower()) or _OPEN_END.search(tail.lower()):
        return False
    mentions = find_mentions(registry, cleaned)
    # A kind of device alone ("turn on the lights") may yet get its room ("… in the kitchen").
    if not (mentions.devices or mentions.exact or mentions.rooms or mentions.everything or mentions.quantified):
        return False
    return (asked_actions(cleaned) is not None or bool(complaint_actions(registry, cleaned))
            or extreme(cleaned) is not None or bool(started_appliances(registry, cleaned)))
