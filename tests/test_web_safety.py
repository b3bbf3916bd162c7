"""The web console's safety promises (docs/web.md, Safety) over plain HTTP, each able to fail: the CSRF token
on every action, sign-out, the stream limit, slow and serial wrong passwords, this machine's names only
without a password, and the session cookie's flags. A real console in a dry run; no browser needed."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from http.cookies import Morsel, SimpleCookie

import pytest

from edgebrain.app.service import Service
from edgebrain.base.errors import ConfigError
from edgebrain.devices.registry import Registry
from edgebrain.transports.web.auth import COOKIE, SESSION_S, check_exposure
from edgebrain.understand.engine import Understander
from tests.broker import free_port, until
from tests.fakes import ScriptedBackend

PASSWORD = "correct horse"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PAGES = 16  # docs/web.md: at most 16 pages follow live updates at once
# A value for each path parameter of the routes, so that an action that is let through does something real.
PATH_VALUES = {"device": "kitchen_light", "action": "on", "job": "1", "name": "app.js"}


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, redirects not followed."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def cookies(self) -> dict[str, Morsel[str]]:
        """The cookies this answer sets, with their flags."""
        jar: SimpleCookie = SimpleCookie()
        for value in self.headers.get_all("Set-Cookie") or []:
            jar.load(value)
        return dict(jar)


@dataclass(frozen=True)
class Visitor:
    """A browser that has a session: its cookie value and the CSRF token the page was given."""

    cookie: str
    csrf: str


@dataclass(frozen=True)
class Console:
    """A running console and how to talk to it."""

    address: str
    port: int
    service: Service
    password: str | None

    def call(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"",
             cookie: str | None = None) -> Reply:
        """One request on a connection of its own."""
        sent = {**({"Cookie": f"{COOKIE}={cookie}"} if cookie else {}), **(headers or {})}
        connection = http.client.HTTPConnection(self.address, self.port, timeout=15)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def visit(self) -> Visitor:
        """Sign in (or, without a password, just open the page) and read the CSRF token as the page does."""
        if self.password is None:
            cookie = self.call("GET", "/api/state").cookies()[COOKIE].value
        else:
            signed = self.call("POST", "/login", body=urllib.parse.urlencode({"password": self.password}).encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert signed.status == 303, signed.body
            cookie = signed.cookies()[COOKIE].value
        state = self.call("GET", "/api/state", cookie=cookie)
        assert state.status == 200, state.body
        return Visitor(cookie, json.loads(state.body)["csrf"])

    def actions(self) -> list[tuple[str, str]]:
        """Every route of the console that is not a safe read (method, path with its parameters filled in),
        from the router itself, so that a route added later is covered too; signing in is before a session."""
        assert self.service.web is not None and self.service.web.app is not None
        found = []
        for route in self.service.web.app.router.routes():
            canonical = route.resource.canonical if route.resource is not None else ""
            path = re.sub(r"\{(\w+)[^}]*\}", lambda m: PATH_VALUES.get(m[1], "x"), canonical)
            if route.method not in SAFE_METHODS and path != "/login":
                found.append((route.method, path))
        return found


@pytest.fixture()
def start(tmp_path, registry: Registry) -> Iterator[Callable[..., Console]]:
    """Starts consoles in a dry run (no broker), closing them all at the end."""
    from edgebrain.base.config import load_settings

    started: list[Service] = []

    def starting(password: str | None = None, host: str = "127.0.0.1", port: int | None = None) -> Console:
        port = port or free_port()
        defaults = load_settings(None, environ={})
        web = replace(defaults.web, enabled=True, host=host, port=port, password=password)
        settings = replace(defaults, stdin=False, state_dir=tmp_path / f"state-{len(started)}", web=web)
        service = Service(settings, registry, Understander(registry, ScriptedBackend({})))
        service.start()
        started.append(service)
        return Console(host, port, service, password)

    yield starting
    for service in started:
        service.close()


# -- the CSRF token ----------------------------------------------------------------------------------


@pytest.mark.parametrize("password", [PASSWORD, None], ids=["password", "no-password"])
def test_every_action_needs_its_csrf_token(start, password):
    console = start(password)
    actions = console.actions()
    assert ("POST", "/api/devices/kitchen_light/on") in actions and ("POST", "/logout") in actions
    for method, path in actions:
        visitor = console.visit()  # a session each: /logout ends its own
        body = {"Content-Type": "application/json"}
        for token in (None, "forged", visitor.csrf[:-1], visitor.csrf + "x"):
            headers = {**body, **({"X-CSRF-Token": token} if token is not None else {})}
            refused = console.call(method, path, headers=headers, body=b"{}", cookie=visitor.cookie)
            assert (refused.status, refused.body) == (403, b"missing or wrong CSRF token"), (method, path, token)
        # Another session's token is as wrong as a forged one.
        other = console.visit()
        refused = console.call(method, path, headers={**body, "X-CSRF-Token": other.csrf}, body=b"{}",
                               cookie=visitor.cookie)
        assert refused.status == 403, (method, path)
        let_through = console.call(method, path, headers={**body, "X-CSRF-Token": visitor.csrf}, body=b"{}",
                                   cookie=visitor.cookie)
        assert let_through.status != 403 and b"CSRF" not in let_through.body, (method, path, let_through.body)
    # Nothing refused reached a device; the one let through did.
    assert list(console.service.router.last) == ["kitchen_light"]


def test_a_csrf_token_is_needed_whatever_the_path_looks_like(start):
    console = start(PASSWORD)
    visitor = console.visit()
    for path in ("/login/../api/devices/kitchen_light/on", "/static/..%2Fapi/devices/kitchen_light/on",
                 "//api/devices/kitchen_light/on", "/login/%2e%2e/api/text"):
        reply = console.call("POST", path, body=b"{}", cookie=visitor.cookie,
                             headers={"Content-Type": "application/json"})
        assert reply.status in (400, 403, 404, 405), (path, reply.status, reply.body)
    assert console.service.router.last == {}


# -- sessions and signing out ------------------------------------------------------------------------


def test_with_a_password_nothing_but_the_login_page_answers_without_a_session(start):
    console = start(PASSWORD)
    assert console.call("GET", "/login").status == 200
    assert console.call("GET", "/api/state").status == 401
    assert console.call("GET", "/api/events").status == 401
    page = console.call("GET", "/")
    assert (page.status, page.headers["Location"]) == (303, "/login")
    assert console.call("GET", "/api/state", cookie="made-up").status == 401
    assert console.call("POST", "/api/text", cookie="made-up", body=b'{"text": "turn on the kitchen light"}',
                        headers={"Content-Type": "application/json", "X-CSRF-Token": "made-up"}).status == 401


def test_signing_out_ends_the_session(start):
    console = start(PASSWORD)
    visitor, other = console.visit(), console.visit()
    out = console.call("POST", "/logout", headers={"X-CSRF-Token": visitor.csrf}, cookie=visitor.cookie)
    assert (out.status, out.headers["Location"]) == (303, "/login")
    gone = out.cookies()[COOKIE]
    assert (gone.value, gone["max-age"]) == ("", "0")  # the browser forgets it too
    assert console.call("GET", "/api/state", cookie=visitor.cookie).status == 401
    assert console.call("GET", "/", cookie=visitor.cookie).status == 303
    assert console.call("POST", "/api/devices/kitchen_light/on", cookie=visitor.cookie,
                        headers={"X-CSRF-Token": visitor.csrf}).status == 401
    assert console.service.router.last == {}
    # Only that session ended.
    assert console.call("GET", "/api/state", cookie=other.cookie).status == 200


# -- wrong passwords ---------------------------------------------------------------------------------


def test_wrong_passwords_cost_a_second_each_one_at_a_time(start):
    console = start(PASSWORD)
    guesses = 4
    began: list[float] = []
    together = threading.Barrier(guesses, action=lambda: began.append(time.monotonic()))

    def guess(n: int) -> int:
        together.wait(10)
        return console.call("POST", "/login", body=f"password=wrong-guess-{n}".encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}).status

    with ThreadPoolExecutor(guesses) as pool:
        statuses = list(pool.map(guess, range(guesses)))
    took = time.monotonic() - began[0]
    assert statuses == [401] * guesses
    # A second each, one after another: at least about guesses - 1 seconds in all, with a generous margin
    # (never an upper bound: the two cores are shared).
    assert took >= guesses - 1.5, f"{guesses} concurrent wrong passwords answered in {took:.2f} s"


# -- live updates ------------------------------------------------------------------------------------


def test_at_most_sixteen_pages_follow_live_updates(start):
    console = start()
    extra = 4

    def open_stream(_: int) -> tuple[http.client.HTTPConnection, int]:
        connection = http.client.HTTPConnection(console.address, console.port, timeout=15)
        connection.request("GET", "/api/events")
        response = connection.getresponse()
        if response.status == 200:
            assert response.readline() == b"event: state\n"
        return connection, response.status

    web = console.service.web
    assert web is not None
    with ThreadPoolExecutor(PAGES + extra) as pool:
        opened = list(pool.map(open_stream, range(PAGES + extra)))
    try:
        statuses = sorted(status for _, status in opened)
        assert statuses == [200] * PAGES + [503] * extra
        assert web.streams == PAGES
        # A page that goes away makes room for another.
        next(connection for connection, status in opened if status == 200).close()
        until(lambda: web.streams == PAGES - 1, 10, lambda: f"a closed stream to end ({web.streams} open)")
        again, status = open_stream(0)
        opened.append((again, status))
        assert status == 200 and web.streams == PAGES
        refused, status = open_stream(0)
        opened.append((refused, status))
        assert status == 503
    finally:
        for connection, _ in opened:
            connection.close()
    until(lambda: web.streams == 0, 10, lambda: f"every stream to end ({web.streams} open)")


# -- this machine's names only, without a password ---------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "127.0.0.1", "localhost"])
def test_without_a_password_this_machines_names_are_answered(start, host):
    console = start()
    assert console.call("GET", "/api/state", headers={"Host": host.format(port=console.port)}).status == 200


@pytest.mark.parametrize("host", ["evil.example:{port}", "192.168.1.20:{port}", "127.0.0.1.nip.io:{port}",
                                  "localhost.evil.example", "[fe80::1]:{port}", "127.0.0.2:{port}"])
def test_without_a_password_other_names_are_refused(start, host):
    console = start()
    for method, path in (("GET", "/api/state"), ("GET", "/"), ("GET", "/login"), ("POST", "/api/text")):
        reply = console.call(method, path, headers={"Host": host.format(port=console.port)})
        assert reply.status == 403, (method, path, reply.status)


@pytest.mark.parametrize("header", ["Forwarded: for=10.0.0.9", "X-Forwarded-For: 10.0.0.9", "X-Real-IP: 10.0.0.9"])
def test_without_a_password_proxied_requests_are_refused(start, header):
    console = start()
    name, value = header.split(": ")
    assert console.call("GET", "/api/state", headers={name: value}).status == 403


def test_a_console_bound_to_ipv6_loopback_needs_no_password(start):
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = int(sock.getsockname()[1])
    console = start(host="::1", port=port)
    reply = console.call("GET", "/api/state")  # http.client sends Host: [::1]:port
    assert reply.status == 200 and COOKIE in reply.cookies()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_a_loopback_host_needs_no_password(host):
    check_exposure(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.9", "fe80::1", "edgebrain.local"])
def test_a_host_reachable_from_the_network_needs_a_password(host):
    with pytest.raises(ConfigError, match=re.escape(f"web.host {host} is reachable from the network")):
        check_exposure(host, None)
    check_exposure(host, PASSWORD)


# -- the cookie --------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", [PASSWORD, None], ids=["password", "no-password"])
def test_the_session_cookie_is_httponly_and_strictly_same_site(start, password):
    console = start(password)
    visitor = console.visit()
    replies = [console.call("GET", path, cookie=visitor.cookie) for path in ("/api/state", "/")]
    if password is not None:
        replies.append(console.call("POST", "/login", body=urllib.parse.urlencode({"password": PASSWORD}).encode(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"}))
    for reply in replies:
        cookie = reply.cookies()[COOKIE]
        assert cookie["httponly"] is True and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert 0 < int(cookie["max-age"]) <= SESSION_S
        # Not Secure: the console itself speaks plain HTTP (TLS only at an optional proxy), and a Secure
        # cookie would never come back to it.
        assert not cookie["secure"]


def test_no_other_site_may_frame_the_console(start):
    console = start(PASSWORD)
    visitor = console.visit()
    for path in ("/", "/api/state", "/static/app.js"):
        reply = console.call("GET", path, cookie=visitor.cookie)
        assert reply.status == 200, path
        assert reply.headers["X-Frame-Options"] == "DENY", path
        assert reply.headers["Content-Security-Policy"] == "frame-ancestors 'none'", path
    login = console.call("GET", "/login")
    assert (login.headers["X-Frame-Options"], login.headers["Content-Security-Policy"]) == (
        "DENY", "frame-ancestors 'none'")


# -- a slider's value ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "status", "error"), [
    (b'{"value": 22}', 200, None),
    (b'{"value": 31}', 400, "31 is greater than the maximum of 30"),  # the bedroom AC takes 16-30 °C
    (b'{"value": "40"}', 400, 'set needs a number: {"value": N}'),
    (b'{"value": true}', 400, 'set needs a number: {"value": N}'),
    (b"not json", 400, 'set needs a number: {"value": N}'),
    (b"", 400, 'set needs a number: {"value": N}'),
])
def test_a_sliders_value_is_checked_like_any_command(start, body, status, error):
    console = start(PASSWORD)
    visitor = console.visit()
    reply = console.call("POST", "/api/devices/bedroom_ac/set", body=body, cookie=visitor.cookie,
                         headers={"X-CSRF-Token": visitor.csrf, "Content-Type": "application/json"})
    assert reply.status == status, reply.body
    if error is None:
        assert json.loads(reply.body)["payload"] == '{"device":"bedroom_ac","action":"set","value":22}'
        assert console.service.router.commanded["bedroom_ac"].value == 22
    else:
        assert error in json.loads(reply.body)["error"]
        assert "bedroom_ac" not in console.service.router.commanded  # nothing moved


def test_each_page_session_is_a_conversation_of_its_own(start):
    console = start(PASSWORD)
    first, second = console.visit(), console.visit()

    def say(visitor: Visitor, text: str) -> dict[str, object]:
        reply = console.call("POST", "/api/text", cookie=visitor.cookie, body=json.dumps({"text": text}).encode(),
                             headers={"X-CSRF-Token": visitor.csrf, "Content-Type": "application/json"})
        assert reply.status == 200, reply.body
        return dict(json.loads(reply.body))

    assert say(first, "turn on the kitchen light")["commands"] == [{"device": "kitchen_light", "action": "on"}]
    assert say(first, "turn it off")["commands"] == [{"device": "kitchen_light", "action": "off"}]
    other = say(second, "turn it off")  # another page never acts on this one's devices
    assert (other["status"], other["commands"], other["reply"]) == ("ask", [], "Which device do you mean?")
