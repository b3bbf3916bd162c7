"""Ask the daemon from an asyncio server (Wyoming, the web): hand a request to the inbox and await its
result, which the inbox's worker thread delivers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError

from edgebrain.core.messages import Request, Result
from edgebrain.understand.words.reading import clean_text

ANSWER_TIMEOUT_S = 30.0  # how long a Wyoming client or a page waits for the inbox


async def ask(submit: Callable[[Request], None], text: str, source: str, timeout_s: float = ANSWER_TIMEOUT_S,
              session: str | None = None, site: str | None = None) -> Result | None:
    """The result of ``text``; None when the request ended without one (busy, failed). InputError for
    text that is not an utterance, TimeoutError after ``timeout_s`` (the request may still be carried out).
    ``session`` and ``site``: the conversation it belongs to and where it was said."""
    clean_text(text)
    answered: Future[Result | None] = Future()

    def answer(result: Result) -> None:
        # The asker may have given up (timeout) at any moment: never an error in the worker thread.
        with contextlib.suppress(InvalidStateError):
            answered.set_result(result)

    def done() -> None:
        with contextlib.suppress(InvalidStateError):
            answered.set_result(None)  # refused (busy) or failed before an answer

    submit(Request(text, site=site, source=source, session=session).answering(answer).acking(done))
    return await asyncio.wait_for(asyncio.wrap_future(answered), timeout_s)
