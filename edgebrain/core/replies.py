"""Where answers go: every result on ``<prefix>/result``, and back the way its request came; errors on
``<prefix>/error`` (or the console when there is no broker)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO

from edgebrain.core.history import History
from edgebrain.core.messages import ErrorReply, Request, Result
from edgebrain.core.reply import reply_text
from edgebrain.devices.payloads import dumps
from edgebrain.devices.router import Publisher, Router
from edgebrain.mqtt.outbox import Outgoing

log = logging.getLogger(__name__)

Refuse = Callable[[str | None, str, str], None]  # (request id, code, message): Replies.error


@dataclass(frozen=True)
class Replies:
    """Publishes results and errors; the one place that knows their topics."""

    publisher: Publisher | None
    prefix: str
    out: TextIO | None
    router: Router  # its registry has the names a spoken reply uses (the registry of the moment)
    history: History  # what the web console shows

    def result(self, request: Request, result: Result) -> Result:
        """Answer a request, with a reply to say: ``<prefix>/result``, and the request's own way back."""
        if not result.reply:
            result = replace(result, reply=reply_text(result, self.router.registry))
        self.history.result(result.to_dict())
        if self.publisher is not None:
            self.publisher.publish(f"{self.prefix}/result", dumps(result.to_dict()), qos=1, retain=False,
                                   expires=False)
        if request.answer is not None:
            try:
                request.answer(result)
            except Exception:  # the commands went out already: a broken way back is logged, not an error
                log.exception("answering request %s failed", request.id)
        return result

    def error(self, request_id: str | None, code: str, message: str) -> None:
        """Say why a request was not taken."""
        log.warning("request %s refused (%s): %s", request_id or "-", code, message)
        payload = ErrorReply(request_id, code, message).to_dict()
        self.history.error(payload)
        if self.publisher is None:
            self.print(payload)
        else:
            self.publisher.publish(f"{self.prefix}/error", dumps(payload), qos=1, retain=False, expires=False)

    def expired(self, item: Outgoing) -> None:
        """A command that waited too long for the broker: say so once it is back."""
        self.error(None, "expired", f"a command for {item.topic} waited more than the outbox limit for the broker "
                                    f"and was dropped: {item.payload.decode('utf-8', 'replace')}")

    def print(self, payload: dict[str, Any]) -> None:
        """One JSON line on the console, if there is one."""
        if self.out is not None:
            self.out.write(json.dumps(payload, ensure_ascii=False) + "\n")
            self.out.flush()
