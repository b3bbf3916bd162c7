"""The daemon's messages: requests in (plain text or JSON), results and errors out.

Parsing is pure and strict: whatever arrives, the caller gets a Request or a RequestError with a code
for ``<prefix>/error``. Every message out is a frozen dataclass with ``to_dict()`` and ``from_dict()``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from edgebrain.base.errors import InputError
from edgebrain.devices.command import Command


class RequestError(InputError):
    """A message that is not a request; ``code`` names the problem for ``<prefix>/error``."""

    def __init__(self, code: str, message: str, request_id: str | None = None):
        super().__init__(message, code)
        self.request_id = request_id


def new_id() -> str:
    """A fresh request id, for a request that came without one."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Result:
    """What became of one request (``<prefix>/result``); its status follows from what happened."""

    id: str
    text: str
    commands: tuple[Command, ...] = ()
    site: str | None = None
    routed: int = 0  # commands sent now
    scheduled: tuple[dict[str, Any], ...] = ()  # jobs, as Job.to_dict()
    errors: tuple[str, ...] = ()
    missed: bool = False  # a timed command that could not fire in time
    reply: str = ""  # a short sentence to say, in the language of the request
    answer: dict[str, Any] | None = None  # a question's answer (Answer.to_dict()): nothing moved
    # The choices (groups of device ids) a request that refers to several things, or to nothing, is asked
    # about; nothing moved.
    clarify: tuple[tuple[str, ...], ...] | None = None

    @property
    def status(self) -> str:
        """answered, ask, rejected, missed, routed, scheduled or none."""
        if self.answer is not None:
            return "answered"
        if self.clarify is not None:
            return "ask"
        if self.errors:
            return "rejected"
        if self.missed:
            return "missed"
        return "routed" if self.routed else "scheduled" if self.scheduled else "none"

    def to_dict(self) -> dict[str, Any]:
        """The ``<prefix>/result`` payload."""
        message: dict[str, Any] = {"id": self.id, "text": self.text, "commands": [c.to_dict() for c in self.commands],
                                   "status": self.status}
        if self.site is not None:
            message["site"] = self.site
        if self.scheduled:
            message["scheduled"] = list(self.scheduled)
        if self.errors:
            message["errors"] = list(self.errors)
        if self.reply:
            message["reply"] = self.reply
        if self.answer is not None:
            message["answer"] = self.answer
        if self.clarify is not None:
            message["clarify"] = [list(group) for group in self.clarify]
        return message

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """Read a ``<prefix>/result`` payload back."""
        status = data["status"]
        return cls(str(data["id"]), str(data["text"]), tuple(Command.from_dict(c) for c in data["commands"]),
                   data.get("site"), 1 if status == "routed" else 0, tuple(data.get("scheduled", ())),
                   tuple(data.get("errors", ())), status == "missed", str(data.get("reply", "")),
                   data.get("answer"),
                   tuple(tuple(g) for g in data["clarify"]) if data.get("clarify") is not None else None)


@dataclass(frozen=True)
class ErrorReply:
    """A request that could not be taken (``<prefix>/error``): its id if known, a code and why."""

    id: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The ``<prefix>/error`` payload."""
        return {"id": self.id, "code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorReply:
        """Read an ``<prefix>/error`` payload back."""
        return cls(data.get("id"), str(data["code"]), str(data["message"]))


@dataclass(frozen=True)
class Request:
    """One utterance to understand, where it came from, and how to answer it."""

    text: str
    id: str = field(default_factory=new_id)
    site: str | None = None
    source: str = "stdin"  # stdin | mqtt | hermes | speech | schedule
    session: str | None = None
    # The request this one goes on from (the same utterance, heard further): what it did is not redone.
    continues: str | None = None
    # Acknowledges the MQTT message once the request is answered, so a crash before that redelivers it.
    ack: Callable[[], None] | None = field(default=None, compare=False, repr=False)
    # The way back to whoever asked (a terminal, a Hermes session), besides ``<prefix>/result``.
    answer: Callable[[Result], None] | None = field(default=None, compare=False, repr=False)

    def acking(self, ack: Callable[[], None]) -> Request:
        """The same request, acknowledged by ``ack`` when done."""
        return replace(self, ack=ack)

    def answering(self, answer: Callable[[Result], None]) -> Request:
        """The same request, also answered by ``answer``."""
        return replace(self, answer=answer)

    def done(self) -> None:
        """Acknowledge the message this request came in."""
        if self.ack is not None:
            self.ack()


def decode_text(payload: bytes, max_bytes: int) -> str:
    """The payload as text, or RequestError when it is too large, binary or empty."""
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


def json_object(text: str) -> dict[str, Any]:
    """The text as a JSON object, or RequestError."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RequestError("bad_json", f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise RequestError("bad_json", "malformed JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise RequestError("bad_request", "the JSON message must be an object")
    return data


def optional_str(data: Mapping[str, Any], key: str, request_id: str | None) -> str | None:
    """``data[key]`` as a short string, None when absent; RequestError for other types."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise RequestError("bad_request", f'"{key}" must be a string', request_id)
    return str(value)[:128]


def required_text(data: Mapping[str, Any], key: str, request_id: str | None) -> str:
    """``data[key]`` as a non-empty string, or RequestError."""
    utterance = data.get(key)
    if not isinstance(utterance, str) or not utterance.strip():
        raise RequestError("bad_request", f'"{key}" must be a non-empty string', request_id)
    return utterance


def parse_text_message(payload: bytes, max_bytes: int) -> Request:
    """``<prefix>/text``: UTF-8 text, or JSON {"text": ..., "id": ..., "site": ..., "session": ...}."""
    text = decode_text(payload, max_bytes)
    if not text.lstrip().startswith("{"):
        return Request(text, source="mqtt")
    data = json_object(text)
    request_id = optional_str(data, "id", None)
    utterance = required_text(data, "text", request_id)
    extra = set(data) - {"text", "id", "site", "session"}
    if extra:
        raise RequestError("bad_request", f"unknown keys {sorted(extra)}; a request has text, id, site and session",
                           request_id)
    site = optional_str(data, "site", request_id)
    return Request(utterance, request_id or new_id(), site, "mqtt", optional_str(data, "session", request_id))
