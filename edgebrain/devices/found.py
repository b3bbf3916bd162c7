"""What an import from the broker found: devices with the reasons for their type, room and names, and what
it skipped and why. The importers (zigbee2mqtt, MQTT discovery) are pure functions that return these."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from edgebrain.devices.registry import Device

_ID = re.compile(r"[^a-z0-9]+")
ID_MAX = 64


@dataclass(frozen=True)
class Found:
    """One device an import found. ``key`` is what the YAML overlay names it by (a zigbee2mqtt friendly
    name, a discovery unique id); ``rooms`` are the rooms its source suggests, each with where it came
    from; ``why`` says, a line each, how its type, names and route were chosen."""

    device: Device
    key: str
    rooms: tuple[tuple[str, str], ...] = ()  # (room, where it came from)
    why: tuple[str, ...] = ()
    state_topic: str | None = None

    def with_device(self, **changes: object) -> Found:
        """The same find with some device fields changed."""
        return replace(self, device=replace(self.device, **changes))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Skipped:
    """Something an import did not take, and why (shown by ``edgebrain devices``)."""

    key: str
    reason: str


@dataclass(frozen=True)
class Imported:
    """The result of one import."""

    found: tuple[Found, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    def __add__(self, other: Imported) -> Imported:
        return Imported(self.found + other.found, self.skipped + other.skipped)


def device_id(name: str, taken: Iterable[str] = (), fallback: str = "device") -> str:
    """A registry id for an imported name ("Kitchen Light" -> kitchen_light, "0x00158d…" -> d_0x00158d…),
    made unique against ``taken`` with a numeric suffix; from ``fallback`` when the name has no Latin
    letters ("客厅灯" would be an id of digits or nothing)."""
    base = _ID.sub("_", name.lower()).strip("_")
    if not any("a" <= ch <= "z" for ch in base):
        base = _ID.sub("_", fallback.lower()).strip("_") or "device"
    if not base[0].isalpha():
        base = f"d_{base}"
    base = base[:ID_MAX]
    used = set(taken)
    candidate, number = base, 2
    while candidate in used:
        suffix = f"_{number}"
        candidate, number = base[: ID_MAX - len(suffix)] + suffix, number + 1
    return candidate


def readable(name: str) -> str:
    """A name people say: underscores and dashes as spaces, one space between words."""
    return " ".join(re.sub(r"[_\-]+", " ", name).split())
