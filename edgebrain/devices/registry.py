"""The device registry: devices loaded from devices/*.yaml and the groups a request may name."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from edgebrain.base.errors import RegistryError
from edgebrain.base.schemas import data_dir, describe, device_types, load_schema, problems, type_actions, type_range

log = logging.getLogger(__name__)

# Room-wide and house-wide requests ("everything in the kitchen off") only make sense for these.
GROUP_WIDE_ACTIONS = ("on", "off")


@dataclass(frozen=True)
class Device:
    """One device of the registry."""

    id: str
    type: str
    name: str
    room: str | None = None
    aliases: tuple[str, ...] = ()
    mqtt: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    gpio: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    source: str = field(default="", compare=False)

    @property
    def actions(self) -> tuple[str, ...]:
        """Actions this device takes."""
        return type_actions(self.type)

    @property
    def value_range(self) -> tuple[int, int] | None:
        """Inclusive range of the value of ``set``, or None."""
        return type_range(self.type)

    @property
    def chinese_name(self) -> str:
        """Its name in Chinese: its first Chinese alias, else its name."""
        return next((a for a in self.aliases if any("\u3400" <= ch <= "\u9fff" for ch in a)), self.name)

    @property
    def members(self) -> tuple[str, ...]:
        """The ids of the devices a bridge's group stands for (empty for a device of its own)."""
        return tuple((self.mqtt or {}).get("members", ()))


@dataclass(frozen=True)
class Target:
    """A name the model may emit: one device, or a group that code expands to its devices."""

    id: str
    members: tuple[Device, ...]
    actions: tuple[str, ...]
    description: str

    @cached_property
    def member_ids(self) -> frozenset[str]:
        """The ids of its devices."""
        return frozenset(d.id for d in self.members)

    @cached_property
    def rooms(self) -> frozenset[str | None]:
        """The rooms of its devices."""
        return frozenset(d.room for d in self.members)

    @cached_property
    def kinds(self) -> frozenset[str]:
        """The types of its devices."""
        return frozenset(d.type for d in self.members)

    @property
    def is_group(self) -> bool:
        """True when this target stands for several devices."""
        return len(self.members) != 1 or self.members[0].id != self.id

    def value_range(self) -> tuple[int, int] | None:
        """Range of ``set`` valid for every member, or None when set is not possible."""
        if "set" not in self.actions:
            return None
        ranges = [r for r in (d.value_range for d in self.members) if r is not None]
        low, high = max(r[0] for r in ranges), min(r[1] for r in ranges)
        return (low, high) if low <= high else None

    def expand(self, action: str) -> tuple[Device, ...]:
        """Members that take ``action``, in registry order."""
        return tuple(d for d in self.members if action in d.actions)


def _plural(device_type: str) -> str:
    return {"switch": "switches", "ac": "acs"}.get(device_type, device_type + "s")


def _room_key(room: str) -> str:
    return room.replace(" ", "_")


class Registry:
    """An ordered, validated collection of devices."""

    def __init__(self, devices: Iterable[Device]):
        self.devices: tuple[Device, ...] = tuple(devices)
        self._by_id = {d.id: d for d in self.devices}
        # A group never shadows a device or an earlier group of the same name.
        self._targets_by_id: dict[str, Target] = {}
        for target in self._build_targets():
            self._targets_by_id.setdefault(target.id, target)
        self.targets: tuple[Target, ...] = tuple(self._targets_by_id.values())

    def __iter__(self) -> Iterator[Device]:
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)

    def get(self, device_id: str) -> Device | None:
        """The device with this id, or None."""
        return self._by_id.get(device_id)

    def target(self, target_id: str) -> Target:
        """The target (device or group) with this id."""
        return self._targets_by_id[target_id]

    def union(self, targets: Iterable[Target]) -> Target:
        """One target for the devices of several ("the bedside lamps", a name two devices share), with
        the actions any of them takes (each action reaches the members that take it)."""
        ids = {d.id for t in targets for d in t.members}
        members = tuple(d for d in self.devices if d.id in ids)
        for target in self.targets:
            if {d.id for d in target.members} == ids:
                return target
        actions = tuple(dict.fromkeys(a for d in members for a in d.actions))
        target = Target("+".join(d.id for d in members), members, actions,
                        " and ".join(d.name.lower() for d in members))
        self._targets_by_id.setdefault(target.id, target)
        return target

    @cached_property
    def rooms(self) -> tuple[str, ...]:
        """Rooms in order of first appearance."""
        return tuple(dict.fromkeys(d.room for d in self.devices if d.room))

    def _build_targets(self) -> Iterator[Target]:
        for device in self.devices:
            yield Target(device.id, (device,), device.actions, device.name)
        # Groups are offered only where they add something: two or more devices behind one name. A bridge's
        # group is a target by its own name only: a kind or the whole home reaches each device once.
        single = [d for d in self.devices if not d.members]
        types = dict.fromkeys(d.type for d in single)
        for room in self.rooms:
            in_room = [d for d in single if d.room == room]
            for device_type in types:
                members = tuple(d for d in in_room if d.type == device_type)
                if len(members) >= 2:
                    yield Target(
                        f"{_room_key(room)}_{_plural(device_type)}", members,
                        type_actions(device_type), f"all {_plural(device_type)} in the {room}",
                    )
            wide = tuple(d for d in in_room if set(GROUP_WIDE_ACTIONS) & set(d.actions))
            if len(wide) >= 2:
                yield Target(f"{_room_key(room)}_all", wide, GROUP_WIDE_ACTIONS,
                             f"every device in the {room}")
        for device_type in types:
            members = tuple(d for d in single if d.type == device_type)
            if len(members) >= 2:
                yield Target(f"all_{_plural(device_type)}", members, type_actions(device_type),
                             f"all {_plural(device_type)} in the home")
        wide = tuple(d for d in single if set(GROUP_WIDE_ACTIONS) & set(d.actions))
        if len(wide) >= 2:
            yield Target("everything", wide, GROUP_WIDE_ACTIONS, "every device in the home")


def _validate_file(path: Path, document: Any) -> dict[str, Any]:
    errors = problems(load_schema("devices"), document)
    if errors:
        first = errors[0]
        device = ""
        path_items = list(first.absolute_path)
        if len(path_items) >= 2 and path_items[0] == "devices" and isinstance(path_items[1], int):
            item = document["devices"][path_items[1]]
            ident = item.get("id") if isinstance(item, dict) else None
            device = f" device {ident!r} (item {path_items[1] + 1})" if ident else f" item {path_items[1] + 1}"
        elif len(path_items) >= 2 and path_items[0] == "overlay":
            device = f" overlay {path_items[1]!r}"
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise RegistryError(f"{path}:{device}: {describe(first)}{more}")
    return dict(document)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read: {exc.strerror}") from exc
    return _validate_file(path, {"devices": []} if document is None else document)


def load_file(path: Path) -> list[Device]:
    """Load and validate one registry YAML file."""
    return _devices_of(_read_file(path), path)


def _devices_of(document: dict[str, Any], path: Path) -> list[Device]:
    items: list[dict[str, Any]] = document.get("devices", [])
    return [
        Device(
            id=item["id"], type=item["type"], name=item["name"], room=item.get("room"),
            aliases=tuple(item.get("aliases", ())), mqtt=item.get("mqtt"), gpio=item.get("gpio"),
            source=str(path),
        )
        for item in items
    ]


def load_folder(directory: str | Path | None = None) -> tuple[list[Device], dict[str, tuple[dict[str, Any], str]]]:
    """Every device of a registry folder's ``*.yaml``/``*.yml`` files (default: the shipped example), and
    the overlay for imported devices: key -> (what to change, the file that says so)."""
    folder = Path(directory) if directory is not None else data_dir("devices")
    if not folder.is_dir():
        raise RegistryError(f"{folder}: device registry folder does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise RegistryError(f"{folder}: no *.yaml device files in the registry folder")
    known_types = set(device_types())
    devices: list[Device] = []
    seen: dict[str, Device] = {}
    overlay: dict[str, tuple[dict[str, Any], str]] = {}
    for path in files:
        document = _read_file(path)
        for device in _devices_of(document, path):
            if device.type not in known_types:
                raise RegistryError(f"{path}: device {device.id!r}: type {device.type!r} has no actions "
                                    "in command.schema.json")
            if device.id in seen:
                raise RegistryError(f"{path}: device {device.id!r}: duplicate id, already defined in "
                                    f"{seen[device.id].source}")
            seen[device.id] = device
            devices.append(device)
        for key, change in document.get("overlay", {}).items():
            if key in overlay:
                raise RegistryError(f"{path}: overlay {key!r}: already set in {overlay[key][1]}")
            overlay[key] = (change, str(path))
    return devices, overlay


def load_registry(directory: str | Path | None = None) -> Registry:
    """Load every ``*.yaml``/``*.yml`` file of a folder (default: the shipped example registry)."""
    devices, _ = load_folder(directory)
    if not devices:
        folder = Path(directory) if directory is not None else data_dir("devices")
        raise RegistryError(f"{folder}: the registry has no devices")
    log.debug("loaded %d devices from %s", len(devices), directory or "the example registry")
    return Registry(devices)
