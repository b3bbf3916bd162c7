"""zigbee2mqtt's home as it announces it: the retained ``<base>/bridge/devices`` and ``bridge/groups`` read
into devices (pure functions), and the JSON an imported device's ``<base>/<name>/set`` takes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command
from edgebrain.devices.found import Found, Imported, Skipped, device_id, readable
from edgebrain.devices.registry import Device

log = logging.getLogger(__name__)

MAX_LIST_BYTES = 8 * 1024 * 1024  # bridge/devices of a few hundred devices is well under a megabyte
SET = 0b010  # the access bit of a feature that can be set (zigbee2mqtt's exposes)
_TOPIC_UNSAFE = re.compile(r"[+#\x00-\x1f]")
# The kinds of zigbee2mqtt's exposes that take commands, and the registry type each becomes.
KINDS = {"light": "light", "switch": "switch", "cover": "cover", "climate": "ac", "fan": "fan"}
# system_mode values that mean "on", in the order one is chosen.
MODES_ON = ("cool", "heat", "auto")
# A fan without a percentage: its modes from slow to fast, and the speed (in %) up to which each is chosen.
FAN_BANDS = (("low", 33), ("medium", 66), ("high", 100))


def _loads(name: str, payload: bytes | None) -> tuple[list[Any] | None, str]:
    if payload is None:
        return None, f"no retained {name} on the broker"
    if len(payload) > MAX_LIST_BYTES:
        return None, f"{name} is {len(payload):,} bytes, over the {MAX_LIST_BYTES:,} read"
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"{name} is not JSON text ({exc})"
    if not isinstance(data, list):
        return None, f"{name} is a JSON {type(data).__name__}, not a list"
    return data, ""


def _list(value: Any) -> list[Any]:
    """``value`` when it is a JSON list, else nothing (a hostile or broken payload has any type anywhere)."""
    return value if isinstance(value, list) else []


def _features(expose: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The features of one expose by name, leaving out configuration and diagnostics."""
    found: dict[str, Mapping[str, Any]] = {}
    for feature in _list(expose.get("features")):
        if isinstance(feature, Mapping) and isinstance(feature.get("name"), str) \
                and isinstance(feature.get("property"), str) \
                and feature.get("category") not in ("config", "diagnostic"):
            found.setdefault(feature["name"], feature)
    return found


def _settable(feature: Mapping[str, Any] | None) -> bool:
    return feature is not None and isinstance(feature.get("access"), int) and bool(feature["access"] & SET)


def _range(feature: Mapping[str, Any]) -> tuple[float, float] | None:
    low, high = feature.get("value_min"), feature.get("value_max")
    if isinstance(low, int | float) and isinstance(high, int | float) and low < high:
        return float(low), float(high)
    return None


def _route(kind: str, features: dict[str, Mapping[str, Any]]) -> tuple[str, dict[str, Any], list[str]] | None:
    """The registry type, the route keys and the reasons for one commandable expose; None when it has none."""
    state = features.get("state")
    route: dict[str, Any] = {}
    why: list[str] = []
    if _settable(state):
        assert state is not None
        route["state"] = state["property"]
        if state.get("type") == "binary":
            route["on"], route["off"] = state.get("value_on", "ON"), state.get("value_off", "OFF")
            if state.get("value_toggle") is not None:
                route["toggle"] = state["value_toggle"]
    if kind == "light":
        brightness = features.get("brightness")
        if _settable(brightness) and brightness is not None and (span := _range(brightness)) is not None:
            route["brightness"], route["brightness_max"] = brightness["property"], span[1]
            return "light", route, [f"type light: a light with brightness {span[0]:g}-{span[1]:g}"]
        return ("switch", route, ["type switch: a light that only turns on and off"]) if "state" in route else None
    if kind == "switch":
        return ("switch", route, ["type switch: an on/off switch"]) if "state" in route else None
    if kind == "cover":
        position = features.get("position")
        if _settable(position) and position is not None:
            route["position"] = position["property"]
        if "state" not in route and "position" not in route:
            return None
        return "cover", route, ["type cover: a cover" + (" with a position" if "position" in route else "")]
    if kind == "climate":
        return _climate(features, route, why)
    if kind == "fan":
        return _fan(features, route)
    return None


def _climate(features: dict[str, Mapping[str, Any]], route: dict[str, Any], why: list[str]
             ) -> tuple[str, dict[str, Any], list[str]] | None:
    mode = features.get("system_mode")
    modes = [m for m in _list((mode or {}).get("values")) if isinstance(m, str)]
    on = next((m for m in MODES_ON if m in modes), None)
    if _settable(mode) and mode is not None and on is not None:
        route["mode"], route["mode_on"] = mode["property"], on
        route["mode_off"] = "off" if "off" in modes else None
    setpoints = ("occupied_cooling_setpoint", "occupied_heating_setpoint", "current_heating_setpoint")
    if on == "heat":
        setpoints = setpoints[1:] + setpoints[:1]
    for name in setpoints:
        if _settable(features.get(name)):
            route["setpoint"] = features[name]["property"]
            span = _range(features[name])
            why.append(f"type ac: a thermostat; set writes {route['setpoint']}"
                       + (f" (the device takes {span[0]:g}-{span[1]:g} °C)" if span else ""))
            break
    if "setpoint" not in route and "mode" not in route:
        return None
    if "mode" in route:
        why.append(f"on is system_mode {route['mode_on']}" + (", off is off" if route["mode_off"] else ""))
    return "ac", route, why


def _fan(features: dict[str, Mapping[str, Any]], route: dict[str, Any]) -> tuple[str, dict[str, Any], list[str]] | None:
    for name in ("percentage", "speed"):
        feature = features.get(name)
        if _settable(feature) and feature is not None and (span := _range(feature)) is not None:
            route["percentage"], route["percentage_max"] = feature["property"], span[1]
            return "fan", route, [f"type fan: speed {span[0]:g}-{span[1]:g} as a percentage"]
    mode = features.get("mode") or features.get("fan_mode")
    values = [v for v in _list((mode or {}).get("values")) if isinstance(v, str)]
    bands = [(v, top) for v, top in FAN_BANDS if v in values]
    if _settable(mode) and mode is not None and bands:
        route["fan_mode"], route["fan_bands"] = mode["property"], bands
        if "off" in values:
            route["fan_off"] = "off"
        return "fan", route, [f"type fan: speed as {mode['property']} {', '.join(v for v, _ in bands)}"]
    return ("fan", route, ["type fan: on and off only"]) if "state" in route else None


GET = 0b100  # the access bit of a feature zigbee2mqtt can be asked for (<base>/<name>/get)


def _gettable(found: tuple[str, dict[str, Any], list[str]], features: dict[str, Mapping[str, Any]]
              ) -> tuple[str, dict[str, Any], list[str]]:
    """The route with the properties it uses that zigbee2mqtt answers on /get (its state is not retained)."""
    device_type, route, why = found
    used = {v for v in route.values() if isinstance(v, str)}
    asks = [f["property"] for f in features.values() if f["property"] in used
            and isinstance(f.get("access"), int) and f["access"] & GET]
    return device_type, {**route, **({"get": asks} if asks else {})}, why


def _exposes(definition: Any) -> Iterator[tuple[str, str | None, dict[str, Mapping[str, Any]]]]:
    for expose in _list(definition.get("exposes")) if isinstance(definition, Mapping) else ():
        if isinstance(expose, Mapping) and expose.get("type") in KINDS:
            endpoint = expose.get("endpoint")
            yield expose["type"], endpoint if isinstance(endpoint, str) else None, _features(expose)


def _skip_reason(entry: Any) -> str:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("friendly_name"), str):
        return "not a device entry (no friendly_name)"
    name = entry["friendly_name"]
    if _TOPIC_UNSAFE.search(name) or name.startswith("/") or name.endswith("/") or not name.strip():
        return f"friendly name {name!r} cannot be part of a topic (+, #, control characters or an empty level)"
    if entry.get("type") == "Coordinator":
        return "the coordinator"
    if entry.get("supported") is False:
        return "not supported by zigbee2mqtt"
    if entry.get("disabled") is True:
        return "disabled in zigbee2mqtt"
    if entry.get("interview_completed") is False or entry.get("interview_state") in ("FAILED", "IN_PROGRESS"):
        return "its interview has not completed"
    return ""


def _path_room(name: str) -> tuple[str | None, str]:
    """``kitchen/ceiling`` -> ("kitchen", "ceiling"): zigbee2mqtt's friendly names may say the room first."""
    head, _, tail = name.rpartition("/")
    return (readable(head.split("/")[-1]) if head else None), tail


def read_zigbee2mqtt(devices: bytes | None, groups: bytes | None, base: str = "zigbee2mqtt",
                     taken: Sequence[str] = ()) -> Imported:
    """The devices of zigbee2mqtt's retained ``bridge/devices`` (and the rooms its ``bridge/groups``
    suggest); ids unique against ``taken``. Whatever cannot be read is skipped with its reason."""
    entries, problem = _loads(f"{base}/bridge/devices", devices)
    if entries is None:
        return Imported(skipped=(Skipped(f"{base}/bridge/devices", problem),))
    found: list[Found] = []
    skipped: list[Skipped] = []
    ids = list(taken)
    group_entries = _group_entries(groups, base, skipped)
    group_rooms = _group_rooms(group_entries)
    by_address: dict[str, list[Device]] = {}
    for entry in entries:
        if reason := _skip_reason(entry):
            skipped.append(Skipped(str(entry.get("friendly_name", "?")) if isinstance(entry, Mapping) else "?",
                                   reason))
            continue
        name = entry["friendly_name"]
        routes = [(kind, endpoint, _gettable(r, features)) for kind, endpoint, features
                  in _exposes(entry.get("definition")) if (r := _route(kind, features)) is not None]
        if not routes:
            skipped.append(Skipped(name, "nothing to command: no light, switch, cover, climate or fan it can set"))
            continue
        room, tail = _path_room(name)
        hints = [(room, f"friendly name {name!r}")] if room else []
        hints += [(r, f"zigbee2mqtt group {g!r}") for r, g in dict.fromkeys(group_rooms.get(
            str(entry.get("ieee_address")), ()))]
        if isinstance(entry.get("description"), str) and entry["description"].strip():
            hints.append((entry["description"].strip(), "description"))
        for kind, endpoint, (device_type, route, why) in routes:
            label = readable(tail)
            if len(routes) > 1 and (endpoint or kind not in label.lower().split()):
                label = f"{label} {endpoint or kind}"
            # The room is the device's room, not part of its name: "kitchen/ceiling" is the kitchen's ceiling.
            full = label
            # The id as the name: an id is also a phrase the model may write ("kid s room night light" would
            # compete with the words for the room and the kind).
            new_id = device_id(label, ids, fallback=device_type)
            ids.append(new_id)
            route = {"format": "zigbee2mqtt", "topic": f"{base}/{name}/set", "get_topic": f"{base}/{name}/get",
                     **route}
            device = Device(new_id, device_type, full, None, (), route, source="zigbee2mqtt")
            if re.fullmatch(r"0x[0-9a-fA-F]{16}", tail):
                why = [*why, "named by its IEEE address: give it a name people say in the overlay"]
            found.append(Found(device, name if len(routes) == 1 else f"{name}#{endpoint or kind}",
                               tuple(hints), (*why, f"commands on {base}/{name}/set"), f"{base}/{name}"))
            by_address.setdefault(str(entry.get("ieee_address")), []).append(device)
    groups_found = [g for g in (_group_target(entry, by_address, base, ids, skipped) for entry in group_entries) if g]
    return Imported(tuple(found + groups_found), tuple(skipped))


def _group_entries(groups: bytes | None, base: str, skipped: list[Skipped]) -> list[Mapping[str, Any]]:
    """The readable entries of ``bridge/groups``."""
    if groups is None:
        return []
    entries, problem = _loads(f"{base}/bridge/groups", groups)
    if entries is None:
        skipped.append(Skipped(f"{base}/bridge/groups", problem))
        return []
    return [g for g in entries if isinstance(g, Mapping) and isinstance(g.get("friendly_name"), str)]


def _group_rooms(entries: list[Mapping[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """ieee address -> (room, group name) for every group; which of them name rooms is decided later."""
    rooms: dict[str, list[tuple[str, str]]] = {}
    for group in entries:
        for member in _list(group.get("members")):
            if isinstance(member, Mapping) and isinstance(member.get("ieee_address"), str):
                rooms.setdefault(member["ieee_address"], []).append(
                    (readable(group["friendly_name"]).lower(), group["friendly_name"]))
    return rooms


def _group_target(group: Mapping[str, Any], by_address: Mapping[str, list[Device]], base: str, ids: list[str],
                  skipped: list[Skipped]) -> Found | None:
    """A group as a target of its own: one device of its members' type that zigbee2mqtt commands (and reports)
    as one on ``<base>/<group>``. It has no room, so that a request for a room reaches each member once."""
    name = group["friendly_name"]
    members = [d for m in _list(group.get("members")) if isinstance(m, Mapping)
               for d in by_address.get(str(m.get("ieee_address")), ())]
    members = list({d.id: d for d in members}.values())
    kinds = {d.type for d in members}
    problem = _skip_reason({"friendly_name": name}) or (
        "a group without imported members" if not members else
        f"a group of {' and '.join(sorted(kinds))}: one command cannot suit them all" if len(kinds) > 1 else "")
    if problem:
        skipped.append(Skipped(name, f"group: {problem}"))
        return None
    # The members' common way to be commanded: zigbee2mqtt passes a group's /set on to each member.
    shared = [{k: v for k, v in (d.mqtt or {}).items() if k not in ("topic", "get_topic", "get")} for d in members]
    route = {k: v for k, v in shared[0].items() if all(other.get(k) == v for other in shared[1:])}
    new_id = device_id(readable(name), ids, fallback=members[0].type)
    ids.append(new_id)
    device = Device(new_id, members[0].type, readable(name), None, (),
                    {**route, "topic": f"{base}/{name}/set", "members": [d.id for d in members]}, source="zigbee2mqtt")
    return Found(device, name, (), (f"type {device.type}: a zigbee2mqtt group of {len(members)} "
                                    f"({', '.join(d.id for d in members)})", f"commands on {base}/{name}/set"),
                 f"{base}/{name}")


def zigbee2mqtt_set(device: Device, command: Command) -> dict[str, Any]:
    """The JSON an imported zigbee2mqtt device's ``/set`` topic takes for one checked command."""
    route, action, value = device.mqtt or {}, command.action, command.value
    if action in ("on", "off", "open", "close", "toggle"):
        if device.type == "ac" and route.get("mode") and (action == "on" or route.get("mode_off")):
            return {route["mode"]: route["mode_on"] if action == "on" else route["mode_off"]}
        if device.type == "cover" and "state" in route and action != "toggle":
            return {route["state"]: "OPEN" if action in ("open", "on") else "CLOSE"}
        if device.type == "fan" and action == "off" and "state" not in route and route.get("fan_off"):
            return {route["fan_mode"]: route["fan_off"]}
        word = {"on": route.get("on"), "off": route.get("off"), "toggle": route.get("toggle")}.get(action)
        if "state" in route and word is not None:
            return {route["state"]: word}
    elif action == "set" and value is not None:
        if device.type == "light" and "brightness" in route:
            return {route["brightness"]: round(float(value) * float(route["brightness_max"]) / 100)}
        if device.type == "cover" and "position" in route:
            return {route["position"]: int(value)}
        if device.type == "ac" and "setpoint" in route:
            return {route["setpoint"]: value}
        if device.type == "fan" and "percentage" in route:
            return {route["percentage"]: round(float(value) * float(route["percentage_max"]) / 100)}
        if device.type == "fan" and "fan_mode" in route:
            if float(value) <= 0 and route.get("fan_off"):
                return {route["fan_mode"]: route["fan_off"]}
            mode = next((m for m, top in route["fan_bands"] if float(value) <= top), route["fan_bands"][-1][0])
            return {route["fan_mode"]: mode}
    elif action in ("increase", "decrease") and device.type == "light" and "brightness" in route:
        step = round(float(route["brightness_max"]) / 5)  # a fifth of the range is one "a bit brighter"
        return {f"{route['brightness']}_step": step if action == "increase" else -step}
    raise CommandError(f"{device.id}: zigbee2mqtt does not announce a way to {action} this {device.type}")
