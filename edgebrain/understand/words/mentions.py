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
from functools import cache, lru_cache

from edgebrain.base.schemas import (
    action_words,
    device_types,
    group_words,
)
from edgebrain.devices.registry import GROUP_WIDE_ACTIONS, Registry, Target
from edgebrain.understand.words.rooms import Sieve, blank, blank_all, find_rooms, fold, room_words
from edgebrain.understand.words.rooms import contains as _contains
from edgebrain.understand.words.vocabulary import (
    complaint_words,
    name_sieve,
    phrase_owners,
    started_appliances,
    verbs_read,
)

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
    kinds: tuple[str, ...] = ()  # words for one kind of a type (x-kinds): "the blinds", not the garage door

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


@lru_cache(maxsize=64)
def _excluded(registry: Registry) -> tuple[str, ...]:
    """Words that never point at one device, longest first: this home's room words (others, like
    "garden" where there is no garden, may name a device), the words and pieces of type words ("air" of
    "air conditioner"), and the schema's action words ("关灯" inside 玄关灯 asks for off)."""
    vocabulary = room_words(registry.rooms)
    own_rooms = set(vocabulary.exact) | set(vocabulary.partial)
    words = {w for word in own_rooms | type_words() | _action_word_set()
             for w in (word, *word.split(), *_pieces(word))}
    return tuple(sorted(words, key=len, reverse=True))


@lru_cache(maxsize=64)
def _room_and_type_words(registry: Registry) -> tuple[str, ...]:
    """This home's room words and the type words, whole, longest first (no pieces: 落地 of 落地扇 is no type)."""
    vocabulary = room_words(registry.rooms)
    words = {w for word in {*vocabulary.exact, *vocabulary.partial, *type_words()} for w in (word, *word.split())}
    return tuple(sorted(words, key=len, reverse=True))


@lru_cache(maxsize=256)
def _fitting_names(registry: Registry, types: frozenset[str]) -> tuple[str, ...]:
    """The names and aliases of devices of these types (of every device when no type is given)."""
    kind_of = {d.id: d.type for d in registry}
    return tuple(p for p, ids in phrase_owners(registry).items() if not types or any(kind_of[i] in types for i in ids))


@lru_cache(maxsize=64)
def _words(registry: Registry) -> Sieve:
    """Each word pointing at devices."""
    return Sieve(_device_words(registry))


@lru_cache(maxsize=1024)
def _own_words(registry: Registry, phrase: str) -> bool:
    """True when a name has words of its own beside room and type words ("客厅的灯" has none; 落地灯 has)."""
    return bool(blank_all(phrase.replace("的", " "), _room_and_type_words(registry)).strip())


def _pieces(phrase: str) -> set[str]:
    """The Chinese two-character pieces of a phrase."""
    return {run[i:i + 2] for run in _CJK.findall(phrase) for i in range(len(run) - 1)}


@lru_cache(maxsize=64)
def _device_words(registry: Registry) -> dict[str, frozenset[str]]:
    """Words that point at devices: whole names and aliases, and the words and Chinese two-character
    pieces of them that are not room, type or grammar words, each with the devices it points at."""
    excluded = set(_excluded(registry))
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


@cache
def _action_word_set() -> frozenset[str]:
    return frozenset(fold(w) for words in action_words().values() for w in words if "*" not in w)


@cache
def _kinds() -> dict[str, tuple[str, ...]]:
    """Words that name one kind of a type (x-kinds in the command schema: "blinds", 百叶窗), each with
    the words of the names of devices of that kind, in any script ("blind", 百叶)."""
    return {fold(word): tuple(fold(n) for n in kind["names"])
            for fragment in device_types().values() for kind in fragment.get("x-kinds", ()) for word in kind["words"]}


@cache
def type_words() -> frozenset[str]:
    """Every type word of the schema, folded ("light", "空调", "air conditioner")."""
    return frozenset(fold(w) for fragment in device_types().values() for w in fragment.get("x-words", ()))


def find_mentions(registry: Registry, text: str) -> Mentions:
    """Find the registry's device words, room names and type words (or type cues) in ``text``."""
    lowered = fold(verbs_read(_SWITCH_VERB.sub("turn", text.lower())))
    vocabulary = room_words(registry.rooms)
    kind_words = type_words()
    found = find_rooms(registry.rooms, lowered)
    # A room named partly ("bedroom" for "Bedroom 2") counts when no room is named fully.
    rooms, near = (found.exact, found.partial) if found.exact else (found.partial, frozenset())
    # Devices named by a whole name or alias, with no other room, type or "everything" word beside
    # them, are all the words can mean: "把落地灯关了" is about the floor lamp, not every light.
    rest = lowered
    exact: set[str] = set()
    sharing: set[str] = set()
    # Longest phrases first, across devices: "排风扇" is the extractor fan before "风扇" is the other fan.
    # A name several devices share means all of them. A name that is only a type word ("Light", 空调)
    # names its device only when no other name is there: in "the Hue light" it is the type.
    phrases = phrase_owners(registry)
    here = name_sieve(registry).present(lowered)  # the names the words may hold, longest first
    for pass_words in ([p for p in here if p not in kind_words], [p for p in here if p in kind_words]):
        if exact and pass_words and pass_words[0] in kind_words:
            break
        for phrase in pass_words:
            if _contains(rest, phrase):
                owners = phrases[phrase]
                kind = {d.type for d in registry if d.id in owners}
                if phrase in kind_words and len([d for d in registry if d.type in kind and d.room in rooms]) > len(
                        [d for d in registry if d.id in owners and d.room in rooms]):
                    continue  # "卧室的加湿器" where one of the room's two humidifiers is named 加湿器: the type
                exact |= owners
                if len(owners) > 1:
                    sharing |= owners
                rest, _ = blank(rest, phrase)
    # Words of names count where no whole name took them: "Robot vacuum全部打开" is the two devices
    # named so, not also the "Roomba" whose words overlap.
    # A name made only of room and type words ("客厅的灯") says no more than the room and the type do.
    named = {d for p, ids in phrases.items() if ids & exact and _contains(lowered, p) and _own_words(registry, p)
             for d in ids & exact}
    pointing = _device_words(registry)
    devices = named | {d for word in _words(registry).present(rest) if _contains(rest, word)
                       for d in pointing[word]}
    if not exact and (started := started_appliances(registry, lowered)):
        exact, devices = set(started), devices | started
    hits = {w for w in kind_words if _contains(lowered, w)}
    # Plurals the schema does not list ("the ACs", "humidifiers", "switches") are the type's too.
    plurals = {w for w in kind_words if w.isascii() and not _contains(lowered, w)
               and any(_contains(lowered, w + end) for end in ("s", "es"))}
    hits |= plurals
    types = {t for t, fragment in device_types().items() if any(fold(w) in hits for w in fragment.get("x-words", ()))}
    plurals |= {w for w in hits if w.endswith("s") and w[:-1] in hits | kind_words}
    # Chinese does not mark the plural: "浴室的灯" is the bathroom's lights.
    # (Not the 灯 inside a device's own name: "二楼走廊的落地灯" is the hallway's floor lamp.)
    plural = bool(plurals) or bool(rooms and any(not w.isascii() and _contains(rest, w) for w in hits))
    if not types:
        # "Turn the brightness up": the value's own word means the type, as its plural would.
        types = {t for t, fragment in device_types().items()
                 if any(_contains(lowered, w) for w in fragment.get("x-value", {}).get("words", ()))}
        plural = plural or bool(types)
    cued = not types
    if cued:
        types = {t for t, fragment in device_types().items()
                 if any(_contains(lowered, w) for w in (*fragment.get("x-cues", ()), *complaint_words(t)))}
    # A room word inside the name of a device of the kind asked for ("the porch light" for "Front porch
    # light") is that device; otherwise ("the patio lights" where only the blinds say patio) the home
    # lacks that room.
    unknown = frozenset(w for w in find_rooms(registry.rooms, rest).unknown
                        if not any(_contains(p, w) for p in _fitting_names(registry, frozenset(types))))
    # "所有的灯全部关掉": a type word makes "全部关" all of that type, not everything.
    counted = blank_all(lowered, NOT_QUANTIFIERS)
    everything = (cued or not types) and any(_contains(counted, w) for w in EVERYTHING_WORDS)
    rest = blank_all(rest, NOT_QUANTIFIERS)
    named_more = any(_contains(rest, w) for w in (*vocabulary.words, *kind_words, *EVERYTHING_WORDS, *QUANTIFIERS))
    # A kind word that stands alone ("close all the blinds", not inside "Living room blinds" named whole).
    kinds = tuple(sorted(w for w in hits & _kinds().keys() if _contains(rest, w)))
    return Mentions(frozenset(devices), rooms, frozenset(types), everything, unknown,
                    frozenset(exact) if exact and not named_more else frozenset(), cued and bool(types),
                    everything or any(_contains(counted, w) for w in QUANTIFIERS), plural,
                    tuple(sorted(w for w in hits - plurals if w.isascii())), near, frozenset(sharing), kinds)


def _fits(target: Target, mentions: Mentions) -> bool:
    rooms, kinds = target.rooms, target.kinds
    if (target.member_ids <= mentions.devices and (not mentions.rooms or rooms <= mentions.rooms)
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
    # Widest first: a target inside another is inside one of those kept (containment is transitive),
    # so each is compared with the few kept, not with every other (a big home's hundred lights).
    kept: list[frozenset[str]] = []
    for target in sorted(targets, key=lambda t: len(t.member_ids), reverse=True):
        if not any(target.member_ids < other for other in kept):
            kept.append(target.member_ids)
    widest_sets = set(kept)
    return tuple(t for t in targets if t.member_ids in widest_sets)


@dataclass(frozen=True)
class _Index:
    """A registry's targets by their one room and by their one kind; those of several, apart."""

    by_room: dict[str | None, tuple[Target, ...]]
    by_kind: dict[str, tuple[Target, ...]]
    rooms_several: tuple[Target, ...]
    kinds_several: tuple[Target, ...]
    order: dict[str, int]


@lru_cache(maxsize=64)
def _index(registry: Registry) -> _Index:
    by_room: dict[str | None, list[Target]] = {}
    by_kind: dict[str, list[Target]] = {}
    for target in registry.targets:
        if len(target.rooms) == 1:
            by_room.setdefault(next(iter(target.rooms)), []).append(target)
        if len(target.kinds) == 1:
            by_kind.setdefault(next(iter(target.kinds)), []).append(target)
    return _Index({r: tuple(ts) for r, ts in by_room.items()}, {k: tuple(ts) for k, ts in by_kind.items()},
                  tuple(t for t in registry.targets if len(t.rooms) > 1),
                  tuple(t for t in registry.targets if len(t.kinds) > 1),
                  {t.id: i for i, t in enumerate(registry.targets)})


def _pool(registry: Registry, mentions: Mentions) -> Sequence[Target]:
    """The targets that may fit (see _fits), in registry order: with rooms named, only targets within
    them can; with types named (not cued), only targets of them. A big home's hundreds of others are
    never tried."""
    index = _index(registry)
    if mentions.rooms:
        pool = [t for room in mentions.rooms for t in index.by_room.get(room, ())]
        pool += [t for t in index.rooms_several if t.rooms <= mentions.rooms]
    elif mentions.types and not mentions.cued:
        pool = [t for kind in mentions.types for t in index.by_kind.get(kind, ())]
        pool += [t for t in index.kinds_several if t.kinds <= mentions.types]
    else:
        return registry.targets
    return sorted(pool, key=lambda t: index.order[t.id])


@lru_cache(maxsize=256)
def fitting_targets(registry: Registry, mentions: Mentions) -> tuple[Target, ...]:
    """Targets that fit what the words name; none when they name nothing or nothing fits."""
    if mentions.empty:
        return ()
    if mentions.exact:
        return tuple(t for t in registry.targets if not t.is_group and t.id in mentions.exact)
    fitting = tuple(t for t in _pool(registry, mentions) if _fits(t, mentions))
    if not fitting and mentions.near:
        # "The bedroom fan" when the room called bedroom has none but "Bedroom 2" has one.
        nearby = replace(mentions, rooms=mentions.near)
        fitting = tuple(t for t in _pool(registry, nearby) if _fits(t, nearby))
    if mentions.everything and not mentions.types:
        # "Everything in the bedroom": the room's group of every kind; without one, each device there
        # that switches on and off (never the curtains).
        groups = tuple(t for t in fitting if len({d.type for d in t.members}) > 1)
        singles = tuple(t for t in registry.targets if not t.is_group and set(GROUP_WIDE_ACTIONS) & set(t.actions)
                        and (not mentions.rooms or t.members[0].room in mentions.rooms))
        fitting = groups or singles
    if mentions.kinds and not mentions.devices:
        # "All the blinds" are the covers called blinds, not the garage door or the curtains; where no
        # device is called so, the word means its type.
        names = {said for word in mentions.kinds for name in _kinds()[word]
                 for said in ((name, name + "s") if name.isascii() else (name,))}
        called = tuple(t for t in fitting if all(any(_contains(fold(p), name) for p in (d.name, *d.aliases)
                                                     for name in names) for d in t.members))
        fitting = called or fitting
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
