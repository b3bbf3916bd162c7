"""The home as the broker announces it, kept up to date: a device that joins, leaves or is renamed makes a
new home, built after the announcements go quiet, while the one in use goes on answering."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from edgebrain.base.config import Settings
from edgebrain.base.errors import EdgebrainError
from edgebrain.devices.home import Home
from edgebrain.devices.sources import home_from, import_filters
from edgebrain.mqtt.client import MqttClient

log = logging.getLogger(__name__)
QUIET_S = 1.0  # zigbee2mqtt republishes its lists after each change; a rename comes as several messages


def signature(home: Home) -> str:
    """What makes two homes the same to the daemon: every device with its names, room and route."""
    return json.dumps([(d.id, d.type, d.name, d.room, d.aliases, d.mqtt) for d in home.registry],
                      sort_keys=True, default=str, ensure_ascii=False)


class LiveImport:
    """Follows the import's topics on the daemon's own client and hands each changed home to ``on_home``
    (in a thread of its own, so the new home's preparation never holds up a request)."""

    def __init__(self, client: MqttClient, settings: Settings, home: Home, on_home: Callable[[Home], None],
                 quiet_s: float = QUIET_S):
        self.client = client
        self.settings = settings
        self.on_home = on_home
        self.quiet_s = quiet_s
        self._signature = signature(home)
        self._messages: dict[str, bytes] = {}  # topic -> its last message, in the order topics first came
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def subscribe(self) -> None:
        """Follow the import's topics (before the client starts, or at any time after)."""
        for topic_filter in import_filters(self.settings)[0]:
            self.client.subscribe(topic_filter, self._heard)

    def close(self) -> None:
        """Build no more homes."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()

    def _heard(self, topic: str, payload: bytes) -> None:
        with self._lock:
            if self._closed:
                return
            self._messages[topic] = payload
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.quiet_s, self._rebuild)
            self._timer.daemon = True
            self._timer.start()

    def _rebuild(self) -> None:
        with self._lock:
            messages = list(self._messages.items())
        try:
            home = home_from(self.settings, messages)
        except EdgebrainError as exc:  # an overlay that no longer fits, say: the home in use stays
            log.error("the home changed on the broker, but its new registry cannot be used: %s", exc)
            return
        new = signature(home)
        if new == self._signature:
            return  # the retained lists again (a reconnect), or a change that changes no device
        self._signature = new
        log.info("the home changed on the broker: %d devices now", len(home.registry))
        try:
            self.on_home(home)
        except Exception:  # the next change tries again; a failure here must not end the thread quietly
            log.exception("could not use the changed home")

