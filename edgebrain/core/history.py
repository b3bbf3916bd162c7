"""The last requests and refusals, in memory, for whoever watches the daemon (the web console)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

KEEP = 50


class History:
    """A bounded log of results and errors; ``version`` grows with every entry, so a watcher can tell."""

    def __init__(self, keep: int = KEEP):
        self._results: deque[dict[str, Any]] = deque(maxlen=keep)
        self._errors: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.version = 0

    def result(self, payload: dict[str, Any]) -> None:
        """Keep a result (``Result.to_dict()``)."""
        with self._lock:
            self._results.appendleft({**payload, "at": time.time()})
            self.version += 1

    def error(self, payload: dict[str, Any]) -> None:
        """Keep an error (``ErrorReply.to_dict()``)."""
        with self._lock:
            self._errors.appendleft({**payload, "at": time.time()})
            self.version += 1

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """The results and errors kept, newest first."""
        with self._lock:
            return {"results": list(self._results), "errors": list(self._errors)}
