"""Where the registry comes from: the YAML folder, and the devices zigbee2mqtt and MQTT discovery keep
retained on the broker, read with a look that announces nothing."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from edgebrain.base.config import MqttSettings, Settings
from edgebrain.base.errors import RegistryError
from edgebrain.devices.discovery_import import read_discovery
from edgebrain.devices.found import Imported
from edgebrain.devices.home import Home, Row, assemble
from edgebrain.devices.payloads import dumps
from edgebrain.devices.registry import Device, load_folder, load_registry
from edgebrain.devices.state import StateBook
from edgebrain.devices.zigbee2mqtt import read_zigbee2mqtt
from edgebrain.mqtt.client import MqttClient

log = logging.getLogger(__name__)
Yaml = tuple[list[Device], dict[str, tuple[dict[str, Any], str]]]  # a devices folder: devices and overlay
QUIET_S = 0.5  # retained messages come in a burst right after subscribing; this long without one ends it


def retained(settings: MqttSettings, filters: Sequence[str], needed: Sequence[str], wait_s: float
             ) -> list[tuple[str, bytes]]:
    """The retained messages on ``filters`` in arrival order: until every ``needed`` topic came and the
    burst went quiet, or ``wait_s`` passed. Connects as its own client, with no status and no session."""
    look = replace(settings, client_id=f"{settings.client_id or 'edgebrain'}-look-{secrets.token_hex(3)}",
                   session_expiry_s=0, shared_group=None)
    client = MqttClient(look, announce=False)
    messages: list[tuple[str, bytes]] = []
    last = [time.monotonic()]
    lock = threading.Lock()

    def heard(topic: str, payload: bytes) -> None:
        with lock:
            messages.append((topic, payload))
            last[0] = time.monotonic()

    for topic_filter in filters:
        client.subscribe(topic_filter, heard)
    deadline = time.monotonic() + wait_s
    client.start()
    try:
        if not client.wait_connected(wait_s):
            why = (client.trouble.fatal or client.trouble.failure
                   or f"no answer from {settings.host}:{settings.port} in {wait_s:g} s")
            raise RegistryError(f"cannot import devices from the broker: {why}")
        last[0] = max(last[0], time.monotonic())
        while time.monotonic() < deadline:
            with lock:
                seen = {t for t, _ in messages}
                quiet = time.monotonic() - last[0] >= QUIET_S
            if quiet and all(t in seen for t in needed):
                break
            time.sleep(0.05)
        else:
            missing = [t for t in needed if t not in {t for t, _ in messages}]
            if missing:
                log.warning("no retained %s on the broker after %g s", ", ".join(missing), wait_s)
    finally:
        client.stop()
    with lock:
        return list(messages)


class Follower:
    """Keeps in a StateBook what each imported device says on its state topic, and on every (re)connection
    asks zigbee2mqtt for the states it does not retain (``/get`` of the properties it answers). ``follow``
    again with the rows of a changed home: new topics are subscribed, every topic reads the new devices."""

    def __init__(self, client: MqttClient, book: StateBook):
        self.client = client
        self.book = book
        self._devices: dict[str, list[Device]] = {}  # state topic -> the devices (parts) that report on it
        self._asks: dict[str, list[str]] = {}  # /get topic -> the properties zigbee2mqtt answers there
        client.on_connect(self._ask)

    def follow(self, rows: Sequence[Row]) -> None:
        """Follow the devices of ``rows`` (the imported devices of the home in use)."""
        by_topic: dict[str, list[Device]] = {}
        for row in rows:
            if row.state_topic:
                by_topic.setdefault(row.state_topic, []).append(row.device)
        new = [t for t in by_topic if t not in self._devices]
        asks = {str(route["get_topic"]): route["get"] for r in rows if (route := r.device.mqtt or {}).get("get")}
        fresh = [t for t in asks if t not in self._asks]
        self._devices, self._asks = by_topic, asks
        for topic in new:
            self.client.subscribe(topic, self._heard)
        if self.client.connected:
            self._ask(fresh)

    def _heard(self, topic: str, payload: bytes) -> None:
        for device in self._devices.get(topic, ()):  # the parts of one device share its state topic
            self.book.heard(device, payload)

    def _ask(self, topics: Sequence[str] | None = None) -> None:
        asks = self._asks
        for topic in asks if topics is None else topics:
            self.client.publish(topic, dumps(dict.fromkeys(asks[topic], "")), qos=1)


def import_filters(settings: Settings) -> tuple[list[str], list[str]]:
    """The topic filters an import reads, and the topics it waits for at start."""
    sources, base, prefix = settings.registry.sources, settings.registry.zigbee2mqtt_base, settings.ha_prefix
    filters: list[str] = []
    needed: list[str] = []
    if "zigbee2mqtt" in sources:
        filters += [f"{base}/bridge/devices", f"{base}/bridge/groups"]
        needed.append(f"{base}/bridge/devices")
    if "discovery" in sources:
        filters.append(f"{prefix}/#")
    return filters, needed


def read_messages(settings: Settings, messages: Sequence[tuple[str, bytes]], taken: Sequence[str] = ()) -> Imported:
    """The devices in the import's messages (in arrival order), by the sources of the settings."""
    sources, base, prefix = settings.registry.sources, settings.registry.zigbee2mqtt_base, settings.ha_prefix
    latest = dict(messages)
    imported = Imported()
    if "zigbee2mqtt" in sources:
        imported += read_zigbee2mqtt(latest.get(f"{base}/bridge/devices"), latest.get(f"{base}/bridge/groups"),
                                     base, taken)
    if "discovery" in sources:
        imported += read_discovery([(t, p) for t, p in messages if t.startswith(f"{prefix}/")], prefix,
                                   skip_zigbee2mqtt="zigbee2mqtt" in sources,
                                   taken=[*taken, *(f.device.id for f in imported.found)])
    return imported


def yaml_part(settings: Settings) -> Yaml:
    """The devices of the YAML folder (when yaml is a source) and its overlay."""
    devices: list[Device] = []
    overlay: dict[str, tuple[dict[str, Any], str]] = {}
    if "yaml" in settings.registry.sources or settings.devices is not None:
        devices, overlay = load_folder(settings.devices)
    if "yaml" not in settings.registry.sources:
        devices = []  # the folder only names, translates and corrects what is imported
    return devices, overlay


def home_from(settings: Settings, messages: Sequence[tuple[str, bytes]], yaml: Yaml | None = None) -> Home:
    """The home the YAML folder (``yaml``, else read now, overlay and all) and the import's messages make;
    at start and at every change on the broker."""
    devices, overlay = yaml if yaml is not None else yaml_part(settings)
    return assemble(devices, overlay, read_messages(settings, messages, [d.id for d in devices]))


def load_home(settings: Settings) -> Home:
    """The registry from every source of the settings, and how each imported device was read."""
    if not settings.registry.imports():
        return Home(load_registry(settings.devices), (), (), ())
    yaml = yaml_part(settings)  # a broken YAML folder is said before the broker is asked
    filters, needed = import_filters(settings)
    home = home_from(settings, retained(settings.mqtt, filters, needed, settings.registry.wait_s), yaml)
    for note in home.notes:
        log.warning("%s", note)
    if home.rows:
        log.info("imported %d devices (%d without a room); skipped %d", len(home.rows), len(home.unsure_rooms()),
                 len(home.skipped))
    return home
