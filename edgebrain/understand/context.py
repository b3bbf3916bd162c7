"""What a conversation adds to the words: the room the speaker is in, and the previous turn's devices,
action and value. Rules by class (x-conversation): words that name nothing of the home but refer ("turn it
off") mean the previous turn's devices; a room or a kind named alone ("and the bedroom", "the fan too") is
the previous turn's kind in that room, or its room for that kind; a kind without a room is the speaker's
room's, where it has one. A reference without a previous turn, or one that could mean several groups,
moves nothing and asks."""

from __future__ import annotations

from dataclasses import dataclass, replace

from edgebrain.devices.registry import Device, Registry
from edgebrain.understand.words.mentions import Mentions, type_words
from edgebrain.understand.words.rooms import fold
from edgebrain.understand.words.talk import reference, says


@dataclass(frozen=True)
class Context:
    """What a conversation knows when a request arrives: the speaker's room (a satellite's), and the previous
    turn's devices (one group per kind and room), its action and its value."""

    room: str | None = None
    groups: tuple[tuple[str, ...], ...] = ()
    action: str | None = None
    value: float | None = None
    time: str | None = None

    @property
    def devices(self) -> tuple[str, ...]:
        """Every device of the previous turn."""
        return tuple(d for group in self.groups for d in group)


def groups_of(devices: list[Device]) -> tuple[tuple[str, ...], ...]:
    """The devices of one turn as groups of one kind in one room ("the kitchen light and the fan": two)."""
    grouped: dict[tuple[str, str | None], list[str]] = {}
    for device in devices:
        grouped.setdefault((device.type, device.room), []).append(device.id)
    return tuple(tuple(ids) for ids in grouped.values())


@dataclass(frozen=True)
class Resolved:
    """The words' mentions with the conversation's part in them; ``ask``: not None when the words cannot be
    read without asking (the choices, empty when there is no previous turn); ``recalled``: the previous turn
    gave the devices or their kind."""

    mentions: Mentions
    ask: tuple[tuple[str, ...], ...] | None = None
    recalled: bool = False


def _with_devices(mentions: Mentions, ids: tuple[str, ...]) -> Mentions:
    return replace(mentions, devices=frozenset(ids), exact=frozenset(ids), quantified=len(ids) > 1)


def _room_has(registry: Registry, room: str | None, types: frozenset[str]) -> bool:
    return room is not None and any(d.room == room and d.type in types for d in registry)


def typed_names(registry: Registry, mentions: Mentions) -> frozenset[str]:
    """The devices the words name only by a name several share ("the ceiling light" of five rooms) or by a
    name that is a type word ("AC", 空调): which of them is meant depends on the room."""
    if not mentions.exact or mentions.rooms:
        return frozenset()
    by_type = all(any(fold(p) in type_words() for p in (d.name, *d.aliases))
                  for d in registry if d.id in mentions.exact)
    return mentions.exact if by_type or mentions.exact <= mentions.sharing else frozenset()


def as_kinds(registry: Registry, mentions: Mentions, named: frozenset[str]) -> Mentions:
    """The mentions with devices named by their kind's word read as that kind ("the AC": any AC)."""
    kinds = frozenset(d.type for d in registry if d.id in named)
    return replace(mentions, exact=mentions.exact - named, devices=mentions.devices - named,
                   sharing=mentions.sharing - named, types=mentions.types | kinds)


def _in_room(registry: Registry, mentions: Mentions, typed: frozenset[str], room: str) -> Mentions | None:
    """The mentions narrowed to one room: the named devices there, else the kinds named there; None when the
    room has neither."""
    named = frozenset(d.id for d in registry if d.id in typed and d.room == room)
    if named:
        return replace(mentions, exact=named, devices=named, sharing=mentions.sharing & named)
    kinds = as_kinds(registry, mentions, typed)
    return replace(kinds, rooms=frozenset({room})) if _room_has(registry, room, kinds.types) else None


def resolve(registry: Registry, mentions: Mentions, words: str, context: Context | None,
            asks_something: bool) -> Resolved:
    """The mentions of ``words`` read in ``context``; ``asks_something``: the words ask for an action or value
    (or are a question), so that a room or a kind named alone is not a repetition of the previous turn."""
    context = context or Context()
    previous = tuple(tuple(d for d in g if registry.get(d) is not None) for g in context.groups)
    previous = tuple(g for g in previous if g)
    devices = [d for g in previous for i in g if (d := registry.get(i)) is not None]
    kinds = frozenset(d.type for d in devices)
    rooms = {d.room for d in devices}
    refers = reference(words)
    named = mentions.devices or mentions.exact or mentions.rooms or mentions.everything or mentions.unknown_rooms
    # A complaint about a kind the previous turn moved ("a little brighter" after the desk lamp) is about it.
    about_previous = not mentions.cued or bool(kinds & mentions.types)
    # Words that name nothing and ask nothing ("thanks") never repeat the previous turn; a reference
    # ("把它调亮一点") refers whatever kind its words hint at.
    if not named and not (mentions.types and not mentions.cued) and (
            refers is not None or (asks_something and about_previous and not (mentions.cued and not previous))):
        if not previous:
            return Resolved(mentions, ask=())
        if refers == "one" and len(previous) > 1:
            return Resolved(mentions, ask=previous)
        return Resolved(_with_devices(mentions, tuple(d for g in previous for d in g)), recalled=True)
    repeats = bool(previous) and (not asks_something or says(words, "again"))
    inherits = bool(previous) and not asks_something  # "the hall light too": the previous action
    if mentions.rooms and not (mentions.types or mentions.devices or mentions.exact or mentions.everything) \
            and repeats:
        # "And the bedroom", 卧室的也打开: the previous turn's kinds in the room named.
        return Resolved(replace(mentions, types=kinds, quantified=True), recalled=True)
    own = next(iter(rooms)) if len(rooms) == 1 else None
    here = says(words, "here") and context.room is not None
    room = context.room if here or not repeats or mentions.cued else own
    typed = typed_names(registry, mentions)
    if typed and not mentions.quantified:
        # "The ceiling light" (one in each room), "the AC": the one in the room of the talk, else the speaker's.
        for candidate in (room, context.room):
            if candidate is not None and (narrowed := _in_room(registry, mentions, typed, candidate)) is not None:
                return Resolved(narrowed, recalled=inherits or candidate == own)
    if mentions.types and not (mentions.rooms or mentions.devices or mentions.exact) and (
            not mentions.quantified or here):
        same = tuple(d.id for d in devices if d.type in mentions.types)
        if same and not here:
            # "风速调到60" after the living room's fan: the fan the talk is about, not every fan.
            return Resolved(_with_devices(mentions, same), recalled=True)
        for candidate in (room, context.room):
            if _room_has(registry, candidate, mentions.types):
                # "The fan too": the fan of the room the talk is about; "turn on the light" from the
                # bedroom's satellite: the bedroom's light.
                return Resolved(replace(mentions, rooms=frozenset({candidate})),  # type: ignore[arg-type]
                                recalled=inherits or candidate == own)
    if context.room and mentions.everything and not mentions.rooms and here:
        return Resolved(replace(mentions, rooms=frozenset({context.room})), recalled=inherits)
    return Resolved(mentions, recalled=inherits and not mentions.empty)
