"""The daemon's messages: requests in (plain text, JSON, Rhasspy Hermes), results and errors out.

Parsing is pure and strict: whatever arrives, the caller gets a Request or a RequestError with a code
for ``<prefix>/error``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .command import Command
from .errors import InputError

HERMES_QUERY = "hermes/nlu/query"
HERMES_PARSED = "hermes/nlu/intentParsed"
HERMES_NOT_RECOGNIZED = "hermes/nlu/intentNotRecognized"
INTENT_NAME = "edgebrain:command"


class RequestError(InputError):
    """A message that is not a request; ``code`` names the problem for ``<prefix>/error``."""

    def __init__(self, code: str, message: str, request_id: str | None = None):
        super().__init__(message, code)
        self.request_id = request_id


def new_id() -> str:
    """A fresh request id, for a request that came without one."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Request:
    """One utterance to understand, where it came from, and how to answer it."""

    text: str
    id: str = field(default_factory=new_id)
    site: str | None = None
    source: str = "stdin"  # stdin | mqtt | hermes | speech | schedule
    session: str | None = None
    # Acknowledges the MQTT message once the request is answered, so a crash before that redelivers it.
    ack: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    def acking(self, ack: Callable[[], None]) -> Request:
        """The same request, acknowledged by ``ack`` when done."""
        return replace(self, ack=ack)

    def done(self) -> None:
        """Acknowledge the message this request came in."""
        if self.ack is not None:
            self.ack()


def _decode(payload: bytes, max_bytes: int) -> str:
    if len(payload) > max_bytes:
        raise RequestError("too_large", f"the message is {len(payload)} bytes; the limit is {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError("not_utf8", f"the message is not UTF-8 text (byte {exc.start})") from exc
    if "\x00" in text:
        raise RequestError("binary", "the message contains NUL bytes; binary data is not text")
    if not text.strip():
        raise RequestError("empty", "the message is empty")
    return text


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RequestError("bad_json", f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise RequestError("bad_json", "malformed JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise RequestError("bad_request", "the JSON message must be an object")
    return data


def _optional_str(data: dict[str, Any], key: str, request_id: str | None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise RequestError("bad_request", f'"{key}" must be a string', request_id)
    return str(value)[:128]


def parse_text_message(payload: bytes, max_bytes: int) -> Request:
    """``<prefix>/text``: UTF-8 text, or JSON {"text": ..., "id": ..., "site": ...}."""
    text = _decode(payload, max_bytes)
    if not text.lstrip().startswith("{"):
        return Request(text, source="mqtt")
    data = _json_object(text)
    request_id = _optional_str(data, "id", None)
    utterance = data.get("text")
    if not isinstance(utterance, str) or not utterance.strip():
        raise RequestError("bad_request", '"text" must be a non-empty string', request_id)
    extra = set(data) - {"text", "id", "site"}
    if extra:
        raise RequestError("bad_request", f"unknown keys {sorted(extra)}; a request has text, id and site",
                           request_id)
    site = _optional_str(data, "site", request_id)
    return Request(utterance, request_id or new_id(), site, "mqtt")


def parse_hermes_query(payload: bytes, max_bytes: int) -> Request:
    """``hermes/nlu/query``: {"input", "siteId", "sessionId", "id"?}."""
    data = _json_object(_decode(payload, max_bytes))
    request_id = _optional_str(data, "id", None)
    utterance = data.get("input")
    if not isinstance(utterance, str) or not utterance.strip():
        raise RequestError("bad_request", '"input" must be a non-empty string', request_id)
    site = _optional_str(data, "siteId", request_id) or "default"
    return Request(utterance, request_id or new_id(), site, "hermes",
                   _optional_str(data, "sessionId", request_id))


def result_message(request: Request, commands: tuple[Command, ...], status: str,
                   scheduled: list[dict[str, Any]] | None = None, errors: list[str] | None = None) -> dict[str, Any]:
    """The ``<prefix>/result`` payload."""
    message: dict[str, Any] = {"id": request.id, "text": request.text, "commands": [c.to_dict() for c in commands],
                               "status": status}
    if request.site is not None:
        message["site"] = request.site
    if scheduled:
        message["scheduled"] = scheduled
    if errors:
        message["errors"] = errors
    return message


def error_message(request_id: str | None, code: str, message: str) -> dict[str, Any]:
    """The ``<prefix>/error`` payload."""
    return {"id": request_id, "code": code, "message": message}


def _slot(name: str, value: Any) -> dict[str, Any]:
    return {"entity": f"edgebrain_{name}", "slotName": name, "rawValue": str(value), "confidence": 1.0,
            "value": {"kind": "Number" if isinstance(value, (int, float)) else "Unknown", "value": value}}


def hermes_reply(request: Request, commands: tuple[Command, ...]) -> tuple[str, dict[str, Any]]:
    """Rhasspy's answer to a query: intentParsed with one slot per command field, or intentNotRecognized."""
    common = {"input": request.text, "id": request.id, "siteId": request.site or "default",
              "sessionId": request.session}
    if not commands:
        return HERMES_NOT_RECOGNIZED, {**common, "customData": None}
    slots = [_slot(key, value) for c in commands for key, value in c.to_dict().items()]
    return HERMES_PARSED, {**common, "intent": {"intentName": INTENT_NAME, "confidenceScore": 1.0},
                           "slots": slots, "customData": json.dumps([c.to_dict() for c in commands]),
                           "asrTokens": [], "asrConfidence": None, "rawInput": request.text, "wakewordId": None,
                           "lang": None}
