"""The memory of each conversation: the previous turn's devices, action and value, kept per conversation
(a Wyoming conversation id, an MQTT session or site, the console's session, the terminal) and forgotten
after some silence; and the room each site (satellite) is in."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from edgebrain.core.messages import Request
from edgebrain.devices.registry import Registry
from edgebrain.understand.context import Context, groups_of
from edgebrain.understand.words.reading import Understanding

KEPT = 1024  # conversations remembered at once; the oldest is forgotten first


@dataclass(frozen=True)
class Turn:
    """What one turn leaves for the next, and when."""

    context: Context
    at: float


class Conversations:
    """The previous turn of each conversation, for as long as it goes on."""

    def __init__(self, sites: Mapping[str, str] | None = None, expire_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.sites = dict(sites or {})
        self.expire_s = expire_s
        self.clock = clock
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(request: Request) -> str | None:
        """Which conversation a request belongs to: its session, else its site, else the terminal's own. A
        Rhasspy dialogue session ends with each utterance, so a Hermes request's conversation is its site."""
        if request.session and request.source != "hermes":
            return f"session:{request.session}"
        if request.site:
            return f"site:{request.site}"
        return "terminal" if request.source == "stdin" else None

    def room(self, site: str | None, registry: Registry) -> str | None:
        """The room a site is in: the ``sites`` map's, or the site itself where it names a room of the home."""
        if site is None:
            return None
        room = self.sites.get(site)
        if room is None:
            room = next((r for r in registry.rooms if r.lower() == site.lower()), None)
        return room if room in registry.rooms else None

    def context(self, request: Request, registry: Registry) -> Context:
        """What the request's conversation knows now: its room, and its previous turn unless expired."""
        room = self.room(request.site, registry)
        key = self.key(request)
        with self._lock:
            turn = self._turns.get(key) if key is not None else None
        if turn is None or self.clock() - turn.at > self.expire_s:
            return Context(room=room)
        return replace(turn.context, room=room)

    def remember(self, request: Request, understanding: Understanding, registry: Registry) -> None:
        """Keep what this turn moved or asked about for the next; a turn that did neither leaves the memory."""
        key = self.key(request)
        if key is None:
            return
        first = understanding.commands[0] if understanding.commands else None
        ids = [c.device for c in understanding.commands] or list(
            understanding.question.devices if understanding.question is not None else ())
        found = [d for i in ids if (d := registry.get(i)) is not None]
        if not found:
            return
        turn = Context(groups=groups_of(found), action=first.action if first else None,
                       value=first.value if first else None, time=first.time if first else None)
        with self._lock:
            self._turns[key] = Turn(turn, self.clock())
            self._turns.move_to_end(key)
            while len(self._turns) > KEPT:
                self._turns.popitem(last=False)
