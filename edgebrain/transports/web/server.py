"""The web console: aiohttp in a loop thread of its own, a page with no build step and nothing fetched
from outside, live updates by server-sent events, and every action through the daemon's own checks.

aiohttp because the daemon already runs asyncio servers in threads (Wyoming), it serves streams
(server-sent events) without a thread per client, and it is maintained and widely used; the HTTP
parsing is its, not ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web
from yarl import URL

from edgebrain.base.config import WebSettings
from edgebrain.transports.aiothread import LoopThread
from edgebrain.transports.web.actions import Actions, Parts, dumps
from edgebrain.transports.web.auth import COOKIE, CSRF_HEADER, Session, Sessions, check_exposure

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUSH_EVERY_S = 0.3
PING_EVERY_S = 15.0
MAX_STREAMS = 16
_OPEN_PATHS = ("/login", "/static/")
_LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
_PROXIED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
_READS = ("GET", "HEAD", "OPTIONS")


def _static(name: str) -> str:
    return (resources.files("edgebrain.transports.web") / "static" / name).read_text(encoding="utf-8")


def _page(body: str) -> str:
    """A whole page: the shared head around one page's body."""
    return _static("page.html").replace("<!--body-->", _static(body))


async def _index(request: web.Request) -> web.Response:
    """The console page."""
    return web.Response(text=_page("index.html"), content_type="text/html")


async def _login_page(request: web.Request) -> web.Response:
    """The sign-in page."""
    return web.Response(text=_page("login.html"), content_type="text/html")


async def _asset(request: web.Request) -> web.Response:
    """A script or style sheet of static/, and nothing else there."""
    name = request.match_info["name"]
    types = {"js": "text/javascript", "css": "text/css"}
    kind = types.get(name.rsplit(".", 1)[-1])
    if kind is None or "/" in name or name.startswith("."):
        raise web.HTTPNotFound()
    try:
        return web.Response(text=_static(name), content_type=kind)
    except FileNotFoundError as exc:
        raise web.HTTPNotFound() from exc


class WebConsole:
    """Serves the console at ``http://host:port/``."""

    def __init__(self, settings: WebSettings, parts: Parts):
        check_exposure(settings.host, settings.password)
        self.settings = settings
        self.parts = parts
        self.sessions = Sessions(settings.password)
        self._actions = Actions(parts)
        self._runner: web.AppRunner | None = None
        self._thread = LoopThread("web")
        self._closing: asyncio.Event | None = None  # ends the event streams, which never end by themselves
        self._failures = asyncio.Lock()
        self._streams = 0

    @property
    def app(self) -> web.Application | None:
        """The application served (its routes), once started."""
        return self._runner.app if self._runner is not None else None

    @property
    def streams(self) -> int:
        """Pages following live updates now."""
        return self._streams

    def start(self) -> None:
        """Serve in a thread of its own; ConfigError when the address cannot be served."""
        self._thread.start(self._setup, f"web {self.settings.host}:{self.settings.port}")

    def stop(self) -> None:
        """Close every connection and the server."""
        self._thread.stop(self._teardown)

    async def _setup(self) -> None:
        # A megabyte: half a minute of 16 kHz speech, the largest body the page sends.
        app = web.Application(middlewares=[self._guard], client_max_size=1024 * 1024)
        app.add_routes([
            web.get("/", _index), web.get("/login", _login_page), web.post("/login", self._login),
            web.post("/logout", self._logout), web.get("/static/{name}", _asset),
            web.get("/api/state", self._state), web.get("/api/events", self._events),
            web.post("/api/text", self._actions.text), web.post("/api/speech", self._actions.speech),
            web.post("/api/devices/{device}/{action}", self._actions.device),
            web.post("/api/jobs/{job}/cancel", self._actions.cancel),
        ])
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.settings.host, self.settings.port).start()
        log.info("web console on http://%s:%d/", self.settings.host, self.settings.port)

    async def _teardown(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- who may ---------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Sign-in for everything but the login page; the CSRF token for every action."""
        if self.sessions.open and not _local(request):
            # No password is only safe for this machine's own callers: another name pointing here (DNS
            # rebinding) or a proxy would let others act on the home.
            raise web.HTTPForbidden(text="without a password this console answers only 127.0.0.1 and localhost")
        if request.path.startswith(_OPEN_PATHS):
            return _framed(await handler(request))
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None and self.sessions.open:
            session = self.sessions.new()
        if session is None:
            if request.path.startswith("/api/"):
                raise web.HTTPUnauthorized(text="sign in first")
            raise web.HTTPSeeOther("/login")
        # Every method that may act, not just POST: a route added later with another one is covered too.
        if request.method not in _READS and not self.sessions.allows(session, request.headers.get(CSRF_HEADER)):
            raise web.HTTPForbidden(text="missing or wrong CSRF token")
        request["session"] = session
        response = await handler(request)
        _remember(response, session)
        return _framed(response)

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        session = self.sessions.sign_in(str(form.get("password", "")))
        if session is None:
            async with self._failures:  # one wrong password a second, however many connections guess
                await asyncio.sleep(1)
            page = _page("login.html").replace("<!--error-->", '<p class="error">Wrong password / 密码错误</p>')
            return web.Response(text=page, content_type="text/html", status=401)
        response = web.HTTPSeeOther("/")
        _remember(response, session)
        raise response

    async def _logout(self, request: web.Request) -> web.Response:
        self.sessions.end(request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE)
        raise response

    # -- pages and state -------------------------------------------------------------------------

    def snapshot(self, health: bool = True) -> dict[str, Any]:
        """Everything the page shows; without ``health`` (its uptime changes every second) for live updates."""
        from edgebrain.transports.web.views import devices_view, jobs_view

        state = {"devices": devices_view(self.parts.router.registry, self.parts.router),
                 "jobs": jobs_view(self.parts.schedule), **self.parts.history.snapshot()}
        return {**state, "health": self.parts.health()} if health else state

    async def _state(self, request: web.Request) -> web.Response:
        session: Session = request["session"]
        return web.json_response({**self.snapshot(), "csrf": session.csrf,
                                  "speech": self.parts.transcriber is not None,
                                  "signed_in": not self.sessions.open}, dumps=dumps)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the state whenever it changes, until the page goes away."""
        if self._streams >= MAX_STREAMS:
            raise web.HTTPServiceUnavailable(text="too many pages are open")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        self._streams += 1
        last, quiet = "", 0.0
        closing = self._closing
        try:
            while closing is not None and not closing.is_set() and _open(request):
                text = dumps(await asyncio.to_thread(self.snapshot, False))
                digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
                if digest != last:
                    last, quiet = digest, 0.0
                    await response.write(f"event: state\ndata: {text}\n\n".encode())
                elif (quiet := quiet + PUSH_EVERY_S) >= PING_EVERY_S:
                    quiet = 0.0
                    await response.write(b": ping\n\n")  # a page that went away shows up here
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closing.wait(), PUSH_EVERY_S)
        except ConnectionError:
            pass
        finally:
            self._streams -= 1
        return response

def _local(request: web.Request) -> bool:
    """True for a request addressed to this machine's own name, not passed on by a proxy."""
    host = URL(f"http://{request.host}").host or ""
    return host in _LOCAL_NAMES and not any(name in request.headers for name in _PROXIED)


def _open(request: web.Request) -> bool:
    """True while the page is still connected."""
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _framed(response: web.StreamResponse) -> web.StreamResponse:
    """No other site may show the console in a frame (clickjacking)."""
    if not response.prepared:
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def _remember(response: web.StreamResponse, session: Session) -> None:
    if not response.prepared:
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="Strict", max_age=7 * 24 * 3600)
