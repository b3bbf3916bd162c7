"""What an utterance mentions: devices, rooms and device types, found by their words in code.

A small model picks the wrong device when it has every device to choose from. When the words name
devices, rooms or types (or hint at a type: "too dark" is about lights), only the targets they fit
stay in the grammar and the model chooses among those; when they name nothing, every target stays
and the model may also answer "none".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..registry import GROUP_WIDE_ACTIONS, Registry, Target
from ..schemas import (
    action_states,
    action_words,
    device_types,
    group_words,
    type_complaints,
    unsupported_words,
    value_extremes,
    value_units,
)
from .rooms import contains as _contains
from .rooms import find as _find
from .rooms import find_rooms, fold, room_words

EVERYTHING_WORDS, QUANTIFIERS, NOT_QUANTIFIERS = group_words()
# Grammar words: never enough to point at a device by themselves.
_FUNCTION_WORDS = {"the", "and", "with", "for", "of", "my", "our", "one", "two", "room", "all", "new", "old"}
_CJK = re.compile(r"[\u3400-\u9fff]+")


@dataclass(frozen=True)
class Mentions:
    """Devices, rooms and types an utterance names; rooms it names that the registry lacks."""

    devices: frozenset[str]
    rooms: frozenset[str]
    types: frozenset[str]
    everything: bool
    unknown_rooms: frozenset[str] = frozenset()
    exact: frozenset[str] = frozenset()
    cued: bool = False  # the types come from cues ("too dark", "看不清"), not from type words
    quantified: bool = False  # "all", "both", 所有, 都, "everything"
    plural: bool = False  # a type word in the plural: "the lights"
    singular: tuple[str, ...] = ()  # type words in the singular: "the light"
    near: frozenset[str] = frozenset()  # rooms named partly beside one named fully ("bedroom": "Bedroom 2")
    sharing: frozenset[str] = frozenset()  # devices that share a name the words use ("the ceiling fan")

    @property
    def whole(self) -> bool:
        """True when the words mean every device that fits: "all the lights", "too dark in the kitchen"."""
        return self.quantified or self.plural or (self.cued and bool(self.rooms) and not self.devices)

    @property
    def named(self) -> bool:
        """True when the words name a device, a room, a type or everything, not only a cue."""
        return bool(self.devices or self.rooms or self.everything or (self.types and not self.cued))

    @property
    def empty(self) -> bool:
        """True when nothing of the registry is named."""
        return not (self.devices or self.rooms or self.types or self.everything)


# "Turn it down to 20" names no direction: it is a set.
_NOT_DIRECTION = {"turn it down to": "set to", "turn down to": "set to"}
_DIRECTIONS = ("increase", "decrease")


# 开 and 关 alone are verbs only where a request starts ("开厨房灯", "@20:00 开空调", "请关窗帘"); elsewhere
# they are parts of other words (开关 is a switch, 关于 "about"), so they are not in the schema's x-words.
_LEADING_VERB = re.compile(r"(?:^|[\s,，。!！@\d:]|请|帮我|给我|麻烦)([开关])(?![关心始于着])")
_LEADING_ACTIONS = {"开": {"on", "open"}, "关": {"off", "close"}}


# "Turn the humidifier up to 60", "the AC to 25": a value, not a step up.
_TO_VALUE = re.compile(r"\b(?:(?:up|down) )?to (?=\d)")


def _blank(text: str, phrase: str) -> tuple[str, bool]:
    """``text`` with every occurrence of ``phrase`` blanked out, and whether there was one."""
    found = False
    while (match := _find(text, phrase)) is not None:
        found = True
        text = text[:match.start()] + " " * (match.end() - match.start()) + text[match.end():]
    return text, found


def stated(text: str) -> tuple[frozenset[str], str]:
    """The states the words tell ("the lamp is on", "灯开着"), and the words without them."""
    rest = fold(text)
    states = set()
    for state, words in action_states().items():
        for word in sorted(words, key=len, reverse=True):
            rest, found = _blank(rest, word)
            if found:
                states.add(state)
    return frozenset(states), rest


# "The temperature on the ACs": a preposition, not the action.
_PREPOSITION_ON = re.compile(r"(?<![a-z])(?!(?:turn|switch|put|power|flip|click|them|it|things|everything) )"
                             r"([a-z]+) on (?=(?:the|my|a|an|this|that|all|both|every)\b)")


def _named_actions(text: str) -> set[str]:
    """Actions named by their words; longer words first, so "light up" is on and "shut down" off."""
    _, lowered = stated(_TO_VALUE.sub("set to ", verbs_read(text.lower())))
    lowered = _PREPOSITION_ON.sub(r"\1 at ", lowered)
    for phrase, meaning in _NOT_DIRECTION.items():
        lowered = lowered.replace(phrase, meaning)
    # "Too dim to read" is a complaint, not the action "dim".
    for phrase in _all_complaint_words():
        lowered, _ = _blank(lowered, phrase)
    named = set()
    for word, action in sorted(((w, a) for a, words in action_words().items() for w in words),
                               key=lambda item: -len(item[0])):
        lowered, found = _blank(lowered, word)
        if found:
            named.add(action)
            # A word may name two actions (打开: on for a light, open for curtains).
            named.update(a for a, words in action_words().items() if word in words)
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


def _phrases(registry: Registry) -> list[str]:
    """The registry's names and aliases, folded, longest first."""
    return sorted({fold(p) for d in registry for p in (d.name, *d.aliases)}, key=len, reverse=True)


def unsupported(registry: Registry, text: str) -> str:
    """What the words ask for that no device here does ("lock the door", "pause the music"); "" if none.

    Words inside a registered device's name or alias do not count: a cover named "Garage door" opens.
    """
    rest = fold(text)
    phrases = _phrases(registry)
    for phrase in phrases:
        rest, _ = _blank(rest, phrase)
    things, actions = unsupported_words()
    # "Start the vacuum" where a switch is named "Robot vacuum": a word of a name names that device.
    named = [w for w in (*things, *actions) if _contains(rest, w) and not any(_contains(p, w) for p in phrases)]
    if not named:
        return ""
    return f"nothing in this home can do that: no device here takes {', '.join(repr(w) for w in named[:3])}"


def asks_for_direction(text: str) -> bool:
    """True when the words ask for more or less of something ("turn it up", "调亮一点")."""
    return bool(_named_actions(text) & set(_DIRECTIONS))


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


def _all_complaint_words() -> list[str]:
    """Complaint words that contain an action word ("too dim"), longest first."""
    actions = [w for words in action_words().values() for w in words]
    found = {w for t in device_types() for w in _complaint_words(t)
             if " " in w and any(_contains(fold(w), a) for a in actions)}
    return sorted(found, key=len, reverse=True)


def _complaint_words(device_type: str) -> tuple[str, ...]:
    return tuple(w for words, _ in type_complaints(device_type) for w in words)


def complaint_actions(registry: Registry, text: str) -> dict[str, tuple[str, ...]]:
    """For each type whose complaint words ("too dark", "太干了") occur, the actions that answer them.

    A complaint rules out the opposite action: "it's too dark" never turns a light off. The small model
    leans towards "off" for complaints, so the grammar keeps only the actions the schema lists, in its
    order: the first one answers the complaint when the words name no action.
    """
    lowered = fold(text)
    # Words inside a device's own name are no complaint: "关掉抽油烟机" names the range hood.
    for phrase in _phrases(registry):
        lowered, _ = _blank(lowered, phrase)
    found: dict[str, tuple[str, ...]] = {}
    for device_type in device_types():
        for words, actions in type_complaints(device_type):
            if any(_contains(lowered, w) for w in words):
                found[device_type] = tuple(dict.fromkeys(found.get(device_type, ()) + actions))
    return found


def _own_words(phrase: str, common: set[str]) -> bool:
    """True when a name has words of its own beside the ``common`` room and type words."""
    rest = phrase.replace("的", " ")
    for word in sorted(common, key=len, reverse=True):
        rest, _ = _blank(rest, word)
    return bool(rest.strip())


def _pieces(phrase: str) -> set[str]:
    """The Chinese two-character pieces of a phrase."""
    return {run[i:i + 2] for run in _CJK.findall(phrase) for i in range(len(run) - 1)}


def _device_words(registry: Registry, excluded: set[str]) -> dict[str, frozenset[str]]:
    """Words that point at devices: whole names and aliases, and the words and Chinese two-character
    pieces of them that are not room, type or grammar words, each with the devices it points at."""
    pointing: dict[str, set[str]] = {}
    for device in registry:
        phrases = [fold(p) for p in (device.name, device.id.replace("_", " "), *device.aliases)]
        words = set(phrases)
        for phrase in phrases:
            words.update(re.findall(r"[a-z][a-z0-9-]{2,}", phrase))
            words.update(_pieces(phrase))
        for word in words:
            if word not in excluded and word not in _FUNCTION_WORDS and "的" not in word:
                pointing.setdefault(word, set()).add(device.id)
                if word.isascii() and " " not in word and not word.endswith("s"):
                    pointing.setdefault(word + "s", set()).add(device.id)  # "the venetians"
    return {w: frozenset(ids) for w, ids in pointing.items()}


# "Switch on the lamp" uses the verb; only the noun ("the switch") names the switch type.
_SWITCH_VERB = re.compile(r"\bswitch(?=\s+(?:on|off|it|them|everything|all|every|both|the|my)\b)")
# "Light up the hallway" uses the verb: it asks for the room's lights, not the one named "light". Where
# a verb stands (not in "turn the light up") it reads as "illuminate", which the schema knows.
_LIGHT_VERB = re.compile(r"(^\s*|[,;.!?，。]\s*|\b(?:please|pls|can you|could you|would you|will you|and|then|"
                         r"just|to)\s+)light\s+up\b", re.IGNORECASE)


def verbs_read(text: str) -> str:
    """The words with verbs that look like device words read as verbs ("light up" as "illuminate")."""
    return _LIGHT_VERB.sub(r"\1illuminate", text)


def _type_words() -> set[str]:
    return {fold(w) for fragment in device_types().values() for w in fragment.get("x-words", ())}


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


def find_mentions(registry: Registry, text: str) -> Mentions:
    """Find the registry's device words, room names and type words (or type cues) in ``text``."""
    lowered = fold(verbs_read(_SWITCH_VERB.sub("turn", text.lower())))
    vocabulary = room_words(registry.rooms)
    type_words = _type_words()
    # Room words of this home are rooms; others ("garden" where there is no garden) may name a device.
    own_rooms = set(vocabulary.exact) | set(vocabulary.partial)
    # ...and the words of type words ("air" of "air conditioner") name no one device.
    excluded = {w for word in own_rooms | type_words for w in (word, *word.split(), *_pieces(word))}
    # Devices named by a whole name or alias, with no other room, type or "everything" word beside
    # them, are all the words can mean: "把落地灯关了" is about the floor lamp, not every light.
    found = find_rooms(registry.rooms, lowered)
    # A room named partly ("bedroom" for "Bedroom 2") counts when no room is named fully.
    rooms, near = (found.exact, found.partial) if found.exact else (found.partial, frozenset())
    rest = lowered
    exact: set[str] = set()
    sharing: set[str] = set()
    # Longest phrases first, across devices: "排风扇" is the extractor fan before "风扇" is the other fan.
    # A name several devices share means all of them. A name that is only a type word ("Light", 空调)
    # names its device only when no other name is there: in "the Hue light" it is the type.
    phrases = _phrases(registry)
    for pass_words in ([p for p in phrases if p not in type_words], [p for p in phrases if p in type_words]):
        if exact and pass_words and pass_words[0] in type_words:
            break
        for phrase in pass_words:
            if _contains(rest, phrase):
                owners = {d.id for d in registry if phrase in (fold(p) for p in (d.name, *d.aliases))}
                kind = {d.type for d in registry if d.id in owners}
                if phrase in type_words and len([d for d in registry if d.type in kind and d.room in rooms]) > len(
                        [d for d in registry if d.id in owners and d.room in rooms]):
                    continue  # "卧室的加湿器" where one of the room's two humidifiers is named 加湿器: the type
                exact |= owners
                if len(owners) > 1:
                    sharing |= owners
                rest, _ = _blank(rest, phrase)
    # Words of names count where no whole name took them: "Robot vacuum全部打开" is the two devices
    # named so, not also the "Roomba" whose words overlap.
    # A name made only of room and type words ("客厅的灯") says no more than the room and the type do.
    named = {d.id for d in registry if d.id in exact and any(
        _contains(lowered, p) and _own_words(p, excluded) for p in (fold(n) for n in (d.name, *d.aliases)))}
    devices = named | {d for word, ids in _device_words(registry, excluded).items() if _contains(rest, word)
                       for d in ids}
    if not exact and (started := started_appliances(registry, lowered)):
        exact, devices = set(started), devices | started
    # A room word inside a device's own name ("Garage light", "the porch light" for "Front porch light")
    # is that device, not a missing room.
    hits = {w for w in type_words if _contains(lowered, w)}
    # Plurals the schema does not list ("the ACs", "humidifiers", "switches") are the type's too.
    plurals = {w for w in type_words if w.isascii() and not _contains(lowered, w)
               and any(_contains(lowered, w + end) for end in ("s", "es"))}
    hits |= plurals
    types = {t for t, fragment in device_types().items() if any(fold(w) in hits for w in fragment.get("x-words", ()))}
    plurals |= {w for w in hits if w.endswith("s") and w[:-1] in hits | type_words}
    if rooms and any(not w.isascii() for w in hits):
        # Chinese does not mark the plural: "浴室的灯" is the bathroom's lights.
        plurals.add("灯们")
    if not types:
        # "Turn the brightness up": the value's own word means the type, as its plural would.
        types = {t for t, fragment in device_types().items()
                 if any(_contains(lowered, w) for w in fragment.get("x-value", {}).get("words", ()))}
        plurals |= {f"{t}s" for t in types}
    cued = not types
    if cued:
        types = {t for t, fragment in device_types().items()
                 if any(_contains(lowered, w) for w in (*fragment.get("x-cues", ()), *_complaint_words(t)))}
    # A room word inside the name of a device of the kind asked for ("the porch light" for "Front porch
    # light") is that device; otherwise ("the patio lights" where only the blinds say patio) the home
    # lacks that room.
    fitting_names = [fold(p) for d in registry if not types or d.type in types for p in (d.name, *d.aliases)]
    unknown = frozenset(w for w in find_rooms(registry.rooms, rest).unknown
                        if not any(_contains(p, w) for p in fitting_names))
    # "所有的灯全部关掉": a type word makes "全部关" all of that type, not everything.
    everything = (cued or not types) and any(_contains(lowered, w) for w in EVERYTHING_WORDS)
    counted = lowered
    for phrase in NOT_QUANTIFIERS:
        counted, _ = _blank(counted, phrase)
    for phrase in NOT_QUANTIFIERS:
        rest, _ = _blank(rest, phrase)
    named_more = any(_contains(rest, w) for w in (*vocabulary.words, *type_words, *EVERYTHING_WORDS, *QUANTIFIERS))
    return Mentions(frozenset(devices), rooms, frozenset(types), everything, unknown,
                    frozenset(exact) if exact and not named_more else frozenset(), cued and bool(types),
                    everything or any(_contains(counted, w) for w in QUANTIFIERS), bool(plurals),
                    tuple(sorted(w for w in hits - plurals if w.isascii())), near, frozenset(sharing))


def _fits(target: Target, mentions: Mentions) -> bool:
    members = target.members
    rooms = {d.room for d in members}
    kinds = {d.type for d in members}
    if ({d.id for d in members} <= mentions.devices and (not mentions.rooms or rooms <= mentions.rooms)
            and (mentions.cued or not mentions.types or kinds <= mentions.types)):
        return True
    if mentions.everything and len(kinds) > 1:
        # "everything in the kitchen" is the kitchen's group; "everything" alone the house-wide one.
        return rooms <= mentions.rooms if mentions.rooms else len(rooms) > 1
    if not (mentions.rooms or mentions.types):
        return False
    return (not mentions.rooms or rooms <= mentions.rooms) and (not mentions.types or kinds <= mentions.types)


def named_by(targets: Sequence[Target], words: Sequence[str]) -> tuple[Target, ...]:
    """The single devices among ``targets`` whose own names or aliases contain one of ``words``."""
    return tuple(t for t in targets if not t.is_group
                 and any(_contains(p.lower(), w) for d in t.members for p in (d.name, *d.aliases) for w in words))


def widest(targets: Sequence[Target]) -> tuple[Target, ...]:
    """The targets no other one of them contains: a room's lights rather than one of its lights."""
    members = [frozenset(d.id for d in t.members) for t in targets]
    return tuple(t for t, own in zip(targets, members, strict=True) if not any(own < other for other in members))


def fitting_targets(registry: Registry, mentions: Mentions) -> tuple[Target, ...]:
    """Targets that fit what the words name; none when they name nothing or nothing fits."""
    if mentions.empty:
        return ()
    if mentions.exact:
        return tuple(t for t in registry.targets if not t.is_group and t.id in mentions.exact)
    fitting = tuple(t for t in registry.targets if _fits(t, mentions))
    if not fitting and mentions.near:
        # "The bedroom fan" when the room called bedroom has none but "Bedroom 2" has one.
        fitting = tuple(t for t in registry.targets if _fits(t, replace(mentions, rooms=mentions.near)))
    if mentions.everything and not mentions.types:
        # "Everything in the bedroom": the room's group of every kind; without one, each device there
        # that switches on and off (never the curtains).
        groups = tuple(t for t in fitting if len({d.type for d in t.members}) > 1)
        singles = tuple(t for t in registry.targets if not t.is_group and set(GROUP_WIDE_ACTIONS) & set(t.actions)
                        and (not mentions.rooms or t.members[0].room in mentions.rooms))
        fitting = groups or singles
    named_types = {d.type for d in registry if d.id in mentions.devices}
    if mentions.devices and mentions.types <= named_types:
        # "The reading nook lights": the device the words name beats the group their type word means.
        named = tuple(t for t in fitting if {d.id for d in t.members} <= mentions.devices)
        if named:
            return named
    return fitting


def candidate_targets(registry: Registry, mentions: Mentions) -> tuple[Target, ...]:
    """Targets that fit what the words name; every target when they name nothing or nothing fits."""
    return fitting_targets(registry, mentions) or registry.targets
