"""The last state each imported device told the broker, with when: read from its own state topic in its own
words (zigbee2mqtt's JSON, a discovered entity's payloads) into what edgebrain says of a device."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from edgebrain.devices.payloads import Z2M_BRIGHTNESS_MAX
from edgebrain.devices.registry import Device

log = logging.getLogger(__name__)
MAX_STATE_BYTES = 64 * 1024  # a device's state is a few hundred bytes; more is not a state


@dataclass(frozen=True)
class DeviceState:
    """What a device last said: on or off (None: it does not say), its value in the registry's units
    (brightness %, position %, target °C, speed %), its own words, and when it was heard (epoch s)."""

    on: bool | None
    value: float | None
    said: Mapping[str, Any] = field(compare=False)
    at: float = field(compare=False)

    def fresh(self, now: float, stale_s: float) -> bool:
        """True when it was heard at most ``stale_s`` before ``now``: older, it is not told as known."""
        return now - self.at <= stale_s

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        """JSON-ready, with the age in whole seconds."""
        age = max(0, int((time.time() if now is None else now) - self.at))
        return {"on": self.on, "value": self.value, "age_s": age}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _percent(raw: Any, top: Any) -> float | None:
    number, scale = _number(raw), _number(top)
    return round(number * 100 / scale) if number is not None and scale else None


def _zigbee2mqtt(device: Device, said: Mapping[str, Any]) -> tuple[bool | None, float | None]:
    route = device.mqtt or {}
    on: bool | None = None
    if device.type == "ac" and route.get("mode") in said:
        on = said[route["mode"]] != route.get("mode_off", "off")
    elif device.type == "cover" and route.get("state") in said:
        on = str(said[route["state"]]).upper() == "OPEN"
    elif route.get("state") in said:
        on = said[route["state"]] == route.get("on", "ON")
    value: float | None = None
    if device.type == "light" and route.get("brightness") in said:
        value = _percent(said[route["brightness"]], route.get("brightness_max"))
    elif device.type == "cover" and route.get("position") in said:
        value = _number(said[route["position"]])
    elif device.type == "ac" and route.get("setpoint") in said:
        value = _number(said[route["setpoint"]])
    elif device.type == "fan" and route.get("percentage") in said:
        value = _percent(said[route["percentage"]], route.get("percentage_max"))
    elif device.type == "fan" and route.get("fan_mode") in said:
        value = next((float(top) for mode, top in route.get("fan_bands", ()) if mode == said[route["fan_mode"]]), None)
    return on, value


def _at(data: Any, path: list[str]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _object(text: str) -> dict[str, Any]:
    said = json.loads(text)
    if not isinstance(said, dict):
        raise ValueError("not a JSON object")
    return said


def _word_on(word: str | None, route: Mapping[str, Any]) -> bool | None:
    """A discovered entity's state word as on (True), off (False) or neither (None)."""
    if word == route.get("state_on", route.get("payload_on", "ON")):
        return True
    return False if word == route.get("state_off", route.get("payload_off", "OFF")) else None


def _homeassistant(device: Device, text: str) -> tuple[bool | None, float | None, Mapping[str, Any]]:
    route = device.mqtt or {}
    if route.get("state_path") is not None:  # a JSON state read by its value_template ("{{ value_json.POWER }}")
        said = _object(text)
        word = _at(said, route["state_path"])
        level = _at(said, route["brightness_path"]) if route.get("brightness_path") else None
        return (_word_on(None if word is None else str(word), route),
                _percent(level, route.get("brightness_scale", 255)), said)
    if route.get("schema") == "json":
        said = _object(text)
        on = str(said["state"]).upper() == "ON" if "state" in said else None  # the JSON schema's own words
        return on, _percent(said.get("brightness"), route.get("brightness_scale", 255)), said
    return _word_on(text, route), None, {"state": text}


# A YAML device with format zigbee2mqtt says zigbee2mqtt's own fields.
_Z2M_ROUTE = {"state": "state", "on": "ON", "brightness": "brightness", "brightness_max": Z2M_BRIGHTNESS_MAX,
              "position": "position"}
_ON_WORDS, _OFF_WORDS = ("ON", "OPEN", "TRUE"), ("OFF", "CLOSED", "CLOSE", "FALSE")


def _plain(device: Device, said: Mapping[str, Any]) -> tuple[bool | None, float | None]:
    """A YAML device's own state: {"state": "ON"|"OFF"|"OPEN"|"CLOSED", "value": N in the type's unit}."""
    if (device.mqtt or {}).get("format") == "zigbee2mqtt":
        return _zigbee2mqtt(replace(device, mqtt={**_Z2M_ROUTE, **(device.mqtt or {})}), said)
    word = str(said.get("state", "")).upper()
    on = True if word in _ON_WORDS else False if word in _OFF_WORDS else None
    return on, _number(said.get("value"))


def read_state(device: Device, payload: bytes, now: float | None = None) -> DeviceState:
    """The state in one message on ``device``'s state topic; ValueError when it cannot be read."""
    if len(payload) > MAX_STATE_BYTES:
        raise ValueError(f"{len(payload):,} bytes, over the {MAX_STATE_BYTES:,} a state may have")
    text = payload.decode("utf-8")
    at = time.time() if now is None else now
    if (device.mqtt or {}).get("format") == "homeassistant":
        on, value, said = _homeassistant(device, text)
        return DeviceState(on, value, said, at)
    data = _object(text)
    on, value = _zigbee2mqtt(device, data) if device.source in ("zigbee2mqtt",) else _plain(device, data)
    return DeviceState(on, value, data, at)


class StateBook:
    """The last state of each device, kept as messages arrive (paho's thread) and read by others."""

    def __init__(self, on_change: Callable[[str, DeviceState], None] | None = None):
        self._states: dict[str, DeviceState] = {}
        self._lock = threading.Lock()
        self._on_change = on_change
        self.changed_at = 0.0

    def heard(self, device: Device, payload: bytes) -> DeviceState | None:
        """Keep what ``device`` said; a message that cannot be read is logged and changes nothing."""
        try:
            state = read_state(device, payload)
        except (ValueError, UnicodeDecodeError, KeyError) as exc:
            log.warning("ignored a state of %s that cannot be read: %s", device.id, exc)
            return None
        with self._lock:
            self._states[device.id] = state
            self.changed_at = state.at
        if self._on_change is not None:
            self._on_change(device.id, state)
        return state

    def keep(self, device_id: str, state: DeviceState) -> None:
        """Keep a state read elsewhere (a benchmark's home, a test) as if the device had said it."""
        with self._lock:
            self._states[device_id] = state
            self.changed_at = state.at

    def get(self, device_id: str) -> DeviceState | None:
        """The last state of a device, or None when it has not said one."""
        with self._lock:
            return self._states.get(device_id)

    def snapshot(self) -> dict[str, DeviceState]:
        """Every device's last state."""
        with self._lock:
            return dict(self._states)
