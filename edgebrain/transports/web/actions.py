"""What the console's buttons and text box do: each through the daemon's own checks."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from edgebrain.base.errors import CommandError, EdgebrainError, InputError
from edgebrain.core.history import History
from edgebrain.core.messages import Request
from edgebrain.core.schedule import Schedule
from edgebrain.devices.command import Command, check
from edgebrain.devices.router import Router
from edgebrain.listen.transcriber import Transcriber
from edgebrain.transports.asking import ask
from edgebrain.transports.web.auth import COOKIE


@dataclass(frozen=True)
class Parts:
    """What the console shows and acts on: the daemon's own parts."""

    router: Router  # and the registry in use, which a home changed on the broker replaces
    schedule: Schedule
    submit: Callable[[Request], None]
    history: History
    health: Callable[[], dict[str, Any]]
    transcriber: Transcriber | None  # push-to-talk; None: no button


def _loads_or_none(text: str) -> Any:
    """A body's JSON, or None when it is not JSON (answered as a missing value, not a server error)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def dumps(data: Any) -> str:
    """JSON with Chinese as it is."""
    return json.dumps(data, ensure_ascii=False)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="the body must be JSON") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


class Actions:
    """The console's actions: a request in words, a device's action, a job cancelled."""

    def __init__(self, parts: Parts):
        self.parts = parts
        self._hearing = asyncio.Lock()  # one transcription at a time: each may be half a minute of audio

    async def text(self, request: web.Request) -> web.Response:
        """A request in words, through the inbox like ``<prefix>/text``."""
        body = await _json(request)
        return await self._ask(str(body.get("text", "")), request)

    async def speech(self, request: web.Request) -> web.Response:
        """A request spoken into the page: 16 kHz mono 16-bit PCM, transcribed here, then asked."""
        transcriber = self.parts.transcriber
        if transcriber is None:
            return web.json_response({"error": "speech to text is off here"}, status=404)
        pcm = await request.read()
        if not pcm or len(pcm) % 2:
            return web.json_response({"error": "the body must be 16-bit PCM audio"}, status=400)
        if self._hearing.locked():
            return web.json_response({"error": "another recording is being transcribed; try again"}, status=503)

        def transcribe() -> str:
            stream = transcriber.stream()
            stream.feed(pcm)
            return stream.text()

        async with self._hearing:
            heard = await asyncio.to_thread(transcribe)
        if not heard:
            return web.json_response({"error": "nothing was heard", "transcript": ""}, status=422, dumps=dumps)
        return await self._ask(heard, request)

    async def _ask(self, text: str, request: web.Request) -> web.Response:
        # The page's conversation is its session: "turn it off" follows what this page asked before. The
        # cookie itself stays a secret: the conversation is named by a digest of it.
        cookie = request.cookies.get(COOKIE, "")
        session = "web-" + hashlib.sha256(cookie.encode()).hexdigest()[:16] if cookie else "web"
        try:
            result = await ask(self.parts.submit, text, "web", session=session)
        except InputError as exc:
            return web.json_response({"error": str(exc)}, status=400, dumps=dumps)
        except TimeoutError:
            return web.json_response({"error": "edgebrain took too long to answer"}, status=504, dumps=dumps)
        if result is None:
            return web.json_response({"error": "edgebrain could not take this request now"}, status=503)
        return web.json_response(result.to_dict(), dumps=dumps)

    async def device(self, request: web.Request) -> web.Response:
        """One action of one device, checked as a Home Assistant command is; ``set`` takes ``{"value": N}``
        (a slider)."""
        value = None
        if request.match_info["action"] == "set":
            body = await request.json(loads=_loads_or_none) if request.can_read_body else None
            value = body.get("value") if isinstance(body, dict) else None
            if not isinstance(value, int | float) or isinstance(value, bool):
                return web.json_response({"error": "set needs a number: {\"value\": N}"}, status=400, dumps=dumps)
        command = Command(request.match_info["device"], request.match_info["action"], value)
        try:
            delivery = await asyncio.to_thread(
                lambda: self.parts.router.route(check(command, self.parts.router.registry)))
        except (CommandError, InputError) as exc:
            return web.json_response({"error": str(exc)}, status=400, dumps=dumps)
        return web.json_response({"device": delivery.device, "via": delivery.via, "topic": delivery.topic,
                                  "payload": delivery.payload}, dumps=dumps)

    async def cancel(self, request: web.Request) -> web.Response:
        """Cancel a pending timed command."""
        try:
            job = await asyncio.to_thread(self.parts.schedule.cancel, int(request.match_info["job"]))
        except (EdgebrainError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400, dumps=dumps)
        return web.json_response(job.to_dict(), dumps=dumps)
