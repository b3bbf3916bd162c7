"""The one MQTT client wrapper (paho-mqtt 2.x): birth and will, resubscribe on every connect, and an
outbox that holds messages while the broker is away and reports those that waited too long."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edgebrain.base.config import MqttSettings
from edgebrain.base.errors import ConfigError
from edgebrain.mqtt.outbox import Acks, Outbox, Outgoing, Sent
from edgebrain.mqtt.subscriptions import AckHandler, MessageHandler, Subscriptions

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"
# CONNACK reasons that no retry can fix: the daemon stops with a clear message instead.
FATAL_REASONS = ("Bad user name or password", "Not authorized", "Client identifier not valid", "Banned")



def _no_delay(client: paho.Client, userdata: object, sock: object) -> None:
    """Send each small MQTT packet at once: Nagle's algorithm would hold one ~40 ms behind a delayed ACK."""
    setter = getattr(sock, "setsockopt", None)
    if setter is not None:
        with contextlib.suppress(OSError):
            setter(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Trouble:
    """What keeps edgebrain from the broker or its topics, said as a person fixes it: why a connection
    failed (``fatal`` when no retry can fix it), and the topics the broker refused a message on."""

    def __init__(self, settings: MqttSettings):
        self.settings = settings
        self.where = f"the broker at {settings.host}:{settings.port}"
        self.fatal: str | None = None  # the daemon stops at start with this message
        self.failure: str | None = None  # why the last attempt to connect failed, until one succeeds
        self.refused: dict[str, str] = {}  # topic -> the reason the broker refused a message there

    def connack(self, reason: ReasonCode) -> None:
        """The broker refused the connection."""
        if any(str(reason).startswith(r) for r in FATAL_REASONS):
            self.fatal = f"{self.where} refused edgebrain: {reason}; check mqtt.username and the password file"
            log.error("%s (user %s)", self.fatal, self.settings.username)
        else:
            self.fatal = None
            log.error("the broker refused the connection: %s", reason)
        self.failure = self.fatal or f"{self.where} refused the connection: {reason}"

    def unreachable(self, error: BaseException | None) -> None:
        """No connection could be made (paho's on_connect_fail)."""
        if isinstance(error, ssl.SSLCertVerificationError):
            # Another CA's certificate, or one for another name: no retry fixes it.
            failure = (f"{self.where} failed the TLS check: {error.verify_message} (check mqtt.tls.ca_file "
                       f"{self.settings.tls.ca_file or '(the system CAs)'} and that mqtt.host is a name on its "
                       "certificate)")
            self.fatal = failure
        else:
            failure = f"no connection to {self.settings.host}:{self.settings.port}: {error or 'unknown error'}"
        if failure != self.failure:
            log.error("%s", failure)  # once, not at every retry
        self.failure = failure

    def connected(self) -> None:
        """A connection was made: nothing keeps us from the broker."""
        self.fatal = self.failure = None

    def refused_message(self, topic: str, reason: str) -> None:
        """The broker's acknowledgement refused a message (MQTT 5 says so when its ACL dropped it)."""
        log.error("the broker refused a message on %s: %s (user %s)", topic, reason, self.settings.username)
        self.refused[topic] = reason


class Sender:
    """Hands messages to paho and hears the broker's acknowledgements: each message's Sent is told, and a
    refusal is noted where doctor looks for it."""

    def __init__(self, client: paho.Client, trouble: Trouble):
        self.client = client
        self.trouble = trouble
        self._acks = Acks()

    def send(self, item: Outgoing) -> None:
        """Publish through paho now."""
        info = self.client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)
        if not item.qos:
            item.sent.done()
        elif info.rc == paho.MQTT_ERR_QUEUE_SIZE:  # dropped by paho (while not connected it keeps the rest)
            item.sent.done("too many messages wait for the broker")
        elif refused := self._acks.sent(info.mid, item.topic, item.sent):
            self.trouble.refused_message(item.topic, refused)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            # paho keeps QoS>0 messages it could not write and sends them after reconnecting.
            log.warning("publish to %s deferred by paho (rc %s)", item.topic, info.rc)

    def acknowledged(self, mid: int, reason: ReasonCode) -> None:
        """paho's on_publish: the broker's PUBACK (MQTT 5 says there when its ACL dropped the message)."""
        refused = str(reason) if reason.is_failure else None
        if (topic := self._acks.acknowledged(mid, refused)) is not None and refused is not None:
            self.trouble.refused_message(topic, refused)


def _paho_client(s: MqttSettings, v5: bool, status_topic: str | None, owner: MqttClient) -> paho.Client:
    """A paho client with edgebrain's session, credentials, TLS, will and back-off, calling ``owner``."""
    # A persistent session: while edgebrain is away the broker keeps its subscriptions and the
    # requests it has not acknowledged yet; acknowledgements are sent once a request is answered.
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id,
                         protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
                         clean_session=None if v5 else s.session_expiry_s == 0, manual_ack=True)
    if s.username is not None:
        client.username_pw_set(s.username, s.password)
    if s.tls.enabled:
        try:
            client.tls_set(ca_certs=s.tls.ca_file, certfile=s.tls.cert_file, keyfile=s.tls.key_file,
                           cert_reqs=ssl.CERT_REQUIRED)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"mqtt.tls: cannot use the TLS files: {exc}") from exc
    if status_topic is not None:
        client.will_set(status_topic, OFFLINE, qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=s.reconnect_max_s)
    client.on_socket_open = _no_delay
    client.on_connect = owner._handle_connect
    # paho calls on_connect_fail inside its except clause: the exception in hand says why.
    client.on_connect_fail = lambda client, userdata: owner.trouble.unreachable(sys.exc_info()[1])
    client.on_publish = lambda client, userdata, mid, reason, properties: owner._sender.acknowledged(mid, reason)
    client.on_disconnect = owner._handle_disconnect
    client.on_message = owner._handle_message
    client.on_subscribe = owner._handle_subscribe
    return client


def _connect_async(client: paho.Client, s: MqttSettings, v5: bool) -> None:
    """Start connecting in paho's thread, asking MQTT 5 brokers to keep the session session_expiry_s."""
    log.info("connecting to mqtt://%s:%d as %s", s.host, s.port, s.client_id)
    properties = None
    if v5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = s.session_expiry_s
    clean = s.session_expiry_s == 0  # only MQTT 5 reads it; 3.1.1 takes clean_session in _paho_client
    try:
        client.connect_async(s.host, s.port, keepalive=s.keepalive, properties=properties, clean_start=clean)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"mqtt: cannot connect to {s.host}:{s.port}: {exc}") from exc


TAKEN_OVER = 142  # MQTT 5 DISCONNECT reason: another client connected with the same client id
SHORT_S = 10.0  # a connection lost sooner than this after it was made is a sign of a fight


class SessionGuard:
    """Another client with our id takes the session: say so once, and wait longer each time rather than
    take it back at once (two daemons with one id would otherwise throw each other off forever).

    Brokers do not always tell (Mosquitto's DISCONNECT reaches paho as "Unspecified error"), so two
    connections in a row lost within seconds of being made count as a take-over too.
    """

    def __init__(self, client_id: str, base_s: int, report: Callable[[str, str], None] | None):
        self.client_id = client_id
        self.base_s = base_s
        self.report = report
        self.count = 0
        self._short = 0

    def lost(self, lasted_s: float, reason: int | None) -> int | None:
        """Seconds to wait before connecting again, when this loss looks like a take-over; else None."""
        self._short = self._short + 1 if lasted_s < SHORT_S else 0
        if reason != TAKEN_OVER and self._short < 2:
            return None
        self.count += 1
        delay = min(3600, self.base_s << (self.count - 1))
        message = (f"the broker keeps closing this daemon's session soon after it connects: most likely two "
                   f"daemons share one client id ({self.client_id!r}; give each its own mqtt.client_id, or "
                   f"leave it empty for one made per installation); waiting {delay} s before connecting again")
        if self.count > 1:
            log.warning("%s", message)
            return delay
        log.error("%s", message)
        if self.report is not None:
            self.report("session_taken_over", message)
        return delay


class MqttClient:
    """A strict wrapper: every topic edgebrain uses goes through here."""

    def __init__(self, settings: MqttSettings, on_expired: Callable[[Outgoing], None] | None = None,
                 on_error: Callable[[str, str], None] | None = None, announce: bool = True):
        """``on_error(code, message)`` hears of trouble the daemon cannot fix itself (a session taken over).
        Without ``announce`` (a look at the broker, not the daemon) no online/offline status is published."""
        self.settings = settings
        self._guard = SessionGuard(settings.client_id, settings.reconnect_max_s, on_error)
        self.status_topic = f"{settings.prefix}/status"
        self._subscriptions = Subscriptions()
        self.trouble = Trouble(settings)
        self._on_connect_hooks: list[Callable[[], None]] = []
        self._outbox = Outbox(settings.outbox_limit_s, on_expired)
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._subscribe_mid: int | None = None
        self._v5 = settings.protocol in ("auto", "5")
        self._stopping = False
        self._connected_at = 0.0
        self._announce = announce
        self._client = _paho_client(settings, self._v5, self.status_topic if announce else None, self)
        self._sender = Sender(self._client, self.trouble)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; reconnects with back-off until stop()."""
        _connect_async(self._client, self.settings, self._v5)
        self._client.loop_start()
        self._outbox.start()

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected and subscribed (the broker acknowledged), refused, or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.trouble.fatal is None:
            if self._connected.wait(0.1):
                return self._subscribed.wait(max(0.0, deadline - time.monotonic()))
        return False

    def stop(self) -> None:
        """Say offline (retained), disconnect and stop the network thread."""
        self._stopping = True
        if self._connected.is_set() and self._announce:
            info = self._client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()
        self._outbox.stop()

    # -- subscriptions -----------------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> None:
        """Call ``handler(topic, payload)`` for messages on ``topic_filter``, now and after every reconnect;
        the message is acknowledged when the handler returns."""
        self._add(topic_filter, handler, False)

    def subscribe_acked(self, topic_filter: str, handler: AckHandler) -> None:
        """Like subscribe, but the handler gets a third argument, ``ack``, and calls it once the message is
        dealt with: a daemon that dies before that gets the message again (at-least-once)."""
        self._add(topic_filter, handler, True)

    def _add(self, topic_filter: str, handler: MessageHandler | AckHandler, acks: bool) -> None:
        self._subscriptions.add(topic_filter, handler, acks)
        if self._connected.is_set():
            self._client.subscribe(topic_filter, qos=1)

    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every (re)connection, once subscriptions are renewed."""
        self._on_connect_hooks.append(hook)

    def _handle_connect(self, client: paho.Client, userdata: object, flags: object, reason: ReasonCode,
                        properties: Properties | None) -> None:
        if reason.is_failure:
            if self.settings.protocol == "auto" and self._v5 and "protocol" in str(reason).lower():
                log.warning("the broker does not speak MQTT 5; falling back to 3.1.1")
                self._v5 = False
                client._protocol = paho.MQTTv311  # the next automatic reconnect uses 3.1.1
                # paho sets no clean-session flag on an MQTT 5 client, and its 3.1.1 reconnect reads one.
                client._clean_session = self.settings.session_expiry_s == 0
            else:
                self.trouble.connack(reason)
            return
        self.trouble.connected()
        self._connected_at = time.monotonic()
        client.reconnect_delay_set(min_delay=1, max_delay=self.settings.reconnect_max_s)
        log.info("connected to the broker (MQTT %s)", "5" if self._v5 else "3.1.1")
        if self._subscriptions.filters:
            _, self._subscribe_mid = client.subscribe([(f, 1) for f in self._subscriptions.filters])
        else:
            self._subscribed.set()
        if self._announce:
            client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        self._connected.set()
        for item in self._outbox.take():
            self._sender.send(item)
        for hook in self._on_connect_hooks:
            try:
                hook()
            except Exception:  # a failing hook must not kill the network thread
                log.exception("on-connect hook failed")

    def _handle_subscribe(self, client: paho.Client, userdata: object, mid: int, reasons: list[ReasonCode],
                          properties: Properties | None) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("the broker refused a subscription: %s", ", ".join(failed))
        if mid == self._subscribe_mid:
            self._subscribed.set()

    def _handle_disconnect(self, client: paho.Client, userdata: object, flags: object, reason: ReasonCode,
                           properties: Properties | None) -> None:
        lasted = time.monotonic() - self._connected_at
        delay = None if self._stopping else self._guard.lost(lasted, getattr(reason, "value", None))
        if delay is not None:
            client.reconnect_delay_set(min_delay=delay, max_delay=delay)
        elif self._connected.is_set() and not self._stopping:
            log.warning("lost the broker (%s); reconnecting", reason)
        self._connected.clear()
        self._subscribed.clear()

    def _handle_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        self._subscriptions.dispatch(message.topic, bytes(message.payload),
                                     lambda: client.ack(message.mid, message.qos))

    # -- publishing --------------------------------------------------------------------------------

    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False,
                expires: bool = True) -> Sent:
        """Publish now, or hold the message until the broker is back; the returned Sent tells when the
        broker has it.

        A held message that ``expires`` is dropped and reported after outbox_limit_s; reports and
        states (expires=False) wait for as long as it takes.
        """
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        item = Outgoing(topic, data, qos, retain, time.monotonic(), expires)
        if not self._outbox.hold(item, self._connected.is_set):
            self._sender.send(item)
        return item.sent

