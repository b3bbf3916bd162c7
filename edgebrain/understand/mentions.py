"""What an utterance mentions: devices, rooms and device types, found by their words in code.

A small model picks the wrong device when it has every device to choose from. When the words name
devices, rooms or types (or hint at a type: "too dark" is about lights), only the targets they fit
stay in the grammar and the model chooses among those; when they name nothing, every target stays
and the model may also answer "none".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..registry import Registry, Target
from ..schemas import action_words, device_types, type_complaints, value_units

# Room names people use, for the English room keys of a registry; rooms a registry lacks are how
# "turn on the garage light" is known to be about something that is not there.
ROOM_WORDS: dict[str, tuple[str, ...]] = {
    "living room": ("客厅", "起居室", "lounge"),
    "bedroom": ("卧室", "睡房"),
    "kitchen": ("厨房",),
    "bathroom": ("浴室", "卫生间", "洗手间"),
    "study": ("书房",),
    "dining room": ("餐厅", "饭厅"),
    "hallway": ("走廊", "门厅"),
    "garage": ("车库",),
    "garden": ("花园", "院子"),
    "balcony": ("阳台",),
    "office": ("办公室",),
    "basement": ("地下室",),
}
EVERYTHING_WORDS = ("everything", "all devices", "every device", "all the devices", "电器", "设备", "所有东西",
                    "全部关", "全关", "全开")
QUANTIFIERS = ("all", "every", "both", "全部", "所有", "都", "全")
# Words too common in device names to point at one device by themselves.
_GENERIC = {"light", "lights", "lamp", "room", "living", "main", "machine", "with", "the", "and", "plug",
            "fan", "fans", "air", "conditioner", "conditioning", "counter", "kitchen", "bedroom", "standing"}
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


# "Shut down" and "turn it down to 20" name no direction: one is off, the other a set.
_NOT_DIRECTION = {"shut down": "shut off", "switch down": "switch off", "close down": "close",
                  "turn it down to": "set to", "turn down to": "set to"}
_DIRECTIONS = ("increase", "decrease")


# 开 and 关 alone are verbs only where a request starts ("开厨房灯", "@20:00 开空调", "请关窗帘"); elsewhere
# they are parts of other words (开关 is a switch, 关于 "about"), so they are not in the schema's x-words.
_LEADING_VERB = re.compile(r"(?:^|[\s,，。!！@\d:]|请|帮我|给我|麻烦)([开关])(?![关心始于])")
_LEADING_ACTIONS = {"开": {"on", "open"}, "关": {"off", "close"}}


# "Turn the humidifier up to 60" names a value, not a step up.
_TO_VALUE = re.compile(r"\b(?:up|down) to (?=\d)")


def _named_actions(text: str) -> set[str]:
    lowered = _TO_VALUE.sub("set to ", text.lower())
    for phrase, meaning in _NOT_DIRECTION.items():
        lowered = lowered.replace(phrase, meaning)
    named = {a for a, words in action_words().items() if any(_contains(lowered, w) for w in words)}
    for verb in _LEADING_VERB.findall(lowered):
        named |= _LEADING_ACTIONS[verb]
    return named


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


def _complaint_words(device_type: str) -> tuple[str, ...]:
    return tuple(w for words, _ in type_complaints(device_type) for w in words)


def complaint_actions(registry: Registry, text: str) -> dict[str, tuple[str, ...]]:
    """For each type whose complaint words ("too dark", "太干了") occur, the actions that answer them.

    A complaint rules out the opposite action: "it's too dark" never turns a light off. The small model
    leans towards "off" for complaints, so the grammar keeps only the actions the schema lists, in its
    order: the first one answers the complaint when the words name no action.
    """
    lowered = text.lower()
    # Words inside a device's own name are no complaint: "关掉抽油烟机" names the range hood.
    for phrase in sorted({p.lower() for d in registry for p in (d.name, *d.aliases)}, key=len, reverse=True):
        lowered = lowered.replace(phrase, " ")
    found: dict[str, tuple[str, ...]] = {}
    for device_type in device_types():
        for words, actions in type_complaints(device_type):
            if any(_contains(lowered, w) for w in words):
                found[device_type] = tuple(dict.fromkeys(found.get(device_type, ()) + actions))
    return found


def _contains(text: str, phrase: str) -> bool:
    phrase = phrase.lower()
    if re.search(r"[a-z0-9]", phrase):
        return re.search(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", text) is not None
    return bool(phrase) and phrase in text


def _device_words(phrases: tuple[str, ...], room_words: set[str]) -> set[str]:
    """Whole phrases, their distinctive English words and their Chinese two-character pieces."""
    words = {p.lower() for p in phrases}
    for phrase in phrases:
        words.update(w for w in re.findall(r"[a-z][a-z-]{3,}", phrase.lower()) if w not in _GENERIC)
        for run in _CJK.findall(phrase):
            words.update(run[i:i + 2] for i in range(len(run) - 1))
    return {w for w in words if w not in room_words and "的" not in w}


# "Switch on the lamp" uses the verb; only the noun ("the switch") names the switch type.
_SWITCH_VERB = re.compile(r"\bswitch(?=\s+(?:on|off|it|them|everything|all|every|both|the|my)\b)")


def find_mentions(registry: Registry, text: str) -> Mentions:
    """Find the registry's device words, room names and type words (or type cues) in ``text``."""
    lowered = _SWITCH_VERB.sub("turn", text.lower())
    room_words = {w for room, words in ROOM_WORDS.items() for w in (room, *words)}
    type_words = {w for fragment in device_types().values() for w in fragment.get("x-words", ())}
    devices = {d.id for d in registry
               if any(_contains(lowered, w) for w in
                      _device_words((d.name, d.id.replace("_", " "), *d.aliases), room_words) - type_words)}
    rooms = {room for room in registry.rooms
             if any(_contains(lowered, w) for w in (room, *ROOM_WORDS.get(room, ())))}
    unknown = {room for room, words in ROOM_WORDS.items()
               if room not in registry.rooms and any(_contains(lowered, w) for w in (room, *words))}
    hits = {w.lower() for w in type_words if _contains(lowered, w)}
    types = {t for t, fragment in device_types().items() if any(w.lower() in hits for w in fragment.get("x-words", ()))}
    plurals = {w for w in hits if w.endswith("s") and w[:-1] in hits | {t.lower() for t in type_words}}
    cued = not types
    if cued:
        types = {t for t, fragment in device_types().items()
                 if any(_contains(lowered, w) for w in (*fragment.get("x-cues", ()), *_complaint_words(t)))}
    everything = any(_contains(lowered, w) for w in EVERYTHING_WORDS)
    # Devices named by a whole name or alias, with no other room, type or "everything" word beside
    # them, are all the words can mean: "把落地灯关了" is about the floor lamp, not every light.
    rest = lowered
    exact = set()
    # Longest phrases first, across devices: "排风扇" is the extractor fan before "风扇" is the other fan.
    for phrase, device_id in sorted(((p, d.id) for d in registry for p in (d.name, *d.aliases)),
                                    key=lambda item: -len(item[0])):
        if _contains(rest, phrase):
            exact.add(device_id)
            rest = rest.replace(phrase.lower(), " ")
    named_more = any(_contains(rest, w) for w in (*room_words, *type_words, *EVERYTHING_WORDS, *QUANTIFIERS))
    return Mentions(frozenset(devices), frozenset(rooms), frozenset(types), everything, frozenset(unknown),
                    frozenset(exact) if exact and not named_more else frozenset(), cued and bool(types),
                    everything or any(_contains(lowered, w) for w in QUANTIFIERS), bool(plurals),
                    tuple(sorted(w for w in hits - plurals if w.isascii())))


def _fits(target: Target, mentions: Mentions) -> bool:
    members = target.members
    if {d.id for d in members} <= mentions.devices:
        return True
    rooms = {d.room for d in members}
    kinds = {d.type for d in members}
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
    return tuple(t for t in registry.targets if _fits(t, mentions))


def candidate_targets(registry: Registry, mentions: Mentions) -> tuple[Target, ...]:
    """Targets that fit what the words name; every target when they name nothing or nothing fits."""
    return fitting_targets(registry, mentions) or registry.targets
