"""Home Assistant over MQTT: discovery for the GPIO devices edgebrain drives, their retained states, and
the commands Home Assistant sends them. The payloads themselves are pure functions in discovery.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edgebrain.base.errors import CommandError, InputError
from edgebrain.core.replies import Refuse
from edgebrain.devices.command import check
from edgebrain.devices.registry import Registry
from edgebrain.devices.router import Router
from edgebrain.homeassistant.discovery import command_from_ha, discovery_messages, node_id
from edgebrain.mqtt.client import MqttClient

log = logging.getLogger(__name__)

HA_COMMAND_TOPICS = ("set", "percentage/set", "humidity/set", "mode/set")


@dataclass(frozen=True)
class HomeAssistantLink:
    """Keeps Home Assistant's view of the GPIO devices current; ``ha_prefix`` None means no discovery."""

    client: MqttClient
    registry: Registry
    router: Router
    prefix: str
    ha_prefix: str | None
    refuse: Refuse
    listening: bool  # a microphone is an input: its listening state is an entity too

    def subscribe(self) -> None:
        """Command topics of the GPIO devices, Home Assistant's birth message, and states on every connect."""
        if self.router.gpio is not None and self.router.gpio.outputs:
            for sub in HA_COMMAND_TOPICS:
                self.client.subscribe(f"{self.prefix}/+/{sub}", self._on_device_command)
        if self.ha_prefix:
            self.client.subscribe(f"{self.ha_prefix}/status", self._on_ha_status)
        self.client.on_connect(self._on_connected)

    def _on_connected(self) -> None:
        self.router.publish_all_states()
        self.send_discovery()

    def _on_ha_status(self, topic: str, payload: bytes) -> None:
        if payload.strip() == b"online":
            log.info("Home Assistant is back: sending discovery again")
            self.send_discovery()
            self.router.publish_all_states()

    def _on_device_command(self, topic: str, payload: bytes) -> None:
        device_id, _, sub = topic[len(self.prefix) + 1:].partition("/")
        device = self.registry.get(device_id)
        if device is None or not device.gpio or sub not in HA_COMMAND_TOPICS:
            return  # another daemon's device, or one of our own state topics
        try:
            self.router.route(check(command_from_ha(device, sub, payload), self.registry))
        except (CommandError, InputError) as exc:
            self.refuse(None, "rejected", str(exc))

    def send_discovery(self) -> None:
        """Publish (retained) the discovery payloads of every GPIO device and of edgebrain itself."""
        if not self.ha_prefix:
            return
        gpio = self.router.gpio
        gpio_devices = [d for d in self.registry if d.gpio and gpio is not None and d.id in gpio]
        for topic, payload in discovery_messages(gpio_devices, self.prefix, self.ha_prefix,
                                                 node_id(self.client.settings.client_id), self.listening):
            self.client.publish(topic, payload, qos=1, retain=True, expires=False)
