"""GPIO devices through gpiozero: relays and LEDs switch, PWM outputs take a level in percent.

The pin factory is gpiozero's own choice (GPIOZERO_PIN_FACTORY): lgpio on a Pi 5, MockFactory in tests.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from edgebrain.base.errors import CommandError, ConfigError
from edgebrain.base.schemas import type_value_meaning
from edgebrain.devices.command import Command
from edgebrain.devices.registry import Device, Registry

log = logging.getLogger(__name__)

STEP = 20  # percent per "a bit more" on a PWM output
# The state field each Home Assistant entity type reads a level from (see discovery.py).
HA_LEVEL_FIELDS = {"light": "brightness", "fan": "percentage", "humidifier": "humidity"}
# Fields that are a target, not an output level: they keep the last level while off, inside the type's
# range, as Home Assistant's humidifier keeps its target humidity (and refuses one outside its range).
HA_TARGET_FIELDS = frozenset({"humidity"})


@dataclass(frozen=True)
class GpioState:
    """What a GPIO device is doing: on or off, and its level in percent (100 for a relay that is on)."""

    on: bool
    level: int
    pwm: bool = False
    field: str | None = None  # the name Home Assistant reads the level by, for this device's type
    target: int | None = None  # for a target field: the last level, inside the type's range

    def to_dict(self) -> dict[str, Any]:
        """The retained state payload: {"state": "ON"|"OFF"}; for PWM outputs "level", and the same number
        under the field Home Assistant's entity reads ("brightness" for a light, "percentage" for a fan;
        a humidifier's "humidity" is its target, kept while off)."""
        payload: dict[str, Any] = {"state": "ON" if self.on else "OFF"}
        if self.pwm:
            payload["level"] = self.level if self.on else 0
            if self.field:
                payload[self.field] = self.target if self.target is not None else payload["level"]
        return payload


class GpioOutput:
    """One registry device on one pin."""

    def __init__(self, device: Device, factory: Any = None):
        import gpiozero

        spec = device.gpio or {}
        self.device = device
        self.kind: str = spec.get("kind", "relay")
        active_high = bool(spec.get("active_high", True))
        pin = int(spec["pin"])
        if not {"on", "off"} <= set(device.actions):
            raise ConfigError(f"{device.id}: a {device.type} cannot be switched by a GPIO {self.kind}")
        if self.kind == "pwm":
            meaning = type_value_meaning(device.type) or ""
            if not meaning.endswith("%"):
                raise ConfigError(f"{device.id}: a pwm output needs a device type whose set is a percentage "
                                  f"({device.type} sets {meaning or 'nothing'})")
            self._out: Any = gpiozero.PWMOutputDevice(pin, active_high=active_high, initial_value=0,
                                                      pin_factory=factory)
        elif self.kind == "led":
            self._out = gpiozero.LED(pin, active_high=active_high, initial_value=False, pin_factory=factory)
        else:
            self._out = gpiozero.OutputDevice(pin, active_high=active_high, initial_value=False,
                                              pin_factory=factory)
        self._last_level = 100
        self._lock = threading.Lock()

    @property
    def pwm(self) -> bool:
        """True for a PWM output."""
        return self.kind == "pwm"

    @property
    def state(self) -> GpioState:
        """The output's state as the pin has it."""
        value = float(self._out.value)
        field = HA_LEVEL_FIELDS.get(self.device.type)
        target = None
        if field in HA_TARGET_FIELDS and self.device.value_range is not None:
            low, high = self.device.value_range
            target = max(low, min(high, self._last_level))
        return GpioState(value > 0, round(value * 100) if self.pwm else (100 if value else 0), self.pwm, field,
                         target)

    def apply(self, command: Command) -> GpioState:
        """Drive the pin for a checked command; CommandError for what this output cannot do."""
        # The pin is the last word before the hardware: whoever asks (a request, Home Assistant, the
        # console), an action the type lacks or a level outside its range never reaches it.
        if command.device != self.device.id:
            raise CommandError(f"{self.device.id}: a command for {command.device!r} reached this pin")
        if command.action not in self.device.actions:
            raise CommandError(f"{self.device.id}: a {self.device.type} cannot {command.action}")
        with self._lock:
            action = command.action
            if action == "toggle":
                action = "off" if self.state.on else "on"
            if action in ("on", "off"):
                self._set(self._last_level if action == "on" else 0)
            elif not self.pwm:
                raise CommandError(f"{self.device.id}: a GPIO {self.kind} can only switch on and off, not {action}")
            elif action == "set":
                self._set(self._settable(command.value))
            elif action in ("increase", "decrease"):
                current = self.state.level if self.state.on else 0
                self._set(self._stepped(current + (STEP if action == "increase" else -STEP)))
            else:
                raise CommandError(f"{self.device.id}: nothing to do for {action}")
            return self.state

    def _settable(self, value: float | int | None) -> int:
        """The level of a set, refused (never clamped) when it is missing or outside the type's range."""
        low, high = self.device.value_range or (0, 100)
        if value is None or isinstance(value, bool) or not low <= value <= high:
            raise CommandError(f"{self.device.id}: set needs a value in {low}-{high}, not {value!r}")
        return round(value)

    def _stepped(self, level: int) -> int:
        """A step's level, kept inside the type's range (off stays the way to go below its bottom)."""
        low, high = self.device.value_range or (0, 100)
        return max(low, min(high, level))

    def _set(self, level: int) -> None:
        if self.pwm:
            self._out.value = level / 100
            if level:
                self._last_level = level
        else:
            self._out.value = 1 if level else 0

    def close(self) -> None:
        """Release the pin."""
        self._out.close()


class GpioBank:
    """Every GPIO device of a registry."""

    def __init__(self, registry: Registry, factory: Any = None):
        if factory is None and os.environ.get("GPIOZERO_PIN_FACTORY", "").lower() == "mock":
            # Simulated pins do PWM as a Pi's do; gpiozero's default mock pin cannot.
            os.environ.setdefault("GPIOZERO_MOCK_PIN_CLASS", "mockpwmpin")
        self.outputs: dict[str, GpioOutput] = {}
        device = None
        try:
            for device in registry:
                if device.gpio:
                    self.outputs[device.id] = GpioOutput(device, factory)
        except Exception as exc:
            self.close()
            if isinstance(exc, ConfigError):
                raise
            reason = str(exc).rstrip(".!") or type(exc).__name__
            where = f" for {device.id} (GPIO{device.gpio['pin']})" if device is not None and device.gpio else ""
            raise ConfigError(f"GPIO: cannot set up the pins{where}: {reason}. On a Pi 5 install lgpio "
                              "(pip install 'edgebrain[pi]'); without pins, GPIOZERO_PIN_FACTORY=mock simulates "
                              "them, or dry_run: true prints commands instead") from exc
        if self.outputs:
            log.info("GPIO outputs: %s", ", ".join(sorted(self.outputs)))

    def __contains__(self, device_id: str) -> bool:
        return device_id in self.outputs

    def apply(self, command: Command) -> GpioState:
        """Apply a checked command to its device's pin."""
        return self.outputs[command.device].apply(command)

    def states(self) -> dict[str, GpioState]:
        """Every output's state, by device id."""
        return {device_id: output.state for device_id, output in self.outputs.items()}

    def close(self) -> None:
        """Release every pin."""
        for output in self.outputs.values():
            output.close()
