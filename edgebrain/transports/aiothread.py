"""An asyncio loop in a thread of its own, for the servers a threaded daemon runs (Wyoming, the web)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from edgebrain.base.errors import ConfigError

Step = Callable[[], Awaitable[None]]


class LoopThread:
    """Starts a loop thread with a set-up step, and stops it with a tear-down step; safe to stop twice."""

    def __init__(self, name: str):
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None

    def start(self, setup: Step, what: str) -> None:
        """Run ``setup`` in the new loop; ConfigError naming ``what`` when it fails."""
        self._thread = threading.Thread(target=self._run, args=(setup, what), name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise ConfigError(f"{what}: did not start within 10 s")
        if self._failed is not None:
            raise self._failed

    def stop(self, teardown: Step) -> None:
        """Run ``teardown`` in the loop, then end it and wait for the thread."""
        loop, thread = self.loop, self._thread
        if loop is not None and thread is not None and thread.is_alive() and loop.is_running():
            async def end() -> None:
                await teardown()
                asyncio.get_running_loop().stop()
            asyncio.run_coroutine_threadsafe(end(), loop).result(10)
        if thread is not None:
            thread.join(10)

    def _run(self, setup: Step, what: str) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(setup())
        except Exception as exc:  # whatever it is, start() must hear of it, not wait
            self._failed = ConfigError(f"{what}: cannot serve: {exc}")
            _close(loop)
            return
        finally:
            self._ready.set()
        try:
            loop.run_forever()
        finally:
            _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left (clients waiting for an answer), then close the loop and its executor."""
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
