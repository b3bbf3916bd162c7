"""Each part of the daemon alone, with in-memory fakes of our own interfaces: the inbox, the handler and
its replies, the scheduler, the outbox, the terminal, and where the settings' defaults come from."""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import MISSING, fields

import pytest

from edgebrain.app.service import Service
from edgebrain.base.config import (
    ButtonSettings,
    ConversationSettings,
    LedSettings,
    ListenSettings,
    MqttSettings,
    RegistrySettings,
    Settings,
    TlsSettings,
    WebSettings,
    WyomingSettings,
    load_settings,
)
from edgebrain.core.handler import Handler
from edgebrain.core.history import History
from edgebrain.core.inbox import Inbox
from edgebrain.core.messages import Request, Result
from edgebrain.core.replies import Replies
from edgebrain.core.schedule import Schedule
from edgebrain.core.scheduler import Scheduler
from edgebrain.devices.command import Command
from edgebrain.devices.router import Router
from edgebrain.mqtt.outbox import Outbox, Outgoing
from edgebrain.transports.console import HINT, read_lines
from edgebrain.understand.engine import Understander
from tests.broker import until
from tests.fakes import Recorder, ScriptedBackend


def test_inbox_drops_repeats_refuses_when_full_and_survives_a_failing_request():
    handled, refused, acked = [], [], []
    gate, working = threading.Event(), threading.Event()

    def handle(request):
        working.set()
        gate.wait(5)
        if request.text == "boom":
            raise RuntimeError("boom")
        handled.append(request.id)

    inbox = Inbox(handle, lambda *error: refused.append(error), max_queue=2)
    inbox.start()
    try:
        for request_id in ("a", "a", "b", "c", "d"):  # "a" twice; the queue holds two while "a" is worked
            inbox.submit(Request("hi", request_id).acking(lambda rid=request_id: acked.append(rid)))
            assert working.wait(5)
        assert acked == ["d"]  # refused at once; the copy of "a" in hand is acknowledged once "a" is answered
        inbox.submit(Request("boom", "e"))
        gate.set()
        inbox.drain()
        inbox.submit(Request("boom", "f"))
        inbox.drain()
        inbox.submit(Request("hi", "d"))  # refused as busy before: not an answered id, so worked now
        inbox.drain()
        assert handled == ["a", "b", "c", "d"]
        assert refused == [("d", "busy", "too many requests are waiting; try again"),
                           ("e", "busy", "too many requests are waiting; try again"),
                           ("f", "internal", "edgebrain failed on this request; see its log")]
        assert sorted(acked) == ["a", "a", "b", "c", "d"]  # every message is acknowledged, repeats too
        assert inbox.handled == 5 and inbox.healthy(5.0)
    finally:
        inbox.stop()
    assert not inbox.healthy(5.0)



def test_an_id_still_waiting_is_never_forgotten(monkeypatch):
    import edgebrain.core.inbox

    monkeypatch.setattr(edgebrain.core.inbox, "REMEMBERED_IDS", 4)  # fewer remembered ids than waiting requests
    handled: list[str] = []
    acked: list[str] = []
    inbox = Inbox(lambda request: handled.append(request.id), lambda *error: None, max_queue=10)
    for index in range(8):
        inbox.submit(Request("hi", f"r{index}"))
    inbox.submit(Request("hi", "r0").acking(lambda: acked.append("r0 again")))  # the broker delivers r0 again
    assert acked == []  # a copy of a request still waiting: acknowledged once it is answered
    inbox.start()
    try:
        inbox.drain()
    finally:
        inbox.stop()
    assert handled == [f"r{index}" for index in range(8)] and acked == ["r0 again"]

@pytest.fixture()
def parts(tmp_path, registry):
    recorder = Recorder()
    without_gpio = type(registry)([d for d in registry if not d.gpio])
    router = Router(without_gpio, publisher=recorder, prefix="eb")
    replies = Replies(recorder, "eb", None, router, History())
    schedule = Schedule(tmp_path / "schedule.db")
    reader = Understander(without_gpio, ScriptedBackend({"turn on the AC": "- bedroom ac on"}))
    yield recorder, replies, router, schedule, reader
    schedule.close()


def test_handler_routes_schedules_refuses_and_answers_the_way_the_request_came(parts):
    recorder, replies, router, schedule, reader = parts
    clock = [1_700_000_000.0]
    handler = Handler(reader, router, schedule, replies, lambda: clock[0])
    answered: list[Result] = []
    routed = handler.handle(Request("turn on the AC", "r1", "den").answering(answered.append))
    assert routed is not None and routed.status == "routed" and answered == [routed]
    assert recorder.on("home/bedroom/ac/set") == ['{"device":"bedroom_ac","action":"on"}']
    later = handler.handle(Request("turn off the kitchen light at 23:00", "r2"))
    assert later is not None and later.status == "scheduled" and later.scheduled[0]["status"] == "pending"
    assert [j.command for j in schedule.jobs()] == [Command("kitchen_light", "off", None, "23:00")]
    assert handler.handle(Request("\x00", "r3")) is None
    results = [Result.from_dict(json.loads(p)) for p in recorder.on("eb/result")]
    assert [(r.id, r.status) for r in results] == [("r1", "routed"), ("r2", "scheduled")]
    (error,) = [json.loads(p) for p in recorder.on("eb/error")]
    assert (error["id"], error["code"]) == ("r3", "bad_text")


def test_scheduler_reports_missed_jobs_fires_due_ones_and_later_ones_on_time(parts):
    recorder, replies, router, schedule, _ = parts
    start = time.time() - 3 * 86_400
    missed = schedule.add(Command("kitchen_light", "on", None, "07:00"), start, "old")
    due = schedule.add(Command("bedroom_ac", "off", None, "07:00"), start + 2 * 86_400, "recent")
    later = schedule.add(Command("bedroom_ac", "on", None, "07:00"), due.due + 1, "later")
    clock = [due.due + 60]  # a minute after the recent job was due, days after the old one
    scheduler = Scheduler(schedule, router, replies, grace_s=300, clock=lambda: clock[0])
    scheduler.start()
    try:
        statuses = {r["id"]: r["status"] for r in map(json.loads, recorder.on("eb/result"))}
        assert statuses == {f"job-{missed.id}": "missed", f"job-{due.id}": "routed"}
        assert recorder.on("home/bedroom/ac/set") == ['{"device":"bedroom_ac","action":"off"}']
        clock[0] = later.due + 1
        schedule.changed.set()
        until(lambda: len(recorder.on("home/bedroom/ac/set")) >= 2, 10, lambda: "the later job to fire")
        assert recorder.on("home/bedroom/ac/set")[1:] == ['{"device":"bedroom_ac","action":"on"}']
        assert scheduler.healthy(5.0)
    finally:
        scheduler.stop()
    assert not scheduler.healthy(5.0)
    assert recorder.on("home/kitchen/light/set") == []


def test_outbox_holds_while_away_and_reports_what_waited_too_long():
    expired: list[Outgoing] = []
    outbox = Outbox(0.2, expired.append)
    now = time.monotonic()
    assert not outbox.hold(Outgoing("t/now", b"1", created=now), lambda: True)
    assert outbox.hold(Outgoing("t/old", b"2", created=now - 1), lambda: False)
    assert outbox.hold(Outgoing("t/state", b"3", created=now - 1, expires=False), lambda: False)
    assert outbox.hold(Outgoing("t/new", b"4", created=now), lambda: False)
    assert len(outbox) == 3
    outbox.expire()
    assert [i.topic for i in expired] == ["t/old"]
    assert [i.topic for i in outbox.take()] == ["t/state", "t/new"] and len(outbox) == 0


def test_outbox_checks_a_few_times_a_second_even_with_no_limit():
    class Counting(Outbox):
        checks = 0

        def expire(self) -> None:
            Counting.checks += 1
            raise RuntimeError("a report that fails")  # the checks go on regardless

    outbox = Counting(0.0)
    started = time.monotonic()
    outbox.start()
    try:
        until(lambda: Counting.checks >= 3, 10, lambda: f"three checks; got {Counting.checks}")
    finally:
        outbox.stop()
    # Never a busy loop: each check waits at least 0.05 s after the one before (a slow machine only waits longer).
    assert Counting.checks <= (time.monotonic() - started) / 0.05 + 1


def test_the_terminal_prompts_and_prints_each_answer_before_the_next_line(tmp_path, registry):
    settings = load_settings(None, environ={"EDGEBRAIN_STATE_DIR": str(tmp_path)})
    out, prompt = io.StringIO(), io.StringIO()
    service = Service(settings, registry, Understander(registry, ScriptedBackend({})), out=out)
    service.start()
    try:
        lines = io.BytesIO(b"turn on the kitchen light\n\nis the AC on?\n")  # a question: answered, nothing moved
        read_lines(service.inbox, service.replies, threading.Event(), lines, prompt)
    finally:
        service.close()
    assert prompt.getvalue() == HINT + "\n" + "> " * 4
    printed = [line for line in out.getvalue().splitlines() if line.startswith("{")]
    assert [json.loads(line)["status"] for line in printed] == ["routed", "answered"]
    assert "would send" in out.getvalue()  # the embedded defaults are a dry run


def test_settings_take_every_default_from_the_schema():
    for settings_class in (Settings, MqttSettings, ListenSettings, TlsSettings, ButtonSettings, LedSettings,
                           WyomingSettings, WebSettings, RegistrySettings, ConversationSettings):
        defaulted = [f.name for f in fields(settings_class)
                     if f.default is not MISSING or f.default_factory is not MISSING]
        assert defaulted in ([], ["notices"]), (settings_class, defaulted)


@pytest.mark.parametrize(("config", "expected"), [
    ("mqtt:\n  host: broker.lan\n", ["mqtt is configured", "dry_run is on"]),
    ("mqtt:\n  enabled: true\n  host: broker.lan\n", ["dry_run is on"]),
    ("mqtt:\n  enabled: false\n  host: broker.lan\n", ["dry_run is on"]),
    ("dry_run: false\n", []),
    (None, []),
    ({"EDGEBRAIN_MQTT__HOST": "broker.lan"}, ["(EDGEBRAIN_MQTT__HOST) but mqtt.enabled is false"]),
    ({"EDGEBRAIN_THREADS": "2"}, []),
])
def test_settings_say_what_a_user_may_not_expect(tmp_path, config, expected):
    path, environ = None, {}
    if isinstance(config, dict):
        environ = config
    elif config is not None:
        path = tmp_path / "edgebrain.yaml"
        path.write_text(config)
    notices = load_settings(path, environ=environ).notices
    assert [n for n in expected if not any(n in line for line in notices)] == [] and len(notices) == len(expected)


def test_a_request_that_continues_another_does_only_what_is_new(parts):
    recorder, replies, router, schedule, _ = parts
    without_gpio = router.registry
    reader = Understander(without_gpio, ScriptedBackend({}))
    handler = Handler(reader, router, schedule, replies, time.time)
    first = handler.handle(Request("turn on the kitchen light", "early"))
    more = handler.handle(Request("turn on the kitchen light and the bedroom AC", "final", continues="early"))
    again = handler.handle(Request("turn on the kitchen light", "final-2", continues="final"))
    assert first is not None and more is not None and again is not None
    assert [c.device for c in first.commands] == ["kitchen_light"]
    assert [c.device for c in more.commands] == ["bedroom_ac"] and more.status == "routed"
    assert again.commands == () and again.status == "none"
    assert len(recorder.on("home/kitchen/light/set")) == 1 and len(recorder.on("home/bedroom/ac/set")) == 1


def test_acks_tell_each_message_once_even_when_the_acknowledgement_comes_first():
    from edgebrain.mqtt.outbox import Acks, Sent

    heard: dict[str, list[str | None]] = {}

    def waiting(name: str) -> Sent:
        sent = Sent()
        sent.then(lambda error: heard.setdefault(name, []).append(error))
        return sent

    acks = Acks()
    assert acks.sent(1, "home/a", waiting("a")) is None and heard == {}
    assert acks.acknowledged(1, None) == "home/a" and heard == {"a": [None]}
    # paho read the PUBACK before the sender noted the id: the id waits, and the message is told at once.
    assert acks.acknowledged(2, "Not authorized") is None
    assert acks.sent(2, "home/b", waiting("b")) == "Not authorized"
    assert heard["b"] == ["the broker refused it: Not authorized"]
    assert acks.acknowledged(1, None) is None and heard["a"] == [None]  # a repeat tells no one twice


def test_a_message_pushed_out_of_a_full_outbox_is_told_so(monkeypatch):
    import edgebrain.mqtt.outbox

    monkeypatch.setattr(edgebrain.mqtt.outbox, "MAX_HELD", 2)
    outbox = Outbox(60.0)
    items = [Outgoing(f"t/{index}", b"x", created=time.monotonic()) for index in range(3)]
    heard: list[str | None] = []
    items[0].sent.then(heard.append)
    for item in items:
        assert outbox.hold(item, lambda: False)
    assert heard == ["2 newer messages waited for the broker"] and [i.topic for i in outbox.take()] == ["t/1", "t/2"]
