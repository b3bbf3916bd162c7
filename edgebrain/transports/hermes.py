"""Rhasspy Hermes: ``hermes/nlu/query`` in, ``intentParsed`` or ``intentNotRecognized`` out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgebrain.core.messages import Request, decode_text, json_object, new_id, optional_str, required_text
from edgebrain.devices.command import Command

HERMES_SAY = "hermes/tts/say"  # what a Rhasspy skill publishes to have a site speak
HERMES_QUERY = "hermes/nlu/query"
HERMES_PARSED = "hermes/nlu/intentParsed"
HERMES_NOT_RECOGNIZED = "hermes/nlu/intentNotRecognized"
INTENT_NAME = "edgebrain:command"


def parse_hermes_query(payload: bytes, max_bytes: int) -> Request:
    """``hermes/nlu/query``: {"input", "siteId", "sessionId", "id"?}."""
    data = json_object(decode_text(payload, max_bytes))
    request_id = optional_str(data, "id", None)
    utterance = required_text(data, "input", request_id)
    site = optional_str(data, "siteId", request_id) or "default"
    return Request(utterance, request_id or new_id(), site, "hermes", optional_str(data, "sessionId", request_id))


def _slot(name: str, value: Any) -> dict[str, Any]:
    return {"entity": f"edgebrain_{name}", "slotName": name, "rawValue": str(value), "confidence": 1.0,
            "value": {"kind": "Number" if isinstance(value, (int, float)) else "Unknown", "value": value}}


@dataclass(frozen=True)
class HermesReply:
    """Rhasspy's answer to a query: intentParsed with one slot per command field, or intentNotRecognized."""

    input: str
    id: str
    site: str
    session: str | None
    commands: tuple[Command, ...]

    @classmethod
    def to(cls, request: Request, commands: tuple[Command, ...]) -> HermesReply:
        """The reply to ``request`` for the commands read from it."""
        return cls(request.text, request.id, request.site or "default", request.session, commands)

    @property
    def topic(self) -> str:
        """Where the reply goes."""
        return HERMES_PARSED if self.commands else HERMES_NOT_RECOGNIZED

    def to_dict(self) -> dict[str, Any]:
        """The Hermes payload."""
        common = {"input": self.input, "id": self.id, "siteId": self.site, "sessionId": self.session}
        if not self.commands:
            return {**common, "customData": None}
        data = [c.to_dict() for c in self.commands]
        slots = [_slot(key, value) for fields in data for key, value in fields.items()]
        return {**common, "intent": {"intentName": INTENT_NAME, "confidenceScore": 1.0}, "slots": slots,
                "customData": json.dumps(data), "asrTokens": [], "asrConfidence": None, "rawInput": self.input,
                "wakewordId": None, "lang": None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HermesReply:
        """Read a Hermes reply back (the commands travel in customData)."""
        custom = data.get("customData")
        commands = tuple(Command.from_dict(c) for c in json.loads(custom)) if custom else ()
        return cls(str(data["input"]), str(data["id"]), str(data["siteId"]), data.get("sessionId"), commands)


def hermes_say(request: Request, text: str) -> dict[str, Any]:
    """``hermes/tts/say`` for a reply the site should speak (an answer, or a question back)."""
    return {"text": text, "siteId": request.site or "default", "sessionId": request.session, "id": request.id,
            "lang": None}
