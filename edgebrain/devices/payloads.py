"""What goes on a device's MQTT topic for a checked command: pure functions, tested byte for byte."""

from __future__ import annotations

import json
from typing import Any

from edgebrain.base.errors import ConfigError
from edgebrain.devices.command import Command
from edgebrain.devices.registry import Device

# zigbee2mqtt's brightness runs 0..254; a step of a fifth of it is one "a bit brighter".
Z2M_BRIGHTNESS_MAX = 254
Z2M_BRIGHTNESS_STEP = 51
Z2M_TYPES = ("light", "switch", "cover")


def dumps(payload: dict[str, Any]) -> str:
    """Compact JSON with keys in a fixed order, as every payload is published."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def json_payload(command: Command) -> dict[str, Any]:
    """The validated command itself, without its time: a routed command acts now."""
    payload: dict[str, Any] = {"device": command.device, "action": command.action}
    if command.value is not None:
        payload["value"] = command.value
    return payload


def zigbee2mqtt_payload(device: Device, command: Command) -> dict[str, Any]:
    """zigbee2mqtt's set payload for a light, switch or cover."""
    action, value = command.action, command.value
    if device.type == "cover":
        if action == "set" and value is not None:
            return {"position": int(value)}
        return {"state": {"open": "OPEN", "close": "CLOSE"}[action]}
    if action in ("on", "off", "toggle"):
        return {"state": action.upper()}
    if device.type == "light":
        if action == "set" and value is not None:
            return {"brightness": round(float(value) * Z2M_BRIGHTNESS_MAX / 100)}
        if action in ("increase", "decrease"):
            return {"brightness_step": Z2M_BRIGHTNESS_STEP if action == "increase" else -Z2M_BRIGHTNESS_STEP}
    raise ConfigError(f"{device.id}: zigbee2mqtt has no payload for {device.type} {action}")


def imported(device: Device) -> bool:
    """True for a device whose route was read from what it announces (zigbee2mqtt, MQTT discovery)."""
    return bool(device.mqtt) and device.source in ("zigbee2mqtt", "discovery")


def mqtt_payload(device: Device, command: Command) -> str:
    """The payload for the MQTT route of a device of the YAML registry."""
    mqtt = device.mqtt or {}
    if mqtt.get("format") == "zigbee2mqtt":
        return dumps(zigbee2mqtt_payload(device, command))
    return dumps(json_payload(command))


def check_route(device: Device) -> None:
    """Refuse at start a route that could not carry every action of its device."""
    if device.mqtt and device.mqtt.get("format") == "zigbee2mqtt" and device.type not in Z2M_TYPES \
            and not imported(device):
        raise ConfigError(f"{device.id}: the zigbee2mqtt format covers {', '.join(Z2M_TYPES)}, not {device.type}; "
                          "use format: json")
