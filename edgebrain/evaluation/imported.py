"""Homes as a broker would announce them: each registry of a suite written as zigbee2mqtt's ``bridge/devices``
and Home Assistant discovery configs, imported back with an overlay that only translates (the other
names), so that ``bench --homes N --imported`` measures understanding on imported registries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from edgebrain.devices.discovery_import import read_discovery
from edgebrain.devices.home import assemble
from edgebrain.devices.registry import Device, Registry
from edgebrain.devices.zigbee2mqtt import read_zigbee2mqtt
from edgebrain.evaluation.bench import Case

_SET = 0b111  # published, settable and gettable: zigbee2mqtt's access bits of a plain feature
_Z2M = {  # the exposes zigbee2mqtt announces for each type it has
    "light": [{"type": "light", "features": [
        {"type": "binary", "name": "state", "property": "state", "access": _SET, "value_on": "ON", "value_off": "OFF",
         "value_toggle": "TOGGLE"},
        {"type": "numeric", "name": "brightness", "property": "brightness", "access": _SET, "value_min": 0,
         "value_max": 254}]}],
    "switch": [{"type": "switch", "features": [
        {"type": "binary", "name": "state", "property": "state", "access": _SET, "value_on": "ON", "value_off": "OFF",
         "value_toggle": "TOGGLE"}]}],
    "cover": [{"type": "cover", "features": [
        {"type": "enum", "name": "state", "property": "state", "access": 3, "values": ["OPEN", "CLOSE", "STOP"]},
        {"type": "numeric", "name": "position", "property": "position", "access": _SET, "value_min": 0,
         "value_max": 100}]}],
}
_COMPONENT = {"light": "light", "switch": "switch", "fan": "fan", "cover": "cover", "ac": "climate",
              "humidifier": "humidifier"}


def _discovery(device: Device) -> tuple[str, dict[str, Any]]:
    base = f"home/{device.id}"
    config: dict[str, Any] = {"name": None, "unique_id": device.id, "~": base, "command_topic": "~/set",
                              "device": {"identifiers": [device.id], "name": device.name,
                                         **({"suggested_area": device.room} if device.room else {})}}
    extra: dict[str, dict[str, Any]] = {
        "light": {"brightness_command_topic": "~/brightness", "brightness_scale": 100},
        "fan": {"percentage_command_topic": "~/speed"},
        "cover": {"set_position_topic": "~/position"},
        "ac": {"mode_command_topic": "~/mode", "modes": ["off", "cool"], "temperature_command_topic": "~/target",
               "min_temp": "16", "max_temp": "30"},
        "humidifier": {"target_humidity_command_topic": "~/target", "min_humidity": 30, "max_humidity": 80},
    }
    config.update(extra.get(device.type, {}))
    if device.type == "ac":
        del config["command_topic"]
    return f"homeassistant/{_COMPONENT[device.type]}/{device.id}/config", config


def announced(registry: Registry) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The registry as announcements: lights, switches and covers by zigbee2mqtt (friendly name
    ``<room>/<name>``), the rest (and a second device of one name in one room) by MQTT discovery (the
    room as its device's suggested area)."""
    entries: list[dict[str, Any]] = []
    configs: list[tuple[str, bytes]] = []
    names: set[str] = set()
    for number, device in enumerate(registry):
        name = f"{device.room}/{device.name}" if device.room else device.name
        if device.type in _Z2M and name not in names:  # zigbee2mqtt's friendly names are unique
            names.add(name)
            entries.append({"friendly_name": name, "ieee_address": f"0x{number:016x}", "type": "Router",
                            "supported": True, "definition": {"exposes": _Z2M[device.type]}})
        else:
            topic, config = _discovery(device)
            configs.append((topic, json.dumps(config, ensure_ascii=False).encode()))
    return json.dumps(entries, ensure_ascii=False).encode(), configs


def imported_home(registry: Registry, cases: Sequence[Case]) -> tuple[Registry, tuple[Case, ...]]:
    """The registry its announcements make, with the other names (a translation) given by the overlay,
    and the cases with that registry's device ids."""
    devices_list, configs = announced(registry)
    imported = read_zigbee2mqtt(devices_list, None) + read_discovery(configs)
    by_key = {d.id: d for d in registry}
    by_name: dict[str, Device] = {}
    for device in registry:  # the first of a name is zigbee2mqtt's, as announced() made them
        by_name.setdefault(f"{device.room}/{device.name}" if device.room else device.name, device)
    original = {f.key: by_name[f.key] if f.device.source == "zigbee2mqtt" else by_key[f.key]
                for f in imported.found}
    overlay = {key: ({"aliases": list(device.aliases)}, "the translation") for key, device in original.items()
               if device.aliases}
    result = assemble([], overlay, imported)
    ids = {original[row.key].id: row.device.id for row in result.rows}
    return result.registry, tuple(Case(c.text, c.now, tuple(sorted(_renamed(k, ids) for k in c.commands)),
                                       c.category) for c in cases)


def _renamed(key: str, ids: dict[str, str]) -> str:
    command = json.loads(key)
    if "device" in command:
        command["device"] = ids.get(command["device"], command["device"])
    return json.dumps(command, sort_keys=True, ensure_ascii=False)
