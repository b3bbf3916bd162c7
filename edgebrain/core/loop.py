"""A thread that runs one step over and over until stopped, and says whether it still comes round."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Loop:
    """Runs ``step`` in a daemon thread; each round is a heartbeat that ``healthy`` checks."""

    def __init__(self, name: str, step: Callable[[], None]):
        self.name = name
        self._step = step
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._beat = time.monotonic()

    @property
    def stopping(self) -> bool:
        """True once stop() was called: a step should return soon."""
        return self._stop.is_set()

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, wake: Callable[[], None] | None = None) -> None:
        """Ask the loop to stop, ``wake`` a step that may be waiting, and wait for the round in hand."""
        self._stop.set()
        if wake is not None:
            wake()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def healthy(self, stuck_after_s: float) -> bool:
        """True while the thread runs and came round within ``stuck_after_s``."""
        return (self._thread is not None and self._thread.is_alive()
                and time.monotonic() - self._beat < stuck_after_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._beat = time.monotonic()
            self._step()
