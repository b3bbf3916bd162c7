"""Requests over a real Mosquitto understood by the real model: Chinese plain text on ``<prefix>/text``
and Rhasspy Hermes queries (Chinese and English) reach the device topics, with exact payloads, results
and Hermes replies."""

from __future__ import annotations

import json

import pytest

from edgebrain.app.service import Service
from tests.broker import Seen, service_settings

pytestmark = pytest.mark.model


@pytest.fixture()
def service(tmp_path, broker, understander):
    running = Service(service_settings(tmp_path / "state", broker.port), understander.registry, understander)
    running.start()
    assert running.mqtt is not None and running.mqtt.wait_connected(10)
    yield running
    running.close()


def test_chinese_plain_text_reaches_the_device(service, watcher):
    watcher.publish("eb/text", "打开厨房灯")
    assert watcher.wait_for("home/kitchen/light/set") == [Seen("home/kitchen/light/set", b'{"state":"ON"}', 1, False)]
    (result,) = [json.loads(s.payload) for s in watcher.wait_for("eb/result")]
    assert result == {"id": result["id"], "text": "打开厨房灯", "status": "routed",
                      "commands": [{"device": "kitchen_light", "action": "on"}], "reply": result["reply"]}
    assert result["reply"] == "已打开厨房灯。"  # the reply is in the language of the request
    watcher.publish("eb/text", json.dumps({"text": "把卧室空调调到二十五度", "id": "zh-2", "site": "卧室"}))
    assert watcher.wait_for("home/bedroom/ac/set") == [
        Seen("home/bedroom/ac/set", b'{"device":"bedroom_ac","action":"set","value":25}', 1, False)]
    second = [json.loads(s.payload) for s in watcher.wait_for("eb/result", 2)][1]
    assert (second["id"], second["site"], second["status"], second["commands"]) == (
        "zh-2", "卧室", "routed", [{"device": "bedroom_ac", "action": "set", "value": 25}])


def hermes_slots(command: dict[str, object]) -> list[dict[str, object]]:
    """The slots Rhasspy expects for one command's fields."""
    return [{"entity": f"edgebrain_{key}", "slotName": key, "rawValue": str(value), "confidence": 1.0,
             "value": {"kind": "Number" if isinstance(value, int) else "Unknown", "value": value}}
            for key, value in command.items()]


@pytest.mark.parametrize(("text", "topic", "payload", "command"), [
    ("把卧室空调调到二十五度", "home/bedroom/ac/set", b'{"device":"bedroom_ac","action":"set","value":25}',
     {"device": "bedroom_ac", "action": "set", "value": 25}),
    ("close the living room curtains", "home/living_room/curtains/set", b'{"state":"CLOSE"}',
     {"device": "living_room_curtains", "action": "close"}),
])
def test_a_hermes_query_reaches_the_device_and_is_answered(service, watcher, text, topic, payload, command):
    watcher.publish("hermes/nlu/query", json.dumps({"input": text, "siteId": "bedroom", "sessionId": "s1", "id": "h1"}))
    assert watcher.wait_for(topic) == [Seen(topic, payload, 1, False)]
    (parsed,) = [json.loads(s.payload) for s in watcher.wait_for("hermes/nlu/intentParsed")]
    assert parsed == {"input": text, "id": "h1", "siteId": "bedroom", "sessionId": "s1",
                      "intent": {"intentName": "edgebrain:command", "confidenceScore": 1.0},
                      "slots": hermes_slots(command), "customData": json.dumps([command]), "asrTokens": [],
                      "asrConfidence": None, "rawInput": text, "wakewordId": None, "lang": None}
    (result,) = [json.loads(s.payload) for s in watcher.wait_for("eb/result")]
    assert (result["id"], result["site"], result["status"]) == ("h1", "bedroom", "routed")
    assert result["commands"] == [command]
    assert watcher.on("hermes/nlu/intentNotRecognized") == []


def test_a_hermes_query_that_is_not_a_command_moves_nothing(service, watcher):
    watcher.publish("hermes/nlu/query", json.dumps({"input": "给我讲个笑话", "siteId": "den", "sessionId": "s2"}))
    (answer,) = [json.loads(s.payload) for s in watcher.wait_for("hermes/nlu/intentNotRecognized")]
    assert answer == {"input": "给我讲个笑话", "id": answer["id"], "siteId": "den", "sessionId": "s2",
                      "customData": None}
    (result,) = [json.loads(s.payload) for s in watcher.wait_for("eb/result")]
    assert (result["id"], result["status"], result["commands"]) == (answer["id"], "none", [])
    assert watcher.on("home/#") == [] and watcher.on("hermes/nlu/intentParsed") == []
