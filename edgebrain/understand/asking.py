"""Questions about the home read into the devices they cover ("are any lights on in the kitchen?", 哪些灯开着),
by the same words that name a command's devices, the speaker's room and the previous turn; never a command."""

from __future__ import annotations

from edgebrain.devices.registry import Registry
from edgebrain.understand.context import Context, as_kinds, resolve, typed_names
from edgebrain.understand.words.mentions import find_mentions, fitting_targets, named_by
from edgebrain.understand.words.talk import Question, asked, says
from edgebrain.understand.words.vocabulary import unsupported

_MANY = ("any", "all", "which", "how_many")


def read_question(registry: Registry, cleaned: str, context: Context | None
                  ) -> tuple[Question | None, tuple[tuple[str, ...], ...] | None]:
    """The question the words ask and the devices it covers; or, when it refers to nothing it could
    mean, no question and the choices to ask about (empty when there is no previous turn)."""
    shape = asked(cleaned)
    if refused := unsupported(registry, cleaned):
        return Question(shape.shape, shape.state, (), refused), None
    mentions = find_mentions(registry, cleaned)
    if mentions.unknown_rooms and not (mentions.rooms or mentions.exact):
        return Question(shape.shape, shape.state, (), f"this home has no {sorted(mentions.unknown_rooms)[0]}"), None
    if shape.shape in _MANY and (typed := typed_names(registry, mentions)):
        # "Are any ACs on?" where two are called 空调: every AC, not the two called so.
        mentions = as_kinds(registry, mentions, typed)
    resolved = resolve(registry, mentions, cleaned, context, asks_something=True)
    if resolved.ask is not None:
        return None, resolved.ask
    mentions = resolved.mentions
    room = context.room if context is not None else None
    if mentions.empty:
        if shape.shape not in _MANY and not says(cleaned, "here"):
            return Question(shape.shape, shape.state, (), "nothing in this home is called that"), None
        # "Is anything on?": every device of the speaker's room, else of the home.
        devices = tuple(d.id for d in registry if not d.members and (room is None or d.room == room))
        return Question(shape.shape, shape.state, devices), None
    fitting = fitting_targets(registry, mentions)
    if not fitting:
        kinds = " or ".join(sorted(mentions.types)) or "such device"
        where = f"the {sorted(mentions.rooms)[0]} has" if mentions.rooms else "this home has"
        return Question(shape.shape, shape.state, (), f"{where} no {kinds}"), None
    if shape.shape not in _MANY and not (mentions.whole or mentions.everything):
        # "Is the bedroom light on?": of the room's lights, the one whose own name says light.
        named = named_by(fitting, mentions.singular)
        fitting = named if len(named) == 1 else fitting
    covered = {d.id for t in fitting for d in t.members}
    return Question(shape.shape, shape.state, tuple(d.id for d in registry if d.id in covered)), None
