"""Home Assistant MQTT discovery read into devices (pure functions): the ``<prefix>/.../config`` messages on the
broker become imported devices, and a checked command becomes the (topic, payload) the device's topics take."""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from edgebrain.base.errors import CommandError
from edgebrain.devices.abbreviations import ABBREVIATIONS, DEVICE_ABBREVIATIONS, ORIGIN_ABBREVIATIONS
from edgebrain.devices.command import Command
from edgebrain.devices.found import Found, Imported, Skipped, device_id, readable
from edgebrain.devices.payloads import dumps
from edgebrain.devices.registry import Device

log = logging.getLogger(__name__)

# What a component inherits from its device config: Home Assistant's SHARED_OPTIONS (mqtt/schemas.py), qos, encoding.
SHARED = ("availability", "availability_mode", "availability_template", "availability_topic", "command_topic",
          "payload_available", "payload_not_available", "state_topic", "qos", "encoding")
# Home Assistant's TOPIC_MATCHER (mqtt/discovery.py), here matched against the whole rest of the topic.
_TOPIC = re.compile(r"(?P<component>\w+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?(?P<object>[a-zA-Z0-9_-]+)/config")
MAX_PAYLOAD = 64 * 1024  # real configs are a few kB: more is a mistake or an attack
_UNSAFE = re.compile(r"[+#\x00]")
_VALUE_JSON = re.compile(r"\{\{\s*value_json((?:\.\w+|\[['\"][^'\"]+['\"]\])+)\s*\}\}")
_STEP = re.compile(r"\.(\w+)|\[['\"]([^'\"]+)['\"]\]")
_PLACEHOLDER = re.compile(r"\{\{\s*(value|position)\s*\}\}")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # what float() reads, but nan and inf
_ON = ("payload_on", "payload_off", "ON", "OFF")
# Per component: its command topics (the main one first, the one of the value it sets last); command_topic's two
# payloads with Home Assistant's defaults, and its template; the value's name (the route's "<name>_topic").
SPECS: dict[str, tuple[tuple[str, ...], tuple[str, str, str, str] | None, str, str]] = {
    "light": (("command_topic", "brightness_command_topic"), _ON, "", "brightness"),
    "switch": (("command_topic",), _ON, "", ""),
    "fan": (("command_topic", "percentage_command_topic"), _ON, "command_template", "percentage"),
    "cover": (("command_topic", "set_position_topic"), ("payload_open", "payload_close", "OPEN", "CLOSE"), "",
              "position"),
    "climate": (("mode_command_topic", "temperature_command_topic"), None, "", "temperature"),
    "humidifier": (("command_topic", "target_humidity_command_topic"), _ON, "command_template", "humidity"),
}


class _Skip(ValueError):
    """Why an entity is not imported."""


@dataclass(frozen=True)
class _Entity:
    key: str  # the unique_id, or the discovery id when it has none
    component: str
    discovery_id: str
    config: dict[str, Any] = field(compare=False)
    unique: bool


def _keys(data: dict[str, Any], table: dict[str, str]) -> dict[str, Any]:
    # As Home Assistant: an abbreviation wins over the full key it stands for.
    return {k: v for k, v in data.items() if k not in table} | {table[k]: v for k, v in data.items() if k in table}


def _fill(value: Any, base: str | None) -> Any:
    # Home Assistant's _replace_topic_base: both ends are read from the original value, and the end wins.
    if base is None or not isinstance(value, str) or not value:
        return value
    return value[:-1] + base if value[-1] == "~" else base + value[1:] if value[0] == "~" else value


def _entity_keys(payload: dict[str, Any]) -> dict[str, Any]:
    out = _keys(payload, ABBREVIATIONS)
    base = str(out.pop("~")) if "~" in out else None
    out.update({k: _fill(v, base) for k, v in out.items() if k.endswith("topic")})
    change: Callable[[Any], Any] = lambda a: {k: _fill(v, base) if k == "topic" else v  # noqa: E731
                                              for k, v in _keys(a, ABBREVIATIONS).items()} if isinstance(a, dict) else a
    if isinstance(avty := out.get("availability"), list | dict):  # one or a list (Home Assistant's ensure_list)
        out["availability"] = [change(a) for a in avty] if isinstance(avty, list) else change(avty)
    return out


def expand(payload: dict[str, Any]) -> dict[str, Any]:
    """A discovery payload with every abbreviation written out and the ``~`` base topic applied."""
    out = _entity_keys(payload)
    for key, table in (("device", DEVICE_ABBREVIATIONS), ("origin", ORIGIN_ABBREVIATIONS)):
        if isinstance(out.get(key), dict):
            out[key] = _keys(out[key], table)
    if isinstance(out.get("components"), dict):
        out["components"] = {k: _entity_keys(c) if isinstance(c, dict) else c for k, c in out["components"].items()}
    return out


def _entity(component: str, discovery_id: str, config: dict[str, Any]) -> _Entity:
    uid = config.get("unique_id")
    unique = (isinstance(uid, str) and bool(uid.strip())) or (isinstance(uid, int) and not isinstance(uid, bool))
    return _Entity(str(uid) if unique else discovery_id, component, discovery_id, config, unique)


def _read(topic: str, raw: bytes, prefix: str) -> list[_Entity | Skipped]:
    match = _TOPIC.fullmatch(topic[len(prefix) + 1:]) if topic.startswith(f"{prefix}/") else None
    if match is None:
        return [Skipped(topic, f"not a discovery config topic under {prefix + '/'!r}")]
    ids = [i for i in (match["node"], match["object"]) if i]
    did = "/".join([match["component"], *ids])
    try:
        if len(raw) > MAX_PAYLOAD:
            raise ValueError(f"it has {len(raw):,} bytes")
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError too
        return [Skipped(did, f"the config is not UTF-8 JSON text of at most {MAX_PAYLOAD:,} bytes ({exc})")]
    if not isinstance(data, dict):
        return [Skipped(did, f"the config is a JSON {type(data).__name__.replace('NoneType', 'null')}, not an object")]
    payload = expand(data)
    if match["component"] != "device":
        return [_entity(match["component"], did, payload)]
    device, components = payload.get("device"), payload.get("components")
    if not isinstance(device, dict) or not isinstance(components, dict):
        return [Skipped(did, "a device config needs a device object and a components object")]
    found: list[_Entity | Skipped] = []
    for name, config in components.items():
        platform = config.get("platform") if isinstance(config, dict) else None
        if not isinstance(platform, str) or not platform:
            found.append(Skipped(f"{did}/{name}", "a component without a platform"))
        elif len(config) > 1:  # a component of only its platform is Home Assistant's way to remove it
            shared = {k: payload[k] for k in SHARED if k in payload and k not in config}
            config = {k: v for k, v in config.items() if k != "platform"} | shared
            found.append(_entity(platform, "/".join([platform, *ids, name]), config | {
                "device": device, "origin": payload.get("origin")}))
    return found


def _fail(reason: str) -> NoReturn:
    raise _Skip(reason)


def _topic(config: dict[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is not None and (not isinstance(value, str) or not value or _UNSAFE.search(value)):
        _fail(f"{key} {repr(value)[:60]} is no topic to publish to (not a string, empty, or with +, # or NUL)")
    return value


def _text(config: dict[str, Any], key: str, default: str) -> str | None:  # numbers as their text, as cv.string
    value = config.get(key, default)
    if value is None or isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) else _fail(f"{key} is a JSON {type(value).__name__}")


def _number(config: dict[str, Any], key: str, default: float, whole: bool = False) -> Any:
    value = config.get(key, default)
    text = str(value).strip() if isinstance(value, int | float | str) and not isinstance(value, bool) else ""
    number = float(text) if _NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(number) or (whole and (number != int(number) or not 1 <= number <= 1e6)):  # sane scales
        _fail(f"{key} {str(value)[:40]!r} is not a " + ("whole number from 1 to 1,000,000" if whole else "number"))
    return int(number) if number.is_integer() else number


def _render(template: str, value: str) -> Any:
    try:
        return json.loads(_PLACEHOLDER.sub(lambda _: value, template))
    except (ValueError, RecursionError):
        return None


def _template(c: dict[str, Any], key: str, cap: str, samples: list[str], route: dict[str, Any], why: list[str]) -> bool:
    # Whether cap stays: no template, or JSON object text with one placeholder (kept in the route).
    text = c.get(key)
    if text is None:
        return True
    marks = _PLACEHOLDER.findall(text) if isinstance(text, str) else []
    if marks in (["value"], ["position"] if cap == "position" else ["value"]) and text.count("{{") == 1 \
            and "{%" not in text and "{#" not in text and all(isinstance(_render(text, s), dict) for s in samples):
        route.setdefault("templates", {})[cap] = text
        return True
    why.append(f"{cap} left out: its {key} is Jinja edgebrain does not run (only JSON text with one placeholder)")
    return False


def _kind(component: str, c: dict[str, Any], route: dict[str, Any], why: list[str], level: bool) -> tuple[str, str]:
    # The registry type and the line saying why, and what the component adds to the route.
    if component == "light":
        schema = route["schema"] = str(c.get("schema", "default")).replace("basic", "default")
        if schema not in ("default", "json") or (schema == "json" and not c.get("command_topic")):
            _fail(f"light schema {schema!r}: only the default schema and json with a command_topic are read")
        if schema == "json":  # its commands are JSON objects on command_topic, and no other topic
            modes = c.get("supported_color_modes")
            # Every colour mode but onoff dims (Home Assistant's brightness_supported); brightness is the old flag.
            level = c.get("brightness") is True or any(isinstance(m, str) and m != "onoff" for m in (
                modes if isinstance(modes, list) else [modes]))
            route.update(payload_on=dumps({"state": "ON"}), payload_off=dumps({"state": "OFF"}), brightness_topic=None)
        if not level:
            return "switch", f"type switch: light ({schema} schema) without a brightness command"
        route["brightness_scale"] = _number(c, "brightness_scale", 255, whole=True)
        return "light", f"type light: light ({schema} schema) with brightness 0-{route['brightness_scale']}"
    if component in ("fan", "humidifier"):
        fan = component == "fan"
        keys = ("speed_range_min", "speed_range_max", 1, 100) if fan else ("min_humidity", "max_humidity", 0, 100)
        low, high = _number(c, keys[0], keys[2], fan), _number(c, keys[1], keys[3], fan)
        if high <= low:
            _fail(f"{keys[1]} {high} is not above {keys[0]} {low}")
        route.update({"speed_range" if fan else "humidity_range": [low, high]} if level else {})
        return component, f"type {component}: {component} with " + (
            f"{'speed' if fan else 'target humidity'} {low}-{high}" if level else "only on and off")
    if component == "cover":
        opened, closed = int(_number(c, "position_open", 100)), int(_number(c, "position_closed", 0))
        if opened == closed:
            _fail(f"position_open and position_closed are both {opened}")
        route.update({"position_open": opened, "position_closed": closed} if level else {})
        how = f"sets a position (open {opened}, closed {closed}{', inverted' if opened < closed else ''})"
        return "cover", f"type cover: cover that {how if level else 'opens and closes'}"
    if component == "switch":
        return "switch", "type switch: switch"
    modes, mode = c.get("modes", ["auto", "off", "cool", "heat", "dry", "fan_only"]), c.get("mode_command_topic")
    if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
        _fail("modes is not a list of strings")
    on = "cool" if "cool" in modes else next((m for m in modes if m in ("heat", "auto")), None)
    on, off = (on, "off" if "off" in modes else None) if mode else (None, None)
    if (on or off) and not _template(c, "mode_command_template", "mode", [m for m in (on, off) if m], route, why):
        on = off = None
    route.update(mode_topic=mode, mode_on=on, mode_off=off)
    low, high = _number(c, "min_temp", 7), _number(c, "max_temp", 35)  # Home Assistant's defaults in °C
    route.update({"temperature_range": [low, high] if low < high else None} if level else {})
    span = f"{low}-{high} °C" if low < high else f"min_temp {low} and max_temp {high} are no range: unchecked"
    return "ac", f"type ac: climate; on is mode {on}, off is mode {off}, " + (
        f"set is the target temperature ({span})" if level else "no set")


def _build(entity: _Entity, skip_zigbee2mqtt: bool) -> tuple[str, dict[str, Any], list[str]]:
    # The registry type, route and reasons of one entity; raises _Skip with why it is not taken.
    c = entity.config
    device, origin = (v if isinstance(v, dict) else {} for v in (c.get("device"), c.get("origin")))
    if origin.get("name") == "edgebrain" or device.get("manufacturer") == "edgebrain":
        _fail("announced by edgebrain itself")
    ids = device.get("identifiers")
    if skip_zigbee2mqtt and any(str(i).startswith("zigbee2mqtt_") for i in (ids if isinstance(ids, list) else [ids])):
        _fail("imported from zigbee2mqtt directly")
    if entity.component not in SPECS:
        _fail(f"{entity.component}: not a kind edgebrain commands (light, switch, fan, cover, climate, humidifier)")
    names, payloads, template, cap = SPECS[entity.component]
    topics = {k: _topic(c, k) for k in names}
    main = next((t for t in topics.values() if t), None) or _fail("no command topic: it only reports its state")
    route: dict[str, Any] = {"format": "homeassistant", "component": entity.component, "topic": main}
    why: list[str] = []
    if payloads:  # the payloads of command_topic; None without it, or when its template cannot be run
        on, off, on_default, off_default = payloads
        values = [_text(c, on, on_default), _text(c, off, off_default)] if topics["command_topic"] else [None, None]
        if template and any(values) and not _template(c, template, "state", [v for v in values if v], route, why):
            values = [None, None]
        route.update({on: values[0], off: values[1]})
    if cap:
        keep = topics[names[-1]] and _template(c, names[-1].replace("_topic", "_template"), cap, ["50"], route, why)
        route[f"{cap}_topic"] = topics[names[-1]] if keep else None
    _state_reading(c, route)
    kind, line = _kind(entity.component, c, route, why, bool(route.get(f"{cap}_topic")))
    if not any(route.get(k) is not None for k in (*(payloads or ())[:2], "mode_on", "mode_off", f"{cap}_topic")):
        _fail("nothing to command: every payload and value it announces is left out")
    return kind, route, [line, *why]


def _json_path(template: Any) -> list[str] | None:
    """``{{ value_json.POWER }}`` or ``{{ value_json['a'].b }}`` as the keys it reads; None for other Jinja."""
    match = _VALUE_JSON.fullmatch(template.strip()) if isinstance(template, str) else None
    return [a or b for a, b in _STEP.findall(match.group(1))] if match else None


def _state_reading(c: dict[str, Any], route: dict[str, Any]) -> None:
    # How its state topic says on and off (and, on the same topic, the brightness): JSON paths only.
    if (path := _json_path(c.get("state_value_template") or c.get("value_template"))) is not None:
        route["state_path"] = path
    for key in ("state_on", "state_off"):
        if isinstance(c.get(key), str):
            route[key] = c[key]
    same = c.get("brightness_state_topic") == c.get("state_topic")
    if same and (path := _json_path(c.get("brightness_value_template"))) is not None:
        route["brightness_path"] = path


def _naming(entity: _Entity) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    # The name, the line saying where it came from, and the room its device suggests.
    own, device = entity.config.get("name"), entity.config.get("device")
    device = device if isinstance(device, dict) else {}
    label = device.get("name") if isinstance(device.get("name"), str) and device["name"].strip() else None
    area = device.get("suggested_area")
    rooms = ((area.strip(), f"suggested_area of device {label or entity.key!r}"),) \
        if isinstance(area, str) and area.strip() else ()
    own = str(own) if isinstance(own, str | int | float) and not isinstance(own, bool) and str(own).strip() else None
    name, whose = (own, "the entity's") if own else (label, "its device's (the entity has none)") if label \
        else (entity.discovery_id.rsplit("/", 1)[-1], "its discovery id (neither it nor its device has a name)")
    return readable(name), f"name {name!r}: {whose}", rooms


def read_discovery(messages: Iterable[tuple[str, bytes]], prefix: str = "homeassistant",
                   skip_zigbee2mqtt: bool = False, taken: Sequence[str] = ()) -> Imported:
    """The devices MQTT discovery announces in ``messages`` (topic, payload; in order), ids unique against ``taken``."""
    current: dict[str, list[_Entity | Skipped]] = {}
    for topic, raw in messages:  # a later config on a topic replaces what it said, an empty one removes it
        current.pop(topic, None)
        current.update({topic: _read(topic, raw, prefix)} if raw else {})
    entries = [e for found in current.values() for e in found]
    # Home Assistant's unique ids are per platform: one that several entities share names none of them.
    uses = Counter(e.key for e in entries if isinstance(e, _Entity) and e.unique)
    found, skipped, ids = list[Found](), list[Skipped](), list(taken)
    for e in entries:
        key = e.discovery_id if isinstance(e, _Entity) and uses[e.key] > 1 else e.key
        try:
            if isinstance(e, Skipped):
                _fail(e.reason)
            kind, route, why = _build(e, skip_zigbee2mqtt)
        except _Skip as exc:
            skipped.append(Skipped(key, str(exc)))
            continue
        name, named, rooms = _naming(e)
        ids.append(device_id(name, ids, fallback=f"{kind} {e.key}"))
        shared = [f"key {key!r}: its unique_id {e.key!r} is shared by {uses[e.key]} entities"] * (key != e.key)
        state = e.config.get("state_topic")
        found.append(Found(Device(ids[-1], kind, name, None, (), route, source="discovery"), key, rooms,
                           (*why, *shared, named, f"commands on {route['topic']}"),
                           state if isinstance(state, str) and state and not _UNSAFE.search(state) else None))
    log.debug("discovery: %d devices found, %d skipped", len(found), len(skipped))
    return Imported(tuple(found), tuple(skipped))


def _out(device: Device, cap: str, topic: str, value: str) -> tuple[str, str]:
    template = (device.mqtt or {}).get("templates", {}).get(cap)
    data = _render(template, value) if template else None
    if template and not isinstance(data, dict):
        raise CommandError(f"{device.id}: its {cap} template does not make a JSON object of {value!r}")
    return topic, dumps(data) if isinstance(data, dict) else value


def homeassistant_message(device: Device, command: Command) -> tuple[str, str]:
    """The (topic, payload) one checked command becomes for a device imported from MQTT discovery."""
    r, action, value = device.mqtt or {}, command.action, None if command.value is None else float(command.value)
    component, cap = r.get("component"), SPECS[r["component"]][3] if r.get("component") in SPECS else ""
    if r.get("format") != "homeassistant":
        raise CommandError(f"{device.id}: not a device imported from Home Assistant MQTT discovery")
    if action == "set" and value is not None and value <= 0 and component in ("light", "fan") \
            and r.get("payload_off") is not None:
        action = "off"  # as Home Assistant turns off a light set to brightness 0
    if component == "climate" and action in ("on", "off") and r.get(f"mode_{action}") is not None:
        return _out(device, "mode", r["mode_topic"], r[f"mode_{action}"])
    if action in ("on", "off", "open", "close") and r.get(f"payload_{action}") is not None:
        return _out(device, "state", r["topic"], r[f"payload_{action}"])
    if action != "set" or value is None or not (r.get(f"{cap}_topic") or r.get("brightness_scale")):
        step = " (a relative step: discovery announces absolute values only)" if "crease" in action else ""
        raise CommandError(f"{device.id}: its discovery config has no command for {action!r} on a {device.type}{step}")
    if component == "light":
        level = max(round(value * r["brightness_scale"] / 100), 1) if value > 0 else 0
        if r["schema"] == "json":
            return r["topic"], dumps({"state": "ON", "brightness": level})
        text = str(level)
    elif component == "cover":
        text = str(round((r["position_open"] - r["position_closed"]) * value / 100) + r["position_closed"])
    elif component == "fan":  # Home Assistant's percentage_to_ranged_value, rounded up as its MQTT fan does
        low, high = r["speed_range"]
        text = str(math.ceil(round((high - low + 1) * value / 100 + low - 1, 9)))
    else:
        span, unit = r.get(f"{cap}_range"), "°C" if component == "climate" else "%"
        if span and not span[0] <= value <= span[1]:
            raise CommandError(f"{device.id}: {value:g} {unit} is outside the {span[0]}-{span[1]} {unit} "
                               "its discovery config announces")
        text = str(int(value)) if value.is_integer() else repr(value)
    return _out(device, cap, r[f"{cap}_topic"], text)
