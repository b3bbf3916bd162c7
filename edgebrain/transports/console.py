"""The terminal as a transport: one request per line of stdin, each answered on stdout before the next."""

from __future__ import annotations

import threading
from typing import BinaryIO, TextIO

from edgebrain.core.inbox import Inbox
from edgebrain.core.messages import Request
from edgebrain.core.replies import Replies

HINT = "type a request and press Enter; Ctrl-D or Ctrl-C leaves"


def read_lines(inbox: Inbox, replies: Replies, stop: threading.Event, stdin: BinaryIO,
               prompt: TextIO | None) -> None:
    """Submit each line of ``stdin`` as a request until it ends or ``stop`` is set; with ``prompt`` (a
    terminal) show a hint once and a prompt before each line."""
    if prompt is not None:
        print(HINT, file=prompt, flush=True)
    while not stop.is_set():
        if prompt is not None:
            print("> ", end="", file=prompt, flush=True)
        raw = stdin.readline()
        if not raw:
            return
        text = raw.decode("utf-8", errors="replace").strip()
        if text:
            inbox.submit(Request(text).answering(lambda result: replies.print(result.to_dict())))
            inbox.drain()  # answer before the next prompt
