"""Reading Wyoming events with limits: a header line, optional JSON data, optional payload. A client
that sends too much, or something that is not an event, gets a clear error instead of our memory."""

from __future__ import annotations

import asyncio
import json

from wyoming.event import Event

MAX_HEADER_BYTES = 64 * 1024  # asyncio's own line limit
MAX_DATA_BYTES = 64 * 1024
MAX_PAYLOAD_BYTES = 1024 * 1024  # a second of 48 kHz stereo 32-bit audio is 384 KiB


class BadEvent(ValueError):
    """Not a Wyoming event, or one over the limits; the connection cannot go on after it."""


class BadData(BadEvent):
    """A whole event, read to its end, whose data is not a JSON object: refused, and the connection can
    go on with the next event."""


def _length(header: dict[str, object], key: str, limit: int) -> int:
    value = header.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadEvent(f"{key} must be a non-negative integer")
    if value > limit:
        raise BadEvent(f"{key} {value} is over the limit of {limit} bytes")
    return value


async def read_event(reader: asyncio.StreamReader, max_payload: int = MAX_PAYLOAD_BYTES) -> Event | None:
    """The next event; None at the end of the stream; BadEvent for anything else."""
    try:
        line = await reader.readline()
    except (ValueError, asyncio.LimitOverrunError) as exc:
        raise BadEvent(f"the header line is over the limit of {MAX_HEADER_BYTES} bytes") from exc
    if not line:
        return None
    try:
        header = json.loads(line)
    except ValueError as exc:
        raise BadEvent(f"the header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise BadEvent('the header must be a JSON object with a "type"')
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", max_payload)
    try:
        raw = await reader.readexactly(data_length) if data_length else b"{}"
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None  # the client went away in the middle of an event
    # The event was read to its end, so a refusal from here on leaves the stream at the next event.
    data = header.get("data")
    data = {} if data is None else data  # JSON null: no data
    if not isinstance(data, dict):
        raise BadData('"data" must be a JSON object')
    try:
        extra = json.loads(raw)
    except ValueError as exc:  # also a UnicodeDecodeError
        raise BadData(f"the event data is not JSON: {exc}") from exc
    if not isinstance(extra, dict):
        raise BadData("the event data must be a JSON object")
    return Event(type=header["type"], data={**data, **extra}, payload=payload)
