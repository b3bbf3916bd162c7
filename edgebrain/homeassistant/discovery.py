"""Home Assistant MQTT discovery, built by pure functions: (topic, payload) for each entity, and the
translation of Home Assistant's command payloads back into checked commands.

Every GPIO device edgebrain drives becomes the entity of its type, served on
``<prefix>/<device>/set`` (and ``.../percentage/set`` for PWM fans) with its retained state on
``<prefix>/<device>/state``; ``<prefix>/status`` is the availability of all of them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from edgebrain import __version__
from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command
from edgebrain.devices.payloads import dumps
from edgebrain.devices.registry import Device

# The entity type of each device type a GPIO output can drive (a cover cannot: it opens and closes).
COMPONENTS = {"light": "light", "switch": "switch", "fan": "fan", "humidifier": "humidifier", "ac": "climate"}


def node_id(client_id: str) -> str:
    """The discovery node id: the client id with only the characters Home Assistant allows."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", client_id)


def _base(device: Device | None, prefix: str, node: str, object_id: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": f"{node}_{object_id}",
        "availability_topic": f"{prefix}/status",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {"identifiers": [f"{node}_{device.id}" if device else node],
                   "name": device.name if device else "edgebrain",
                   "manufacturer": "edgebrain", "model": f"GPIO {device.gpio.get('kind', 'relay')}"
                   if device and device.gpio else "offline voice and text control",
                   "sw_version": __version__,
                   **({"suggested_area": device.room.title()} if device and device.room else {}),
                   **({"via_device": node} if device else {})},
        "origin": {"name": "edgebrain", "sw_version": __version__},
        "qos": 1,
    }


def device_entity(device: Device, prefix: str, node: str) -> tuple[str, dict[str, Any]]:
    """The discovery (topic, payload) of one GPIO device, by its type."""
    pwm = bool(device.gpio and device.gpio.get("kind") == "pwm")
    component = COMPONENTS[device.type]
    if component == "humidifier" and not pwm:
        # Home Assistant's humidifier needs a target humidity, which a relay cannot take: a switch it is.
        component = "switch"
    base = f"{prefix}/{device.id}"
    payload = _base(device, prefix, node, device.id, device.name)
    payload["name"] = None  # the entity is the device: Home Assistant shows the device name
    state = "{{ value_json.state }}"
    # Home Assistant's sliders take the schema's range for set, so it never sends a value check() refuses.
    low, high = device.value_range or (0, 100)
    if component == "light":
        payload.update({"schema": "json", "command_topic": f"{base}/set", "state_topic": f"{base}/state",
                        "supported_color_modes": ["brightness"] if pwm else ["onoff"]})
        if pwm:
            payload.update({"brightness": True, "brightness_scale": high})
    elif component == "switch":
        payload.update({"command_topic": f"{base}/set", "state_topic": f"{base}/state", "payload_on": "ON",
                        "payload_off": "OFF", "state_on": "ON", "state_off": "OFF", "value_template": state})
    elif component == "fan":
        payload.update({"command_topic": f"{base}/set", "state_topic": f"{base}/state", "payload_on": "ON",
                        "payload_off": "OFF", "state_value_template": state})
        if pwm:
            payload.update({"percentage_command_topic": f"{base}/percentage/set",
                            "percentage_state_topic": f"{base}/state",
                            "percentage_value_template": "{{ value_json.percentage }}"})
    elif component == "humidifier":
        payload.update({"command_topic": f"{base}/set", "state_topic": f"{base}/state", "payload_on": "ON",
                        "payload_off": "OFF", "state_value_template": state, "device_class": "humidifier",
                        "target_humidity_command_topic": f"{base}/humidity/set",
                        "target_humidity_state_topic": f"{base}/state",
                        "target_humidity_state_template": "{{ value_json.humidity | default('None') }}",
                        "min_humidity": low, "max_humidity": high})
    else:  # climate
        payload.update({"mode_command_topic": f"{base}/mode/set", "mode_state_topic": f"{base}/state",
                        "mode_state_template": "{{ 'cool' if value_json.state == 'ON' else 'off' }}",
                        "modes": ["off", "cool"], "power_command_topic": f"{base}/set",
                        "payload_on": "ON", "payload_off": "OFF"})
    return f"{{ha}}/{component}/{node}/{device.id}/config", payload


def edgebrain_entities(prefix: str, node: str) -> list[tuple[str, dict[str, Any]]]:
    """The text entity that takes requests, and the sensor with the last result."""
    # Home Assistant puts the device's name ("edgebrain") in front of an entity's own name.
    text = _base(None, prefix, node, "command", "Command")
    text.update({"command_topic": f"{prefix}/text", "mode": "text", "min": 1, "max": 255,
                 "icon": "mdi:message-text"})
    sensor = _base(None, prefix, node, "last_result", "Last result")
    sensor.update({"state_topic": f"{prefix}/result", "value_template": "{{ value_json.status }}",
                   "json_attributes_topic": f"{prefix}/result", "icon": "mdi:home-lightning-bolt"})
    return [(f"{{ha}}/text/{node}/command/config", text), (f"{{ha}}/sensor/{node}/last_result/config", sensor)]


def listening_entity(prefix: str, node: str) -> tuple[str, dict[str, Any]]:
    """The binary sensor of the microphone: on while it takes a request (``<prefix>/listening``, retained)."""
    sensor = _base(None, prefix, node, "listening", "Listening")
    sensor.update({"state_topic": f"{prefix}/listening", "payload_on": "ON", "payload_off": "OFF",
                   "icon": "mdi:microphone"})
    return f"{{ha}}/binary_sensor/{node}/listening/config", sensor


def discovery_messages(devices: list[Device], prefix: str, ha_prefix: str, node: str,
                       listening: bool = False) -> list[tuple[str, str]]:
    """Every discovery message as (topic, JSON payload); published retained with QoS 1. With
    ``listening`` (a microphone is an input) the listening sensor too."""
    # The hub (edgebrain's own entities) first: the devices name it as their via_device.
    entities = edgebrain_entities(prefix, node) + [device_entity(d, prefix, node) for d in devices if d.gpio]
    if listening:
        entities.append(listening_entity(prefix, node))
    return [(topic.replace("{ha}", ha_prefix), dumps(payload)) for topic, payload in entities]


def command_from_ha(device: Device, subtopic: str, payload: bytes) -> Command:
    """The command a Home Assistant payload on ``<prefix>/<device>/<subtopic>`` asks for."""
    text = payload.decode("utf-8", errors="replace").strip()
    if subtopic in ("percentage/set", "humidity/set"):
        try:
            level = round(float(text))
        except ValueError as exc:
            raise CommandError(f"{device.id}: {subtopic} needs a number, not {text[:40]!r}") from exc
        return Command(device.id, "set", level) if level > 0 else Command(device.id, "off")
    if subtopic == "mode/set":
        return Command(device.id, "off" if text == "off" else "on")
    if subtopic != "set":
        raise CommandError(f"{device.id}: no command topic {subtopic!r}")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{device.id}: malformed JSON command: {exc}") from exc
        if not isinstance(data, dict):
            raise CommandError(f"{device.id}: the JSON command must be an object")
        if data.get("state") == "OFF":
            return Command(device.id, "off")
        if "brightness" in data:
            return Command(device.id, "set", round(float(data["brightness"])))
        text = str(data.get("state", ""))
    words = {"ON": "on", "OFF": "off", "TOGGLE": "toggle", "OPEN": "open", "CLOSE": "close"}
    if text.upper() not in words:
        raise CommandError(f"{device.id}: unknown command payload {text[:40]!r}")
    return Command(device.id, words[text.upper()])
