"""Requests over MQTT: ``<prefix>/text`` (optionally a shared subscription), Rhasspy's ``hermes/nlu/query``
and ``<prefix>/listen``. Each message becomes a Request for the inbox, acknowledged once it is answered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from edgebrain.base.config import MqttSettings
from edgebrain.core.messages import Request, RequestError, Result, parse_text_message
from edgebrain.core.replies import Refuse
from edgebrain.devices.payloads import dumps
from edgebrain.mqtt.client import MqttClient
from edgebrain.mqtt.subscriptions import MessageHandler
from edgebrain.transports.hermes import HERMES_QUERY, HERMES_SAY, HermesReply, hermes_say, parse_hermes_query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttInputs:
    """Subscribes the request topics and hands what arrives to ``submit``."""

    client: MqttClient
    settings: MqttSettings
    max_text_bytes: int
    submit: Callable[[Request], None]
    refuse: Refuse
    listen: MessageHandler | None = None  # start/stop of the microphone, when there is one

    def subscribe(self) -> None:
        """Subscribe the request topics (renewed on every reconnect by the client)."""
        text_topic = f"{self.settings.prefix}/text"
        if self.settings.shared_group:
            text_topic = f"$share/{self.settings.shared_group}/{text_topic}"
        self.client.subscribe_acked(text_topic, self._on_text)
        if self.settings.hermes:
            self.client.subscribe_acked(HERMES_QUERY, self._on_hermes)
        if self.listen is not None:
            self.client.subscribe(f"{self.settings.prefix}/listen", self.listen)

    def _on_text(self, topic: str, payload: bytes, ack: Callable[[], None]) -> None:
        self._take(parse_text_message, payload, ack)

    def _on_hermes(self, topic: str, payload: bytes, ack: Callable[[], None]) -> None:
        self._take(lambda data, limit: self._answering_hermes(parse_hermes_query(data, limit)), payload, ack)

    def _take(self, parse: Callable[[bytes, int], Request], payload: bytes, ack: Callable[[], None]) -> None:
        try:
            request = parse(payload, self.max_text_bytes)
        except RequestError as exc:
            self.refuse(exc.request_id, exc.code, str(exc))
            ack()
            return
        self.submit(request.acking(ack))

    def _answering_hermes(self, request: Request) -> Request:
        return request.answering(self._hermes_answer(request))

    def _hermes_answer(self, request: Request) -> Callable[[Result], None]:
        def answer(result: Result) -> None:
            reply = HermesReply.to(request, result.commands)
            self.client.publish(reply.topic, dumps(reply.to_dict()), qos=1, retain=False, expires=False)
            if result.status in ("answered", "ask") and result.reply:
                # Nothing to act on, something to say: "yes, the porch light is on", "which device?".
                self.client.publish(HERMES_SAY, dumps(hermes_say(request, result.reply)), qos=1, retain=False,
                                    expires=False)
        return answer

