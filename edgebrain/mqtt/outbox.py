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


class Acks:
    """QoS 1 messages on their way, by message id: each told once the broker acknowledges (or refuses) it.

    paho may hand over an acknowledgement before the sender has noted the message's id (its callback
    runs on the network thread as soon as the PUBACK is read), so an unknown id waits here a while.
    """

    EARLY_S = 60.0  # far shorter than it takes to use up 65535 message ids
    LIMIT = 1024  # ids of a lost session are never acknowledged

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[str, Sent]] = {}
        self._early: dict[int, tuple[float, str | None]] = {}

    def sent(self, mid: int, topic: str, sent: Sent) -> str | None:
        """Note a message handed to paho; the broker's refusal if its acknowledgement came first."""
        evicted: list[tuple[str, Sent]] = []
        with self._lock:
            early = self._early.pop(mid, None)
            if early is None or time.monotonic() - early[0] > self.EARLY_S:
                early = None
                self._waiting[mid] = (topic, sent)
                while len(self._waiting) > self.LIMIT:
                    evicted.append(self._waiting.pop(next(iter(self._waiting))))
        for _, lost in evicted:
            lost.done("the broker never acknowledged it")
        if early is not None:
            sent.done(_refusal(early[1]))
            return early[1]
        return None

    def acknowledged(self, mid: int, refused: str | None) -> str | None:
        """The broker's acknowledgement (``refused``: its reason for dropping it); the message's topic."""
        with self._lock:
            entry = self._waiting.pop(mid, None)
            if entry is None:
                self._early[mid] = (time.monotonic(), refused)
                while len(self._early) > self.LIMIT:
                    del self._early[next(iter(self._early))]
                return None
        entry[1].done(_refusal(refused))
        return entry[0]


def _refusal(reason: str | None) -> str | None:
    return None if reason is None else f"the broker refused it: {reason}"


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
            dropped = self._items.popleft() if len(self._items) == MAX_HELD else None
            self._items.append(item)
        log.info("broker away: holding a message for %s", item.topic)
        if dropped is not None:
            log.error("dropped a message for %s: %d messages wait for the broker", dropped.topic, MAX_HELD)
            dropped.sent.done(f"{MAX_HELD} newer messages waited for the broker")
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
        why = f"the broker was away for more than {self.limit_s:g} s"  # 0.5 s is not "0 s"
        log.error("dropped a message for %s: %s", item.topic, why)
        item.sent.done(why)
        if self.on_expired is not None:
            self.on_expired(item)
