"""Who may use the web console: a password, sessions by cookie, and a CSRF token on every action."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

from edgebrain.base.errors import ConfigError

COOKIE = "edgebrain_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_S = 7 * 24 * 3600
MAX_SESSIONS = 64


MIN_PASSWORD = 8


def check_exposure(host: str, password: str | None) -> None:
    """ConfigError when the console would be reachable from the network without a password, or when the
    password is too short to stand guessing."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise ConfigError(f"web.password: at least {MIN_PASSWORD} characters")
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local and not password:
        raise ConfigError(f"web.host {host} is reachable from the network: set web.password_file (or bind the "
                          "console to 127.0.0.1)")


@dataclass(frozen=True)
class Session:
    """One signed-in browser: its cookie value, its CSRF token and when it expires."""

    token: str
    csrf: str
    expires: float


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class Sessions:
    """Sessions in memory: a restart signs everyone out, which is the safe way round."""

    def __init__(self, password: str | None):
        self.password = password
        self._sessions: dict[str, Session] = {}

    @property
    def open(self) -> bool:
        """True when no password is needed (the console is bound to this machine only)."""
        return not self.password

    def sign_in(self, password: str) -> Session | None:
        """A new session for the right password; None for a wrong one."""
        # Digests compare in constant time whatever the lengths.
        if self.password and not hmac.compare_digest(_digest(password), _digest(self.password)):
            return None
        return self.new()

    def new(self) -> Session:
        """A fresh session (the oldest goes when there are too many)."""
        now = time.time()
        self._sessions = {t: s for t, s in self._sessions.items() if s.expires > now}
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + SESSION_S)
        self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of a cookie value."""
        session = self._sessions.get(token or "")
        return session if session is not None and session.expires > time.time() else None

    def end(self, token: str | None) -> None:
        """Sign a session out."""
        self._sessions.pop(token or "", None)

    @staticmethod
    def allows(session: Session, csrf: str | None) -> bool:
        """True when an action carries its session's CSRF token."""
        return bool(csrf) and hmac.compare_digest((csrf or "").encode(), session.csrf.encode())
