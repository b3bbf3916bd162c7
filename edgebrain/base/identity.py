"""Who this installation is on the broker: a random id made at first start and kept in ``state_dir``, so
that two boards with one host name (every Pi is "raspberrypi") never share a session or entities."""

from __future__ import annotations

import logging
import re
import secrets
import socket
from pathlib import Path

log = logging.getLogger(__name__)

FILE = "installation-id"
TAKEN_OVER_FILE = "session-taken-over"  # written when another client took this daemon's session


def installation_id(state_dir: Path) -> str:
    """This installation's id (8 hex digits): read from ``state_dir``, or made and kept there."""
    path = state_dir / FILE
    try:
        found = path.read_text(encoding="utf-8").strip()
        if re.fullmatch(r"[0-9a-f]{8}", found):
            return found
    except OSError:
        pass
    made = secrets.token_hex(4)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(made + "\n", encoding="utf-8")
    except OSError as exc:  # read-only state: this run gets its own id, the next another
        log.warning("cannot keep the installation id in %s (%s); using %s for this run", path, exc, made)
    return made


def default_client_id(state_dir: Path) -> str:
    """``edgebrain-<host name>-<installation id>``: readable, and unique per installation."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:24] or "host"
    return f"edgebrain-{host}-{installation_id(state_dir)}"


def keep_note(state_dir: Path, name: str, line: str, what: str) -> None:
    """Write one line in ``state_dir/name`` for `edgebrain doctor`; a read-only state dir only logs ``what``."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / name).write_text(f"{line}\n", encoding="utf-8")
    except OSError as exc:
        log.warning("cannot note %s in %s: %s", what, state_dir, exc)


def note_taken_over(state_dir: Path, client_id: str) -> None:
    """Keep, for `edgebrain doctor`, that another client took the session of ``client_id``."""
    keep_note(state_dir, TAKEN_OVER_FILE, client_id, "the session take-over")


def taken_over(state_dir: Path, client_id: str) -> float | None:
    """When the running daemon last lost its session to a client with its id (epoch seconds), if it did."""
    path = state_dir / TAKEN_OVER_FILE
    try:
        if path.read_text(encoding="utf-8").strip() == client_id:
            return path.stat().st_mtime
    except OSError:
        pass
    return None


def forget_taken_over(state_dir: Path) -> None:
    """A fresh start: what happened to an earlier run is no longer news."""
    (state_dir / TAKEN_OVER_FILE).unlink(missing_ok=True)
