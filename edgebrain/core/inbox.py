"""The one inbox every transport hands its requests to: repeats dropped, a bounded queue, one worker."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable

from edgebrain.core.loop import Loop
from edgebrain.core.messages import Request
from edgebrain.core.replies import Refuse

log = logging.getLogger(__name__)

REMEMBERED_IDS = 4096


class Inbox:
    """Queues requests and works them one at a time in its own thread."""

    def __init__(self, handle: Callable[[Request], object], refuse: Refuse, max_queue: int):
        self._handle = handle
        self._refuse = refuse
        self._requests: queue.Queue[Request | None] = queue.Queue(maxsize=max_queue)
        # Ids answered lately: a request the broker delivers again (QoS 1, a reconnect) is not redone.
        self._seen: OrderedDict[str, None] = OrderedDict()
        # Copies of requests still waiting, acknowledged only once the request is answered: a daemon that
        # died before that must get the request again.
        self._copies: dict[str, list[Request]] = {}
        self._seen_lock = threading.Lock()
        self._loop = Loop("work", self._work)
        self.handled = 0

    def submit(self, request: Request) -> None:
        """Queue a request; a full queue is answered with an error instead of growing without end."""
        with self._seen_lock:
            if request.id in self._seen:
                if request.id in self._copies:
                    log.info("request %s was delivered again; it is waiting to be answered", request.id)
                    self._copies[request.id].append(request)
                else:
                    log.info("request %s was delivered again; it is answered already", request.id)
                    request.done()
                return
            try:
                self._requests.put_nowait(request)
            except queue.Full:
                self._refuse(request.id, "busy", "too many requests are waiting; try again")
                request.done()
                return  # not remembered: the same id may come again
            self._seen[request.id] = None
            self._copies[request.id] = []
            if len(self._seen) > REMEMBERED_IDS:
                # Forget the oldest answered ids; never one still waiting (it would be worked twice).
                for old in [i for i in self._seen if i not in self._copies][:len(self._seen) - REMEMBERED_IDS]:
                    del self._seen[old]

    def start(self) -> None:
        """Start the worker thread."""
        self._loop.start()

    def stop(self) -> None:
        """Finish the request in hand, then stop the worker."""
        self._loop.stop(self._wake)

    def _wake(self) -> None:
        with contextlib.suppress(queue.Full):
            self._requests.put_nowait(None)

    def drain(self) -> None:
        """Wait until every queued request is answered."""
        self._requests.join()

    def healthy(self, stuck_after_s: float) -> bool:
        """True while the worker runs and came round recently."""
        return self._loop.healthy(stuck_after_s)

    def _work(self) -> None:
        try:
            request = self._requests.get(timeout=1.0)
        except queue.Empty:
            return
        failed = False
        try:
            if request is not None:
                self.handled += 1
                self._handle(request)
        except Exception:  # one bad request never stops the daemon
            log.exception("request failed")
            if request is not None:
                self._refuse(request.id, "internal", "edgebrain failed on this request; see its log")
                failed = True
        finally:
            if request is not None:
                with self._seen_lock:  # one hold: a copy arriving now is either kept here or a new request
                    copies = self._copies.pop(request.id, [])
                    if failed:
                        self._seen.pop(request.id, None)  # a retry is worked again
                for answered in (request, *copies):
                    answered.done()
            self._requests.task_done()
