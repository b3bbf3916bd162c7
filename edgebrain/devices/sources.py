"""Where the registry comes from: the YAML folder, and the devices zigbee2mqtt and MQTT discovery keep
retained on the broker, read with a look that announces nothing."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
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


def _heard(book: StateBook, devices: Sequence[Device], topic: str, payload: bytes) -> None:
    for device in devices:  # the parts of one device share its state topic
        book.heard(device, payload)


def follow_states(client: MqttClient, rows: Sequence[Row], book: StateBook) -> None:
    """Keep in ``book`` what each imported device says on its state topic, and on every (re)connection ask
    zigbee2mqtt for the states it does not retain (``/get`` of the properties it answers)."""
    by_topic: dict[str, list[Device]] = {}
    for row in rows:
        if row.state_topic:
            by_topic.setdefault(row.state_topic, []).append(row.device)
    for topic, devices in by_topic.items():
        client.subscribe(topic, partial(_heard, book, devices))
    asks = {str(route["get_topic"]): route["get"] for r in rows if (route := r.device.mqtt or {}).get("get")}

    def ask() -> None:
        for topic, properties in asks.items():
            client.publish(topic, dumps(dict.fromkeys(properties, "")), qos=1)

    client.on_connect(ask)


def import_devices(settings: Settings, taken: Sequence[str] = ()) -> Imported:
    """What the broker announces, from the sources ``registry.sources`` names (nothing without one)."""
    sources, base, prefix = settings.registry.sources, settings.registry.zigbee2mqtt_base, settings.ha_prefix
    filters: list[str] = []
    needed: list[str] = []
    if "zigbee2mqtt" in sources:
        filters += [f"{base}/bridge/devices", f"{base}/bridge/groups"]
        needed.append(f"{base}/bridge/devices")
    if "discovery" in sources:
        filters.append(f"{prefix}/#")
    if not filters:
        return Imported()
    messages = retained(settings.mqtt, filters, needed, settings.registry.wait_s)
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


def load_home(settings: Settings) -> Home:
    """The registry from every source of the settings, and how each imported device was read."""
    if not settings.registry.imports():
        return Home(load_registry(settings.devices), (), (), ())
    devices: list[Device] = []
    overlay: dict[str, tuple[dict[str, Any], str]] = {}
    if "yaml" in settings.registry.sources or settings.devices is not None:
        devices, overlay = load_folder(settings.devices)
    if "yaml" not in settings.registry.sources:
        devices = []  # the folder only names, translates and corrects what is imported
    home = assemble(devices, overlay, import_devices(settings, [d.id for d in devices]))
    for note in home.notes:
        log.warning("%s", note)
    if home.rows:
        log.info("imported %d devices (%d without a room); skipped %d", len(home.rows), len(home.unsure_rooms()),
                 len(home.skipped))
    return home
