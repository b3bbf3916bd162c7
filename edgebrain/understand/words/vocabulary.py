"""What the words ask for, read from the command schema's word lists: actions, values, states, extremes,
complaints, appliances, and what no device here does."""

from __future__ import annotations

import re
from functools import cache, lru_cache

from edgebrain.base.reasons import Reason, quoted
from edgebrain.base.schemas import (
    action_states,
    action_words,
    device_types,
    type_complaints,
    unsupported_words,
    value_extremes,
    value_units,
)
from edgebrain.devices.registry import Registry
from edgebrain.understand.words.rooms import Sieve, blank, blank_all, fold
from edgebrain.understand.words.rooms import contains as _contains

# "Light up the hallway" uses the verb: it asks for the room's lights, not the one named "light". Where
# a verb stands (not in "turn the light up") it reads as "illuminate", which the schema knows.
_LIGHT_VERB = re.compile(r"(^\s*|[,;.!?，。]\s*|\b(?:please|pls|can you|could you|would you|will you|and|then|"
                         r"just|to)\s+)light\s+up\b", re.IGNORECASE)


def verbs_read(text: str) -> str:
    """The words with verbs that look like device words read as verbs ("light up" as "illuminate")."""
    return _LIGHT_VERB.sub(r"\1illuminate", text)


# "Turn it down to 20" names no direction: it is a set.
_NOT_DIRECTION = {"turn it down to": "set to", "turn down to": "set to"}
_DIRECTIONS = ("increase", "decrease")


# 开 and 关 alone are verbs only where a request starts ("开厨房灯", "@20:00 开空调", "请关窗帘"); elsewhere
# they are parts of other words (开关 is a switch, 关于 "about"), so they are not in the schema's x-words.
_LEADING_VERB = re.compile(r"(?:^|[\s,，。!！@\d:]|请|帮我|给我|麻烦)([开关])(?![关心始于着])")
_LEADING_ACTIONS = {"开": {"on", "open"}, "关": {"off", "close"}}


# "Turn the humidifier up to 60", "the AC to 25": a value, not a step up.
_TO_VALUE = re.compile(r"\b(?:(?:up|down) )?to (?=\d)")


def state_answer(device_type: str, states: frozenset[str], text: str) -> str | None:
    """What a complaint beside a device's state asks of it, where its kind answers no complaint of
    the schema but the words hint at it (x-cues): "the fan is still off and it's stifling" is on, "the
    fan is on and it's still stuffy" more; None where the words do not hint at the kind."""
    cues = device_types()[device_type].get("x-cues", ())
    if not any(_contains(fold(text), fold(cue)) for cue in cues):
        return None
    return "on" if "off" in states else "increase" if "on" in states else None


def stated(text: str) -> tuple[frozenset[str], str]:
    """The states the words tell ("the lamp is on", "灯开着"), and the words without them."""
    rest = fold(text)
    states = set()
    for state, words in action_states().items():
        for word in sorted(words, key=len, reverse=True):
            rest, found = blank(rest, word)
            if found:
                states.add(state)
    return frozenset(states), rest


# "The temperature on the ACs": a preposition, not the action.
_PREPOSITION_ON = re.compile(r"(?<![a-z])(?!(?:turn|switch|put|power|flip|click|them|it|things|everything) )"
                             r"([a-z]+) on (?=(?:the|my|a|an|this|that|all|both|every)\b)")


@cache
def _actions_by_word() -> tuple[tuple[str, frozenset[str]], ...]:
    """Each action word with the actions it names (打开: on for a light, open for curtains), longest first."""
    # Words of one length stay in schema order (the sort is stable), so the reading never varies.
    words = sorted(dict.fromkeys(w for ws in action_words().values() for w in ws), key=len, reverse=True)
    return tuple((w, frozenset(a for a, ws in action_words().items() if w in ws)) for w in words)


def _named_actions(text: str) -> set[str]:
    """Actions named by their words; longer words first, so "light up" is on and "shut down" off."""
    _, lowered = stated(_TO_VALUE.sub("set to ", verbs_read(text.lower())))
    lowered = _PREPOSITION_ON.sub(r"\1 at ", lowered)
    for phrase, meaning in _NOT_DIRECTION.items():
        lowered = lowered.replace(phrase, meaning)
    # "Too dim to read" is a complaint, not the action "dim".
    lowered = blank_all(lowered, _complaints_with_action_words())
    named: set[str] = set()
    for word, actions in _actions_by_word():
        lowered, found = blank(lowered, word)
        if found:
            named |= actions
    for verb in _LEADING_VERB.findall(lowered):
        named |= _LEADING_ACTIONS[verb]
    return named


def extreme(text: str) -> str | None:
    """ "max" or "min" when the words ask for the end of a range ("full brightness", 调到最小)."""
    folded = fold(text)
    for end, words in value_extremes().items():
        if any(_contains(folded, w) for w in words):
            return end
    return None


@lru_cache(maxsize=64)
def phrase_owners(registry: Registry) -> dict[str, frozenset[str]]:
    """The registry's names and aliases, folded, longest first, each with the devices that have it."""
    owners: dict[str, set[str]] = {}
    for device in registry:
        for phrase in (device.name, *device.aliases):
            owners.setdefault(fold(phrase), set()).add(device.id)
    return {p: frozenset(owners[p]) for p in sorted(owners, key=len, reverse=True)}


def registry_phrases(registry: Registry) -> tuple[str, ...]:
    """The registry's names and aliases, folded, longest first."""
    return tuple(phrase_owners(registry))


@lru_cache(maxsize=64)
def name_sieve(registry: Registry) -> Sieve:
    """The registry's names and aliases, folded, longest first, to look up in some words."""
    return Sieve(registry_phrases(registry))


@lru_cache(maxsize=64)
def _names_and_rooms(registry: Registry) -> Sieve:
    """The registry's names (longest first), then its rooms."""
    rooms = sorted({fold(d.room) for d in registry if d.room}, key=len, reverse=True)
    return Sieve((*registry_phrases(registry), *rooms))


def unsupported(registry: Registry, text: str) -> str:
    """What the words ask for that no device here does ("lock the door", "pause the music"); "" if none.

    Words inside a registered device's name or alias do not count: a cover named "Garage door" opens.
    """
    rest = fold(text)
    phrases = registry_phrases(registry)
    # Rooms are names too ("the TV room lamp"), and an appliance the home has may be asked for by
    # what it does ("boil some water" with a kettle, "vacuum the hall" with a Roomba).
    rest = blank_all(rest, _names_and_rooms(registry).present(rest))
    if started_appliances(registry, text):
        return ""
    things, actions = unsupported_words()
    # "Start the vacuum" where a switch is named "Robot vacuum": a word of a name names that device.
    named = [w for w in (*things, *actions) if _contains(rest, w) and not any(_contains(p, w) for p in phrases)]
    if not named:
        return ""
    named = list(dict.fromkeys(named))[:3]
    return Reason("unsupported", f"nothing in this home can do that: no device here takes {quoted(named)}",
                  f"这个家里没有设备能做到{quoted(named, zh=True)}")


def asks_for_direction(text: str) -> bool:
    """True when the words ask for more or less of something ("turn it up", "调亮一点")."""
    return bool(_named_actions(text) & set(_DIRECTIONS))


# "2 degrees warmer", "调高2度", "lower it by 2 degrees", "10 percent brighter": an amount to change by, not a
# value to set. A number with a unit beside a direction, and no word that sets ("to", 到, 调成, 设).
_AMOUNT = re.compile(r"(?:\bby\s+)?(\d+(?:\.\d+)?)\s*(?:degrees?\b|°c?|percent\b|%|度|个点)", re.IGNORECASE)
_SETS = re.compile(r"\b(?:to|set)\b|到|成|为|设", re.IGNORECASE)


# A proportion ("lower the blinds halfway", 放下一半) is read as a percentage, but it is where to, not by how much.
_SAID_PERCENT = re.compile(r"percent|per cent|%|百分之|％", re.IGNORECASE)


def relative_amount(model_text: str, said: str) -> tuple[float, str] | None:
    """The amount a request changes a value by, and its words without it; None when it asks no change by an
    amount (a value to set, a direction without a number, a proportion). ``said``: the words as spoken."""
    found = _AMOUNT.findall(model_text)
    if len(found) != 1 or _SETS.search(model_text) or not asks_for_direction(model_text):
        return None
    if "%" in model_text and not _SAID_PERCENT.search(said):
        return None
    return float(found[0]), " ".join(_AMOUNT.sub(" ", model_text, count=1).split())


def asked_actions(text: str, one_value: bool = False) -> frozenset[str] | None:
    """The actions the words ask for by name ("turn off", "打开"), with set; None if none.

    With ``one_value`` (one command, and a number in the words) a set word or a unit makes the command
    a set: "dim the light to 20 percent" and "open the curtains halfway, 50 %" are each one set.
    """
    named = _named_actions(text)
    if one_value and ("set" in named or any(_contains(text.lower(), w) for w in value_units())):
        return frozenset({"set"})
    # A number can make any request a set ("open the curtains to 50"); the grammar offers set only
    # with the numbers the words contain.
    return frozenset(named | {"set"}) if named else None


@cache
def _complaints_with_action_words() -> tuple[str, ...]:
    """Complaint words that contain an action word ("too dim"), longest first."""
    actions = [w for words in action_words().values() for w in words]
    found = {w for t in device_types() for w in complaint_words(t)
             if " " in w and any(_contains(fold(w), a) for a in actions)}
    return tuple(sorted(found, key=len, reverse=True))


def complaint_words(device_type: str) -> tuple[str, ...]:
    """Every complaint word of a type ("too dark", 太暗), from the command schema."""
    return tuple(w for words, _ in type_complaints(device_type) for w in words)


# A one-character Chinese complaint (热, 干, 黑) stands alone or before a particle, not inside a word
# (热闹, 干嘛, 黑咖啡, 凉快).
_PARTICLE_AFTER = "了死得啊呀吧哦啦的"


def _complains(text: str, word: str) -> bool:
    if len(word) != 1 or word.isascii():
        return _contains(text, word)
    return any(i + 1 == len(text) or not ("\u3400" <= text[i + 1] <= "\u9fff") or text[i + 1] in _PARTICLE_AFTER
               for i, ch in enumerate(text) if ch == word)


def complaint_actions(registry: Registry, text: str) -> dict[str, tuple[str, ...]]:
    """For each type whose complaint words ("too dark", "太干了") occur, the actions that answer them.

    A complaint rules out the opposite action: "it's too dark" never turns a light off. The small model
    leans towards "off" for complaints, so the grammar keeps only the actions the schema lists, in its
    order: the first one answers the complaint when the words name no action.
    """
    # Words inside a device's own name are no complaint: "关掉抽油烟机" names the range hood.
    lowered = fold(text)
    lowered = blank_all(lowered, name_sieve(registry).present(lowered))
    found: dict[str, tuple[str, ...]] = {}
    for device_type in device_types():
        for words, actions in type_complaints(device_type):
            if any(_complains(lowered, w) for w in words):
                found[device_type] = tuple(dict.fromkeys(found.get(device_type, ()) + actions))
    return found


def started_appliances(registry: Registry, text: str) -> frozenset[str]:
    """The appliance the words ask to start without naming it ("do the floors", 烧壶水): the one plug-type
    device named like the appliance the schema's cue belongs to."""
    folded = fold(text)
    found: set[str] = set()
    for device_type, fragment in device_types().items():
        for appliance in fragment.get("x-appliances", ()):
            if not any(_contains(folded, cue) for cue in appliance["cues"]):
                continue
            named = {d.id for d in registry if d.type == device_type and any(
                _contains(fold(p), n) for p in (d.name, *d.aliases) for n in appliance["names"])}
            if len(named) == 1:
                found |= named
    return frozenset(found)


