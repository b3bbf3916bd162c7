"""Messages held while the broker is away; those that wait too long are dropped and reported."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Bounded: a broker gone for days must not eat the Pi's memory; the oldest go first.
MAX_HELD = 10000


class Sent:
    """Whether the broker took a message: each waiter hears once, with None when the broker has it (for
    QoS 1, its acknowledgement came) or the reason it never will (held too long, refused). A message
    still held, or on its way, when the daemon dies is never heard of."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcome: tuple[str | None] | None = None
        self._waiters: list[Callable[[str | None], None]] = []

    def then(self, waiter: Callable[[str | None], None]) -> None:
        """Call ``waiter(error)`` when the outcome is known (at once if it is)."""
        with self._lock:
            if self._outcome is None:
                self._waiters.append(waiter)
                return
            error = self._outcome[0]
        waiter(error)

    def done(self, error: str | None = None) -> None:
        """The outcome: None (the broker has it) or why it never will; only the first counts."""
        with self._lock:
            if self._outcome is not None:
                return
            self._outcome = (error,)
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter(error)


@dataclass(frozen=True)
class Outgoing:
    """A message to publish, when it was first handed over, and who waits to hear that it was taken."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    created: float = 0.0
    expires: bool = True
    sent: Sent = field(default_factory=Sent, compare=False)


class Outbox:
    """Holds messages for the broker; a thread of its own drops and reports those older than the limit."""

    def __init__(self, limit_s: float, on_expired: Callable[[Outgoing], None] | None = None):
        self.limit_s = limit_s
        self.on_expired = on_expired
        self._items: deque[Outgoing] = deque(maxlen=MAX_HELD)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._items)

    def hold(self, item: Outgoing, connected: Callable[[], bool]) -> bool:
        """Keep ``item`` unless ``connected()``; True when it was kept (decided under the outbox's lock, so a
        message never slips between a flush and the connection flag)."""
        with self._lock:
            if connected():
                return False
            self._items.append(item)
        log.info("broker away: holding a message for %s", item.topic)
        return True

    def take(self) -> list[Outgoing]:
        """Empty the outbox: the messages still worth sending, in order; stale ones are reported."""
        with self._lock:
            waiting = list(self._items)
            self._items.clear()
        now = time.monotonic()
        fresh = []
        for item in waiting:
            if self._stale(item, now):
                self._expire(item)
            else:
                fresh.append(item)
        return fresh

    def expire(self) -> None:
        """Drop and report held messages older than the limit."""
        now = time.monotonic()
        with self._lock:
            old = [i for i in self._items if self._stale(i, now)]
            for item in old:
                self._items.remove(item)
        for item in old:
            self._expire(item)

    def start(self) -> None:
        """Check for stale messages in the background until stop()."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background check."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        # Twice per limit, but never a busy loop for a limit of 0, and at least once a second.
        while not self._stop.wait(max(0.05, min(1.0, self.limit_s / 2))):
            try:
                self.expire()
            except Exception:  # a report that fails must not end the checks for good
                log.exception("reporting expired messages failed")

    def _stale(self, item: Outgoing, now: float) -> bool:
        return item.expires and now - item.created > self.limit_s

    def _expire(self, item: Outgoing) -> None:
        why = f"the broker was away for more than {self.limit_s:.0f} s"
        log.error("dropped a message for %s: %s", item.topic, why)
        item.sent.done(why)
        if self.on_expired is not None:
            self.on_expired(item)
