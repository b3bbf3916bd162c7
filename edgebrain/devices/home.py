"""The home from every source: the YAML devices, the imported ones with the overlay applied, and each
imported device's room decided from what its sources suggest (never guessed when they disagree)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from edgebrain.base.errors import RegistryError
from edgebrain.base.schemas import device_types, group_words, room_synonyms
from edgebrain.devices.found import Found, Imported, Skipped, device_id, readable
from edgebrain.devices.registry import Device, Registry

log = logging.getLogger(__name__)
# Where a room comes from decides whether it counts as one: a friendly name's path or a suggested area
# names a room by construction; a group or a description counts only where it uses a room word.
_STRONG = ("friendly name", "suggested_area")


@dataclass(frozen=True)
class Row:
    """One imported device as ``edgebrain devices`` shows it: the device, where it came from, and why."""

    device: Device
    key: str
    why: tuple[str, ...]
    room_note: str
    state_topic: str | None


@dataclass(frozen=True)
class Home:
    """The registry built from every source, and the report of how."""

    registry: Registry
    rows: tuple[Row, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...]

    def followed(self) -> tuple[Row, ...]:
        """Every device whose state topic is followed: the imported ones, and the YAML devices over MQTT whose
        state topic is given or follows from a command topic ending in /set."""
        imported = {r.device.id for r in self.rows}
        own = tuple(Row(d, d.id, (), "", topic) for d in self.registry
                    if d.id not in imported and (topic := yaml_state_topic(d)) is not None)
        return self.rows + own

    def unsure_rooms(self) -> tuple[Row, ...]:
        """The imported devices without a room (none suggested, or suggestions that disagree)."""
        return tuple(r for r in self.rows if r.device.room is None and not r.device.members)


def yaml_state_topic(device: Device) -> str | None:
    """Where a YAML device over MQTT says its state: its ``state_topic``, else its command topic without /set."""
    route = device.mqtt or {}
    if route.get("state_topic"):
        return str(route["state_topic"])
    topic = str(route.get("topic", ""))
    return topic[: -len("/set")] if topic.endswith("/set") and len(topic) > len("/set") else None


@cache
def _room_sets() -> tuple[frozenset[str], ...]:
    return tuple(frozenset(w.lower() for w in words) for words in room_synonyms())


def _same_room(room: str) -> str:
    """A room's identity: its synonym set where it has one ("lounge" is the living room), else its words."""
    folded = readable(room).lower()  # readable() leaves one space between words
    for index, words in enumerate(_room_sets()):
        if folded in words:
            return f"#{index}"
    return folded


def _rooms_in(text: str, known: Mapping[str, str]) -> list[str]:
    """The known room words a free text says as whole words (a description such as "lamp in the kitchen"),
    longest first ("living room" before "room")."""
    folded = " " + " ".join(re.sub(r"[^\w']+", " ", text.lower()).split()) + " "
    return sorted((w for w in known if (f" {w} " in folded if w.isascii() else w in folded)), key=len, reverse=True)


def decide_room(hints: Iterable[tuple[str, str]], known: Mapping[str, str]) -> tuple[str | None, str]:
    """The room of an imported device from its hints (room, where from), and the note that says why.
    ``known``: room words (any case) -> the identity of their room, for weak hints."""
    chosen: dict[str, tuple[str, list[str]]] = {}
    for room, where in hints:
        if where.startswith(_STRONG):
            candidates = {_same_room(room): room}
        elif where == "description":
            candidates = {}
            for word in _rooms_in(room, known):
                candidates.setdefault(known[word], word)
        else:
            key = _same_room(room)
            candidates = {key: room} if key in known.values() else {}
        for key, name in candidates.items():
            chosen.setdefault(key, (name, []))[1].append(where)
    if len(chosen) == 1:
        name, wheres = next(iter(chosen.values()))
        return name, f"room {name!r}: from {', '.join(wheres)}"
    if chosen:
        listed = "; ".join(f"{n!r} ({', '.join(w)})" for n, w in chosen.values())
        return None, f"room unsure: {listed}; set it in the overlay"
    return None, "no room: nothing it came with names one; set it in the overlay"


def _known_rooms(devices: Iterable[Device], found: Iterable[Found]) -> dict[str, str]:
    known = {w: f"#{i}" for i, words in enumerate(_room_sets()) for w in words}
    for room in [d.room for d in devices if d.room] + [r for f in found for r, w in f.rooms if w.startswith(_STRONG)]:
        known.setdefault(readable(room).lower(), _same_room(room))
    return known


@cache
def _set_words() -> frozenset[str]:
    """Words that name a set by kind or quantity ("lights", "all", "switches"): a group named only by them and by
    room words says nothing that requests for a room or a kind do not already say."""
    everything, quantifiers, _ = group_words()
    kinds = [w.lower() for t in device_types().values() for w in t.get("x-words", ())]
    return frozenset([*quantifiers, *everything, *kinds, *(w + "s" for w in kinds), *(w + "es" for w in kinds), "the"])


def _names_a_set(name: str, known: Mapping[str, str]) -> bool:
    """True when a group's name is only room and kind words ("Living room", "all_lights", "Switches")."""
    rest = f" {readable(name).lower()} "
    for word in sorted(known, key=len, reverse=True):
        rest = rest.replace(f" {word} ", " ")
    return all(word in _set_words() for word in rest.split())


def _overlaid(found: Found, change: Mapping[str, Any], where: str) -> tuple[Found, list[str]]:
    fields = {k: (tuple(v) if k == "aliases" else v) for k, v in change.items() if k != "exclude"}
    why = [f"{k} {v!r}: from the overlay in {where}" for k, v in fields.items()]
    if "aliases" in fields:  # the imported names stay names too
        fields["aliases"] = tuple(dict.fromkeys((*found.device.aliases, *fields["aliases"])))
    return found.with_device(**fields), why


def assemble(devices: Iterable[Device], overlay: Mapping[str, tuple[Mapping[str, Any], str]],
             imported: Imported) -> Home:
    """One registry: the YAML ``devices`` first, then every imported device the overlay does not exclude,
    with the overlay's changes and a room decided for each; RegistryError when ids collide."""
    yaml_devices = list(devices)
    known = _known_rooms(yaml_devices, imported.found)
    taken = {d.id: f"a device of {d.source}" for d in yaml_devices}
    # One room, one spelling: "Guest Room" from one source and "guest room" from another are the room
    # the YAML (or the first device there) calls it, or requests for it would find half its devices.
    spelled = {_same_room(d.room): d.room for d in yaml_devices if d.room}
    rows: list[Row] = []
    skipped = list(imported.skipped)
    used: set[str] = set()
    for found in imported.found:
        change, where = overlay.get(found.key, ({}, ""))
        if change:
            used.add(found.key)
        if change.get("exclude"):
            skipped.append(Skipped(found.key, f"excluded by the overlay in {where}"))
            continue
        if found.device.members and "name" not in change and _names_a_set(found.device.name, known):
            skipped.append(Skipped(found.key, "a group named only by room or kind words: requests for those "
                                              "reach its members; name it in the overlay to make it a target"))
            continue
        found, why = _overlaid(found, change, where) if change else (found, [])
        room_note = f"room {found.device.room!r}: from the overlay in {where}" if "room" in change else ""
        if not room_note and found.device.members:
            room_note = "no room: a group is a target by its name; a request for a room reaches its members"
        if not room_note:
            room, room_note = decide_room(found.rooms, known)
            found = found.with_device(room=spelled.setdefault(_same_room(room), room) if room else None)
        if found.device.id in taken:
            if "id" in change:
                raise RegistryError(f"overlay {found.key!r} ({where}): id {found.device.id!r} is already "
                                    f"{taken[found.device.id]}")
            new_id = device_id(found.device.id, taken)
            why.append(f"id {new_id!r}: {found.device.id!r} is already {taken[found.device.id]}")
            found = found.with_device(id=new_id)
        if found.device.type not in device_types():
            raise RegistryError(f"overlay {found.key!r}: type {found.device.type!r} is not a device type")
        taken[found.device.id] = f"the device imported as {found.key!r}"
        rows.append(Row(replace(found.device, source=found.device.source or "import"), found.key,
                        (*found.why, *why), room_note, found.state_topic))
    notes = tuple(f"the overlay for {key!r} ({where}) matches no imported device"
                  for key, (_, where) in overlay.items() if key not in used)
    every = yaml_devices + [r.device for r in rows]
    if not every:
        raise RegistryError("the registry has no devices: nothing in the devices folder and nothing imported")
    return Home(Registry(every), tuple(rows), tuple(skipped), notes)
