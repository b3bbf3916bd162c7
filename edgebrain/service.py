"""The daemon: requests from stdin, MQTT and Rhasspy Hermes are understood one at a time, checked,
routed now or scheduled, and answered on ``<prefix>/result`` or ``<prefix>/error``."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from .command import Command, check
from .discovery import command_from_ha, discovery_messages, node_id
from .errors import CommandError, EdgebrainError, InputError
from .messages import (
    HERMES_QUERY,
    Request,
    RequestError,
    error_message,
    hermes_reply,
    parse_hermes_query,
    parse_text_message,
    result_message,
)
from .mqtt import MqttClient, Outgoing
from .payloads import dumps
from .registry import Registry
from .router import Router
from .schedule import FAILED, FIRED, Job, Schedule

log = logging.getLogger(__name__)

HA_COMMAND_TOPICS = ("set", "percentage/set", "humidity/set", "mode/set")


class Reader(Protocol):
    """The understanding stage as the daemon uses it."""

    def understand(self, text: str, now: str | None = None) -> Any:
        """An object with ``commands``: checked commands for the utterance."""


class Service:
    """Wires inputs, understanding, routing and the schedule together."""

    def __init__(self, registry: Registry, reader: Reader, router: Router, schedule: Schedule, *,
                 mqtt: MqttClient | None = None, prefix: str = "edgebrain", ha_prefix: str | None = None,
                 shared_group: str | None = None, hermes: bool = True, max_text_bytes: int = 2048,
                 grace_s: float = 300.0, out: TextIO | None = None, max_queue: int = 256,
                 clock: Callable[[], float] = time.time):
        self.registry = registry
        self.reader = reader
        self.router = router
        self.schedule = schedule
        self.mqtt = mqtt
        self.prefix = prefix
        self.ha_prefix = ha_prefix
        self.shared_group = shared_group
        self.hermes = hermes
        self.max_text_bytes = max_text_bytes
        self.grace_s = grace_s
        self.out = out
        self.clock = clock
        self._requests: queue.Queue[Request | None] = queue.Queue(maxsize=max_queue)
        # Ids answered lately: a request the broker delivers again (QoS 1, a reconnect) is not redone.
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._answered_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.handled = 0
        self._beats: dict[str, float] = {}
        self.speech: Any = None  # a listen.speech.SpeechInput when the microphone is an input
        self.open_mic_at_start = True

    # -- start and stop ----------------------------------------------------------------------------

    def start(self) -> None:
        """Recover the schedule, subscribe, and start the worker and scheduler threads."""
        due, missed = self.schedule.recover(self.clock(), self.grace_s)
        for job in missed:
            log.warning("job %d (%s) was missed: %s", job.id, job.command.to_dict(), job.note)
            self._report_job(job, "missed")
        if self.mqtt is not None:
            self._subscribe(self.mqtt)
            self.mqtt.start()
        for job in due:
            self._fire(job)
        if self.speech is not None and self.open_mic_at_start:
            self.speech.start()
        for target in (self._work, self._tick):
            thread = threading.Thread(target=target, name=target.__name__.strip("_"), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Finish the request in hand, then stop."""
        self._stop.set()
        self.schedule.changed.set()
        if self.speech is not None:
            self.speech.stop()
        with contextlib.suppress(queue.Full):
            self._requests.put_nowait(None)
        for thread in self._threads:
            thread.join(timeout=10)
        if self.mqtt is not None:
            self.mqtt.stop()

    def drain(self) -> None:
        """Wait until every queued request is answered."""
        self._requests.join()

    def submit(self, request: Request) -> None:
        """Queue a request; a full queue is answered with an error instead of growing without end."""
        with self._answered_lock:
            repeated = request.id in self._answered
            self._answered[request.id] = None
            while len(self._answered) > 4096:
                self._answered.popitem(last=False)
        if repeated:
            log.info("request %s was delivered again; it is answered already", request.id)
            request.done()
            return
        try:
            self._requests.put_nowait(request)
        except queue.Full:
            self._error(request.id, "busy", "too many requests are waiting; try again")
            request.done()

    # -- MQTT inputs -------------------------------------------------------------------------------

    def _subscribe(self, client: MqttClient) -> None:
        text_topic = f"{self.prefix}/text"
        if self.shared_group:
            text_topic = f"$share/{self.shared_group}/{text_topic}"
        client.subscribe(text_topic, self._on_text, acks=True)
        if self.hermes:
            client.subscribe(HERMES_QUERY, self._on_hermes, acks=True)
        if self.router.gpio is not None and self.router.gpio.outputs:
            for sub in HA_COMMAND_TOPICS:
                client.subscribe(f"{self.prefix}/+/{sub}", self._on_device_command)
        if self.ha_prefix:
            client.subscribe(f"{self.ha_prefix}/status", self._on_ha_status)
        if self.speech is not None:
            client.subscribe(f"{self.prefix}/listen", self.speech.command)
        client.on_connect(self._on_connected)

    def _on_connected(self) -> None:
        self.router.publish_all_states()
        self._send_discovery()

    def _on_text(self, topic: str, payload: bytes, ack: Callable[[], None]) -> None:
        self._take(parse_text_message, payload, ack)

    def _on_hermes(self, topic: str, payload: bytes, ack: Callable[[], None]) -> None:
        self._take(parse_hermes_query, payload, ack)

    def _take(self, parse: Callable[[bytes, int], Request], payload: bytes, ack: Callable[[], None]) -> None:
        try:
            request = parse(payload, self.max_text_bytes)
        except RequestError as exc:
            self._error(exc.request_id, exc.code, str(exc))
            ack()
            return
        self.submit(request.acking(ack))

    def _on_ha_status(self, topic: str, payload: bytes) -> None:
        if payload.strip() == b"online":
            log.info("Home Assistant is back: sending discovery again")
            self._send_discovery()
            self.router.publish_all_states()

    def _on_device_command(self, topic: str, payload: bytes) -> None:
        device_id, _, sub = topic[len(self.prefix) + 1:].partition("/")
        device = self.registry.get(device_id)
        if device is None or not device.gpio or sub not in HA_COMMAND_TOPICS:
            return  # another daemon's device, or one of our own state topics
        try:
            self._route_now(command_from_ha(device, sub, payload))
        except (CommandError, InputError) as exc:
            self._error(None, "rejected", str(exc))

    def _send_discovery(self) -> None:
        if self.mqtt is None or not self.ha_prefix:
            return
        gpio_devices = [d for d in self.registry if d.gpio and self.router.gpio and d.id in self.router.gpio]
        for topic, payload in discovery_messages(gpio_devices, self.prefix, self.ha_prefix,
                                                 node_id(self.mqtt.settings.client_id)):
            self.mqtt.publish(topic, payload, qos=1, retain=True, expires=False)

    # -- the work ----------------------------------------------------------------------------------

    def healthy(self, stuck_after_s: float = 20.0) -> bool:
        """True while the worker and the scheduler threads run and came round recently."""
        now = time.monotonic()
        return (bool(self._threads) and all(t.is_alive() for t in self._threads)
                and all(now - beat < stuck_after_s for beat in self._beats.values()))

    def _work(self) -> None:
        while not self._stop.is_set():
            self._beats["work"] = time.monotonic()
            try:
                request = self._requests.get(timeout=1.0)
            except queue.Empty:
                continue
            try:
                if request is not None:
                    self.handle(request)
            except Exception:  # one bad request never stops the daemon
                log.exception("request failed")
                if request is not None:
                    self._error(request.id, "internal", "edgebrain failed on this request; see its log")
            finally:
                if request is not None:
                    request.done()
                self._requests.task_done()

    def handle(self, request: Request) -> dict[str, Any]:
        """Understand, check, route or schedule one request, and answer it."""
        self.handled += 1
        try:
            understanding = self.reader.understand(request.text)
        except InputError as exc:
            self._error(request.id, exc.code, str(exc))
            return error_message(request.id, exc.code, str(exc))
        commands: tuple[Command, ...] = understanding.commands
        scheduled: list[dict[str, Any]] = []
        errors: list[str] = list(understanding.rejected)  # e.g. a value out of every named device's range
        routed = 0
        for command in commands:
            try:
                if command.time is not None:
                    job = self.schedule.add(command, self.clock(), request.id)
                    scheduled.append(job.to_dict())
                else:
                    self.router.route(command)
                    routed += 1
            except EdgebrainError as exc:
                errors.append(f"{command.device}: {exc}")
        status = "rejected" if errors else "routed" if routed else "scheduled" if scheduled else "none"
        result = result_message(request, commands, status, scheduled, errors)
        self._answer(request, commands, result)
        return result

    def _route_now(self, command: Command) -> None:
        self.router.route(check(command, self.registry))

    def _print(self, payload: dict[str, Any]) -> None:
        if self.out is not None:
            self.out.write(json.dumps(payload, ensure_ascii=False) + "\n")
            self.out.flush()

    def _answer(self, request: Request, commands: tuple[Command, ...], result: dict[str, Any]) -> None:
        if request.source == "stdin":
            self._print(result)
        if self.mqtt is None:
            return
        self.mqtt.publish(f"{self.prefix}/result", dumps(result), qos=1, retain=False, expires=False)
        if request.source == "hermes":
            topic, reply = hermes_reply(request, commands)
            self.mqtt.publish(topic, dumps(reply), qos=1, retain=False, expires=False)

    def _error(self, request_id: str | None, code: str, message: str) -> None:
        log.warning("request %s refused (%s): %s", request_id or "-", code, message)
        payload = error_message(request_id, code, message)
        if self.mqtt is None:
            self._print(payload)
        else:
            self.mqtt.publish(f"{self.prefix}/error", dumps(payload), qos=1, retain=False, expires=False)

    def report_expired(self, item: Outgoing) -> None:
        """A command that waited too long for the broker: say so once it is back."""
        self._error(None, "expired", f"a command for {item.topic} waited more than the outbox limit for the broker "
                                     f"and was dropped: {item.payload.decode('utf-8', 'replace')}")

    # -- the schedule ------------------------------------------------------------------------------

    def _tick(self) -> None:
        while not self._stop.is_set():
            self._beats["tick"] = time.monotonic()
            next_due = self.schedule.next_due()
            wait = 1.0 if next_due is None else max(0.0, min(1.0, next_due - self.clock()))
            self.schedule.changed.wait(wait)
            self.schedule.changed.clear()
            if self._stop.is_set():
                return
            if self.mqtt is not None:
                self.mqtt.expire_outbox()
            for job in self.schedule.claim_due(self.clock()):
                self._fire(job)

    def _fire(self, job: Job) -> None:
        command = Command(job.command.device, job.command.action, job.command.value)
        try:
            self.router.route(command)
        except EdgebrainError as exc:
            self.schedule.finish(job.id, FAILED, str(exc))
            self._report_job(job, "rejected", [str(exc)])
            return
        self.schedule.finish(job.id, FIRED)
        log.info("fired job %d: %s", job.id, command.to_dict())
        self._report_job(job, "routed")

    def _report_job(self, job: Job, status: str, errors: list[str] | None = None) -> None:
        request = Request("", f"job-{job.id}", None, "schedule")
        self._answer(request, (job.command,), result_message(request, (job.command,), status, [job.to_dict()],
                                                             errors))
