"""Questions and follow-ups through the running daemon on a real Mosquitto: states published on the devices'
own topics answer questions, two Wyoming conversations interleaved never see each other's devices, and a
satellite's room decides which light "the light" is."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest
from wyoming.asr import Transcript
from wyoming.handle import Handled

from edgebrain.app.service import Service
from tests.broker import free_port, service_settings, until
from tests.test_wyoming import ask

pytestmark = pytest.mark.model


@pytest.fixture()
def daemon(tmp_path, broker, registry, understander):  # type: ignore[no-untyped-def]
    port = free_port()
    settings = service_settings(tmp_path, broker.port, client_id=f"eb-talk-{time.monotonic_ns()}")
    settings = replace(settings, sites=(("living-sat", "living room"),),
                       wyoming=replace(settings.wyoming, enabled=True, uri=f"tcp://127.0.0.1:{port}", asr=False,
                                       zeroconf=False))
    service = Service(settings, registry, understander)
    service.start()
    assert service.mqtt is not None and service.mqtt.wait_connected(10)
    yield service, port
    service.close()


def _say(port: int, text: str, **context: str) -> str:
    (event,) = asyncio.run(ask(port, Transcript(text, context=context or None).event()))
    assert Handled.is_type(event.type), event
    return str(Handled.from_event(event).text)


def test_a_question_is_answered_from_the_state_the_device_published(daemon, watcher):
    service, _ = daemon
    watcher.publish("home/kitchen/light", json.dumps({"state": "ON", "brightness": 127}))  # zigbee2mqtt's words
    watcher.publish("home/kitchen/fan", json.dumps({"state": "OFF"}))  # a plain JSON device's
    until(lambda: service.router.states.get("kitchen_fan") is not None, 10, lambda: "the states to arrive")
    watcher.publish("eb/text", json.dumps({"text": "is the kitchen light on?", "id": "q1"}))
    watcher.publish("eb/text", json.dumps({"text": "are any fans on in the kitchen?", "id": "q2"}))
    first, second = (json.loads(s.payload) for s in watcher.wait_for("eb/result", 2, timeout=30))
    assert (first["status"], first["commands"], first["reply"]) == ("answered", [], "Yes, the kitchen light is on.")
    assert first["answer"]["states"][0]["value"] == 50
    assert (second["answer"]["kind"], second["reply"]) == ("no", "No, the kitchen extractor fan is not on.")
    assert watcher.on("home/kitchen/light/set") == [] and watcher.on("home/kitchen/fan/set") == []


def test_two_wyoming_conversations_interleaved_keep_their_own_devices(daemon, watcher):
    _, port = daemon
    assert _say(port, "turn on the kitchen fan", conversation_id="a") == "Turned on the kitchen extractor fan."
    assert _say(port, "turn on the living room AC", conversation_id="b") == \
        "Turned on the living room air conditioner."
    assert _say(port, "turn it off", conversation_id="a") == "Turned off the kitchen extractor fan."
    assert _say(port, "把它关了", conversation_id="b") == "已关闭客厅空调。"
    assert _say(port, "turn it off", conversation_id="c") == "Which device do you mean?"
    fan = [json.loads(s.payload) for s in watcher.wait_for("home/kitchen/fan/set", 2)]
    ac = [json.loads(s.payload) for s in watcher.wait_for("home/living_room/ac/set", 2)]
    assert [p["action"] for p in fan] == ["on", "off"] and [p["action"] for p in ac] == ["on", "off"]


def test_a_satellites_room_decides_the_light(daemon, watcher):
    _, port = daemon
    assert _say(port, "turn on the light", satellite_id="living-sat") == "Turned on the living room ceiling light."
    assert [json.loads(s.payload) for s in watcher.wait_for("home/living_room/light/set")] == [{"state": "ON"}]
    assert watcher.on("home/kitchen/light/set") == []
