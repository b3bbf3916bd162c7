"""Act: send a checked command to its device over MQTT or GPIO, or print what would be sent."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Protocol, TextIO

from edgebrain.base.errors import CommandError, ConfigError
from edgebrain.devices.command import Command
from edgebrain.devices.discovery_import import homeassistant_message
from edgebrain.devices.gpio import GpioBank
from edgebrain.devices.payloads import check_route, dumps, imported, mqtt_payload
from edgebrain.devices.registry import Device, Registry
from edgebrain.devices.state import DeviceState, StateBook
from edgebrain.devices.zigbee2mqtt import zigbee2mqtt_set
from edgebrain.mqtt.outbox import Sent

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """What routing needs from the MQTT client."""

    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False,
                expires: bool = True) -> Sent | None:
        """Publish, or hold the message while the broker is away; what tells when the broker has it."""


@dataclass(frozen=True)
class Delivery:
    """Where a command went: the topic and payload, or the GPIO state it set; for MQTT, ``sent`` tells
    when the broker has it (None: done once routed)."""

    device: str
    via: str  # mqtt | gpio | console
    topic: str
    payload: str
    sent: Sent | None = field(default=None, compare=False, repr=False)


def mqtt_message(device: Device, command: Command) -> tuple[str, str]:
    """The topic and payload of one checked command on ``device``'s MQTT route: an imported device's
    own way (zigbee2mqtt, Home Assistant discovery), else the YAML route's format."""
    route = device.mqtt or {}
    if imported(device) and route.get("format") == "homeassistant":
        return homeassistant_message(device, command)
    if imported(device) and route.get("format") == "zigbee2mqtt":
        return str(route["topic"]), dumps(zigbee2mqtt_set(device, command))
    return str(route["topic"]), mqtt_payload(device, command)


def state_topic(prefix: str, device_id: str) -> str:
    """Where a GPIO device's retained state is published."""
    return f"{prefix}/{device_id}/state"


class Router:
    """Routes checked commands; in a dry run it only prints them."""

    def __init__(self, registry: Registry, *, publisher: Publisher | None = None, gpio: GpioBank | None = None,
                 prefix: str, dry_run: bool = False, console: TextIO | None = None):
        self.registry = registry
        self.publisher = publisher
        self.gpio = gpio
        self.prefix = prefix
        self.dry_run = dry_run
        self.console = console
        self.last: dict[str, Delivery] = {}  # where each device's last command went, for the web console
        self.commanded: dict[str, Command] = {}  # and what it was
        self.states: StateBook | None = None  # what imported devices last said, when they are followed
        self._check(registry)

    def _check(self, registry: Registry) -> None:
        for device in registry:
            check_route(device)
            if self.dry_run:
                continue
            if device.mqtt and self.publisher is None:
                raise ConfigError(f"{device.id} is routed over MQTT, but mqtt.enabled is false")
            if device.gpio and (self.gpio is None or device.id not in self.gpio):
                raise ConfigError(f"{device.id} is routed over GPIO, but no GPIO output is set up for it")

    def use(self, registry: Registry) -> None:
        """Route by another registry from now on (the home changed on the broker); ConfigError, and the
        registry in use kept, when one of its devices has no way to be reached."""
        self._check(registry)
        self.registry = registry

    def route(self, command: Command) -> Delivery:
        """Send one checked command now; CommandError when its device cannot take it."""
        delivery = self._route(command)
        self.last[delivery.device] = delivery
        self.commanded[delivery.device] = command
        return delivery

    def _route(self, command: Command) -> Delivery:
        device = self.registry.get(command.device)
        if device is None:
            raise CommandError(f"unknown device {command.device!r}")
        if device.mqtt:
            delivery = Delivery(device.id, "mqtt", *mqtt_message(device, command))
            if self.dry_run or self.publisher is None:
                return self._print(delivery)
            sent = self.publisher.publish(delivery.topic, delivery.payload, qos=1, retain=False)
            log.info("sent %s to %s", delivery.payload, delivery.topic)
            return replace(delivery, sent=sent)
        if device.gpio:
            if self.dry_run or self.gpio is None:
                return self._print(Delivery(device.id, "console", f"GPIO{device.gpio['pin']}",
                                            dumps(command.to_dict())))
            payload = dumps(self.gpio.apply(command).to_dict())
            self.publish_state(device.id, payload)
            log.info("GPIO%s (%s) now %s", device.gpio["pin"], device.id, payload)
            return Delivery(device.id, "gpio", state_topic(self.prefix, device.id), payload)
        return self._print(Delivery(device.id, "console", "-", dumps(command.to_dict())))

    def known_states(self) -> dict[str, DeviceState]:
        """What edgebrain knows of each device's state: a GPIO output's as it drives it (always current), an
        MQTT device's as it last said it."""
        now = time.time()
        known: dict[str, DeviceState] = {}
        if self.gpio is not None:
            for device_id, state in self.gpio.states().items():
                level = state.target if state.target is not None else state.level if state.pwm else None
                known[device_id] = DeviceState(state.on, None if level is None else float(level), state.to_dict(),
                                               now)
        if self.states is not None:
            known.update(self.states.snapshot())
        return known

    def publish_state(self, device_id: str, payload: str) -> None:
        """Publish a GPIO device's state, retained, so Home Assistant and late subscribers see it."""
        if self.publisher is not None:
            self.publisher.publish(state_topic(self.prefix, device_id), payload, qos=1, retain=True, expires=False)

    def publish_all_states(self) -> None:
        """Every GPIO device's current state (at start and after reconnecting)."""
        if self.gpio is None:
            return
        for device_id, state in self.gpio.states().items():
            self.publish_state(device_id, dumps(state.to_dict()))

    def _print(self, delivery: Delivery) -> Delivery:
        if self.console is not None:
            self.console.write(f"  would send {delivery.payload} to {delivery.topic} ({delivery.device})\n")
            self.console.flush()
        return Delivery(delivery.device, "console", delivery.topic, delivery.payload)
