"""Request parsing (text, JSON, Hermes) and the result, error and Hermes replies."""

from __future__ import annotations

import json

import pytest

from edgebrain.command import Command
from edgebrain.messages import (
    HERMES_NOT_RECOGNIZED,
    HERMES_PARSED,
    Request,
    RequestError,
    hermes_reply,
    parse_hermes_query,
    parse_text_message,
)


def test_plain_and_json_text():
    assert parse_text_message(b"turn on the AC", 100).text == "turn on the AC"
    request = parse_text_message(json.dumps({"text": "开空调", "id": 7, "site": "kitchen"}).encode(), 100)
    assert (request.text, request.id, request.site, request.source) == ("开空调", "7", "kitchen", "mqtt")


@pytest.mark.parametrize(("payload", "code"), [
    (b"", "empty"), (b"   \n", "empty"), (b"\xff\xfe\x00", "not_utf8"), (b"a\x00b", "binary"),
    (b"x" * 101, "too_large"), (b"{not json", "bad_json"), (b'{"id": "a"}', "bad_request"),
    (b'{"text": 5}', "bad_request"), (b'{"text": "hi", "extra": 1}', "bad_request"),
    (b'{"text": "hi", "id": [1]}', "bad_request"),
])
def test_bad_messages_get_a_code(payload, code):
    with pytest.raises(RequestError) as caught:
        parse_text_message(payload, 100)
    assert caught.value.code == code


def test_bad_message_keeps_its_id_when_it_has_one():
    with pytest.raises(RequestError) as caught:
        parse_text_message(b'{"text": "", "id": "r-9"}', 100)
    assert caught.value.request_id == "r-9"


def test_hermes_query_and_replies():
    request = parse_hermes_query(b'{"input": "turn on the AC", "siteId": "den", "sessionId": "s1"}', 1000)
    assert (request.source, request.site, request.session) == ("hermes", "den", "s1")
    topic, reply = hermes_reply(request, (Command("living_room_ac", "set", 24),))
    assert topic == HERMES_PARSED
    assert reply["intent"] == {"intentName": "edgebrain:command", "confidenceScore": 1.0}
    assert [(s["slotName"], s["value"]["value"]) for s in reply["slots"]] == [
        ("device", "living_room_ac"), ("action", "set"), ("value", 24)]
    assert (reply["siteId"], reply["sessionId"], reply["input"]) == ("den", "s1", "turn on the AC")
    topic, reply = hermes_reply(Request("tell me a joke", "x", "den", "hermes", "s2"), ())
    assert topic == HERMES_NOT_RECOGNIZED and reply["sessionId"] == "s2" and "intent" not in reply
