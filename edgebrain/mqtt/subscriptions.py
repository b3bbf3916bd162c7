"""Who gets which MQTT messages: topic filters, their handlers, and when each message is acknowledged."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import paho.mqtt.client as paho

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
# A handler that acknowledges the message itself, once the work is done (at-least-once delivery).
AckHandler = Callable[[str, bytes, Callable[[], None]], None]


class Subscriptions:
    """The handlers by topic filter; renewed by the client on every connect."""

    def __init__(self) -> None:
        self._handlers: list[tuple[str, MessageHandler | AckHandler, bool]] = []

    def add(self, topic_filter: str, handler: MessageHandler | AckHandler, acks: bool) -> None:
        """Handle ``topic_filter``; with ``acks`` the handler acknowledges each message itself."""
        self._handlers.append((topic_filter, handler, acks))

    @property
    def filters(self) -> list[str]:
        """Every topic filter, to subscribe on connect."""
        return [f for f, _, _ in self._handlers]

    def dispatch(self, topic: str, payload: bytes, ack: Callable[[], object]) -> None:
        """Give a message to every matching handler; acknowledge it at once unless a handler will."""
        deferred = False
        ack_once = _Once(ack)
        for topic_filter, handler, acks in self._handlers:
            if paho.topic_matches_sub(_plain_filter(topic_filter), topic):
                try:
                    if acks:
                        deferred = True
                        handler(topic, payload, ack_once)  # type: ignore[call-arg]
                    else:
                        handler(topic, payload)  # type: ignore[call-arg]
                except Exception:  # one bad message never stops the daemon
                    log.exception("handler for %s failed", topic)
                    ack_once()
        if not deferred:
            ack_once()


class _Once:
    """Call a function at most once, from any thread."""

    def __init__(self, function: Callable[[], object]):
        self._function: Callable[[], object] | None = function
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            function, self._function = self._function, None
        if function is not None:
            function()


def _plain_filter(topic_filter: str) -> str:
    """The filter that messages of a shared subscription ($share/<group>/<filter>) match."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter
