"""Request parsing (text, JSON, Hermes) and the result, error and Hermes replies."""

from __future__ import annotations

import json

import pytest

from edgebrain.core.messages import ErrorReply, Request, RequestError, Result, parse_text_message
from edgebrain.devices.command import Command
from edgebrain.transports.hermes import HERMES_NOT_RECOGNIZED, HERMES_PARSED, HermesReply, parse_hermes_query


def test_plain_and_json_text():
    assert parse_text_message(b"turn on the AC", 100).text == "turn on the AC"
    request = parse_text_message(json.dumps({"text": "开空调", "id": 7, "site": "kitchen"}).encode(), 100)
    assert (request.text, request.id, request.site, request.source) == ("开空调", "7", "kitchen", "mqtt")
    talk = parse_text_message(json.dumps({"text": "turn it off", "session": "s1"}).encode(), 100)
    assert (talk.session, talk.site) == ("s1", None)  # the conversation it goes on


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
    parsed = HermesReply.to(request, (Command("living_room_ac", "set", 24),))
    topic, reply = parsed.topic, parsed.to_dict()
    assert topic == HERMES_PARSED and HermesReply.from_dict(reply) == parsed
    assert reply["intent"] == {"intentName": "edgebrain:command", "confidenceScore": 1.0}
    assert [(s["slotName"], s["value"]["value"]) for s in reply["slots"]] == [
        ("device", "living_room_ac"), ("action", "set"), ("value", 24)]
    assert (reply["siteId"], reply["sessionId"], reply["input"]) == ("den", "s1", "turn on the AC")
    unknown = HermesReply.to(Request("tell me a joke", "x", "den", "hermes", "s2"), ())
    topic, reply = unknown.topic, unknown.to_dict()
    assert HermesReply.from_dict(reply) == unknown
    assert topic == HERMES_NOT_RECOGNIZED and reply["sessionId"] == "s2" and "intent" not in reply


@pytest.mark.parametrize(("result", "status"), [
    (Result("a", "hi"), "none"),
    (Result("b", "turn on the AC", (Command("living_room_ac", "on"),), "den", routed=1), "routed"),
    (Result("c", "at 8", (Command("living_room_ac", "on", None, "08:00"),), scheduled=({"id": 1},)), "scheduled"),
    (Result("d", "too hot", errors=("out of range",)), "rejected"),
    (Result("job-4", "", (Command("living_room_ac", "on"),), scheduled=({"id": 4},), missed=True), "missed"),
    (Result("e", "is it on?", answer={"kind": "yes", "devices": ["x"], "states": []}), "answered"),
    (Result("f", "turn it off", clarify=(("a",), ("b", "c"))), "ask"),
    (Result("g", "turn it off", clarify=()), "ask"),
])
def test_result_status_follows_from_what_happened_and_survives_a_round_trip(result, status):
    payload = result.to_dict()
    assert payload["status"] == status
    assert Result.from_dict(json.loads(json.dumps(payload))).to_dict() == payload
    assert ("site" in payload, "scheduled" in payload, "errors" in payload) == (
        result.site is not None, bool(result.scheduled), bool(result.errors))


def test_error_reply_round_trip():
    error = ErrorReply("r-1", "busy", "too many requests are waiting; try again")
    assert error.to_dict() == {"id": "r-1", "code": "busy", "message": "too many requests are waiting; try again"}
    assert ErrorReply.from_dict(error.to_dict()) == error
