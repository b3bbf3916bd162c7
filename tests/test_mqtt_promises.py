"""MQTT promises of docs/service.md against a real Mosquitto broker, each able to fail: a timed job counts as
fired only once the broker acknowledged its command (the broker frozen with SIGSTOP acknowledges nothing);
a held command that waits longer than mqtt.outbox_limit_s fails its job and is reported ``expired``;
``mqtt.hermes: false`` leaves Hermes queries unanswered; results and errors are never retained; and a
broker that speaks only MQTT 3.1.1 is used after falling back from MQTT 5. Understanding runs on the
scripted backend (our own interface); every negative check waits for a later marker first."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edgebrain.app.service import Service
from edgebrain.core.schedule import Schedule
from edgebrain.devices.command import Command
from edgebrain.devices.registry import Registry
from edgebrain.understand.engine import Understander
from edgebrain.understand.words.reading import Understanding
from tests.broker import Broker, Seen, Watcher, free_port, service_settings, until
from tests.fakes import ScriptedBackend

LIGHT = "home/kitchen/light/set"  # kitchen_light: an MQTT device (zigbee2mqtt)


def start_service(folder: Path, port: int, registry: Registry, clock: Callable[[], float] = time.time,
                  connect_s: float = 10, **mqtt: object) -> Service:
    """An in-process service on the broker at ``port``, connected and subscribed."""
    settings = service_settings(folder / "state", port, **mqtt)
    reader = Understander(registry, ScriptedBackend({"turn on the AC": "- bedroom ac on"}))
    service = Service(settings, registry, reader, clock=clock)
    service.start()
    assert service.mqtt is not None and service.mqtt.wait_connected(connect_s)
    return service


def job_status(schedule: Schedule, job_id: int) -> str:
    (job,) = [j for j in schedule.jobs(include_done=True) if j.id == job_id]
    return job.status


def job_results(watcher: Watcher, job_id: int) -> list[dict]:
    return [r for r in map(json.loads, (s.payload for s in watcher.on("eb/result"))) if r["id"] == f"job-{job_id}"]


class Frozen:
    """The broker's process stopped (SIGSTOP): connections stay open, nothing is read or acknowledged."""

    def __init__(self, broker: Broker):
        assert broker.process is not None
        self.process = broker.process

    def __enter__(self) -> Frozen:
        self.process.send_signal(signal.SIGSTOP)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGCONT)  # always: a stopped broker would not stop at the end


def test_a_job_counts_as_fired_only_once_the_broker_acknowledges_its_command(tmp_path, broker, watcher, registry):
    shift = [0.0]
    service = start_service(tmp_path, broker.port, registry, clock=lambda: time.time() + shift[0])
    try:
        now = time.time()
        light = service.schedule.add(Command("kitchen_light", "on", None, "23:59"), now, "light", due=now + 3600)
        # A GPIO job due just after: routed without the broker, it is fired as soon as it is claimed, and it is
        # claimed only once the light's command was handed to the client: the marker for the check below.
        plug = service.schedule.add(Command("kitchen_plug", "on", None, "23:59"), now, "plug", due=now + 3601)
        with Frozen(broker):
            shift[0] = 3700
            service.schedule.changed.set()
            until(lambda: job_status(service.schedule, plug.id) == "fired", 30, lambda: "the GPIO job to fire")
            # The light's command went to the client, but the broker has not acknowledged it.
            assert job_status(service.schedule, light.id) == "claimed"
        until(lambda: job_status(service.schedule, light.id) == "fired", 30,
              lambda: "the light's job to fire once the broker acknowledged its command")
        assert watcher.wait_for(LIGHT) == [Seen(LIGHT, b'{"state":"ON"}', 1, False)]
        until(lambda: job_results(watcher, light.id) != [], 30, lambda: "the light job's result")
        assert [r["status"] for r in job_results(watcher, light.id)] == ["routed"]
    finally:
        service.close()


def test_a_held_command_that_waits_too_long_fails_its_job_and_is_reported_expired(tmp_path, registry, durable):
    broker, watcher = durable
    shift = [0.0]
    service = start_service(tmp_path, broker.port, registry, clock=lambda: time.time() + shift[0], outbox_limit_s=0.5)
    try:
        now = time.time()
        job = service.schedule.add(Command("kitchen_light", "on", None, "23:59"), now, "late", due=now + 3600)
        broker.stop()
        until(lambda: not service.mqtt.connected, 10, lambda: "the service to notice the broker is gone")
        shift[0] = 3700
        service.schedule.changed.set()
        until(lambda: job_status(service.schedule, job.id) != "pending", 10, lambda: "the job to be claimed")
        until(lambda: job_status(service.schedule, job.id) == "failed", 10,
              lambda: "the held command to expire and fail its job")
        (failed,) = [j for j in service.schedule.jobs(include_done=True) if j.id == job.id]
        assert failed.note == "the broker was away for more than 0.5 s"
        # The job's result and the error were held when it failed; they never expire. The marker: a message
        # held after them that does, so once it has expired they have waited longer than the limit too.
        marker_expired = threading.Event()
        service.mqtt.publish("test/marker", b"").then(lambda error: marker_expired.set())
        assert marker_expired.wait(10)
        broker.start()
        errors = [json.loads(s.payload) for s in watcher.wait_for("eb/error", 2, timeout=30)]
        assert [e["code"] for e in errors] == ["expired", "expired"]
        assert LIGHT in errors[0]["message"] and '{"state":"ON"}' in errors[0]["message"]
        assert "test/marker" in errors[1]["message"]
        until(lambda: job_results(watcher, job.id) != [], 30, lambda: "the failed job's result")
        watcher.flush()
        (result,) = job_results(watcher, job.id)
        assert (result["status"], result["errors"]) == ("rejected", ["the broker was away for more than 0.5 s"])
        assert watcher.on(LIGHT) == [] and watcher.on("test/marker") == []  # dropped, never sent late
        assert len(watcher.on("eb/error")) == 2
        assert job_status(service.schedule, job.id) == "failed"
    finally:
        service.close()


class HeldReader:
    """The understanding stage held at its first request until released (the daemon busy with it)."""

    def __init__(self, registry: Registry):
        self.inner = Understander(registry, ScriptedBackend({}))
        self.entered, self.release = threading.Event(), threading.Event()

    def understand(self, text: str, now: str | float | None = None, context: object = None) -> Understanding:
        self.entered.set()
        self.release.wait(30)
        return self.inner.understand(text, now)


def test_a_request_is_acknowledged_only_once_answered(tmp_path, registry, durable, caplog):
    # The broker goes away while the request is worked: the acknowledgement, sent once it is answered, is
    # lost with it, so the broker delivers the request again when it is back (a daemon killed meanwhile would
    # get it again); the daemon knows the id as answered and does not work it twice.
    broker, watcher = durable
    caplog.set_level(logging.INFO, logger="edgebrain.core.inbox")
    reader = HeldReader(registry)
    settings = service_settings(tmp_path / "state", broker.port)
    service = Service(settings, registry, reader)
    service.start()
    try:
        assert service.mqtt is not None and service.mqtt.wait_connected(10)
        watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "held"}))
        assert reader.entered.wait(10)
        broker.stop()
        until(lambda: not service.mqtt.connected, 10, lambda: "the service to notice the broker is gone")
        reader.release.set()
        service.drain()
        broker.start()
        # The marker: a request sent after the broker is back comes after the one it delivers again.
        watcher.publish("eb/text", json.dumps({"text": "turn off the kitchen light", "id": "marker"}))
        until(lambda: {"held", "marker"} <= {json.loads(s.payload)["id"] for s in watcher.on("eb/result")}, 30,
              lambda: "both answers")
        assert "request held was delivered again; it is answered already" in caplog.messages
        watcher.flush()
        assert [json.loads(s.payload)["id"] for s in watcher.on("eb/result")] == ["held", "marker"]
        assert [s.payload for s in watcher.on(LIGHT)] == [b'{"state":"ON"}', b'{"state":"OFF"}']  # each once
        assert service.handled == 2
    finally:
        service.close()


def test_hermes_off_leaves_hermes_queries_unanswered_and_text_still_works(tmp_path, broker, watcher, registry):
    service = start_service(tmp_path, broker.port, registry, hermes=False)
    try:
        watcher.publish("hermes/nlu/query", json.dumps({"input": "turn on the AC", "siteId": "den", "sessionId": "s1"}))
        # The marker: a request sent after the query. Subscribed to both, the daemon would answer in order.
        watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "marker"}))
        (result,) = [json.loads(s.payload) for s in watcher.wait_for("eb/result")]
        watcher.flush()
        assert (result["id"], result["status"]) == ("marker", "routed")
        assert watcher.on("hermes/nlu/intentParsed") == [] and watcher.on("hermes/nlu/intentNotRecognized") == []
        assert watcher.on("home/bedroom/ac/set") == [] and len(watcher.on("eb/result")) == 1
    finally:
        service.close()


def test_results_and_errors_are_not_retained(tmp_path, broker, watcher, registry):
    service = start_service(tmp_path, broker.port, registry)
    try:
        watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "r1"}))
        watcher.publish("eb/text", b"")
        (result,) = watcher.wait_for("eb/result")
        (error,) = watcher.wait_for("eb/error")
        assert (json.loads(result.payload)["id"], json.loads(error.payload)["code"]) == ("r1", "empty")
        assert (result.qos, result.retain, error.qos, error.retain) == (1, False, 1, False)
        late = Watcher(broker.port)  # joins after the answers
        try:
            late.flush()  # the broker hands a new subscriber its retained messages before this marker
            assert late.on("eb/status") == [Seen("eb/status", b"online", 1, True)]  # retained ones do come
            assert late.on("eb/result") == [] and late.on("eb/error") == []
        finally:
            late.close()
    finally:
        service.close()


# ---------------------------------------------------------------------------------------------------------
# A broker that speaks only MQTT 3.1.1

def _packet(sock: socket.socket) -> tuple[bytes, bytes]:
    """One whole MQTT packet read from ``sock``, as it came and its body after the fixed header (b"", b""
    when the connection closed first)."""
    head = sock.recv(1)
    length, shift = 0, 0
    while head and len(head) < 5:
        byte = sock.recv(1)
        if not byte:
            return b"", b""
        head += byte
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = b""
    while head and len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return b"", b""
        body += chunk
    return head + body, body


class Mqtt311Only:
    """A broker that speaks only MQTT 3.1.1, made of a real Mosquitto behind a front door that answers an
    MQTT 5 CONNECT as an MQTT 3.1.1 broker does (CONNACK return code 1, "unacceptable protocol version",
    then closes) and passes a 3.1.1 connection through. Notes each CONNECT's (protocol level, flags)."""

    def __init__(self, backend_port: int):
        self.backend_port = backend_port
        self.port = free_port()
        self.connects: list[tuple[int, int]] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            self._open.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        connect, body = _packet(client)
        if not connect:
            client.close()
            return
        # The variable header: the protocol name (its length, "MQTT"), the protocol level, the connect flags.
        (name_length,) = struct.unpack("!H", body[:2])
        level, flags = body[2 + name_length], body[3 + name_length]
        self.connects.append((level, flags))
        if level != 4:
            client.sendall(b"\x20\x02\x00\x01")
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.backend_port))
        self._open.append(upstream)
        upstream.sendall(connect)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)

    def close(self) -> None:
        self._server.close()
        for sock in self._open:
            sock.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


CLEAN_SESSION = 0x02


@pytest.mark.parametrize("session_expiry_s", [3600, 0])
def test_a_broker_that_speaks_only_mqtt_311_is_used_after_falling_back(tmp_path, broker, watcher, registry,
                                                                       session_expiry_s):
    front = Mqtt311Only(broker.port)
    try:
        service = start_service(tmp_path, front.port, registry, connect_s=30, protocol="auto",
                                session_expiry_s=session_expiry_s)
        try:
            watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "old"}))
            (result,) = [json.loads(s.payload) for s in watcher.wait_for("eb/result")]
            assert (result["id"], result["status"]) == ("old", "routed")
            assert watcher.wait_for(LIGHT) == [Seen(LIGHT, b'{"state":"ON"}', 1, False)]
        finally:
            service.close()
        # MQTT 5 tried once, then 3.1.1; a persistent session still asked for (clean session only with 0 s).
        assert [level for level, _ in front.connects] == [5, 4]
        assert bool(front.connects[1][1] & CLEAN_SESSION) == (session_expiry_s == 0)
    finally:
        front.close()
