"""The microphone as an input of the daemon: transcripts become requests like MQTT text.

Partials go to ``<prefix>/partial`` for feedback, final transcripts to ``<prefix>/transcript``;
``start`` / ``stop`` on ``<prefix>/listen`` open and close the microphone.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..messages import Request
from .audio import AudioSource
from .recognizer import Heard, Listener

if TYPE_CHECKING:
    from ..config import ListenSettings
    from ..registry import Registry

log = logging.getLogger(__name__)

Publish = Callable[[str, str, int], None]


@dataclass(frozen=True)
class Microphone:
    """What the daemon listens with: a recognizer, how to open the audio, and whether to open it at start."""

    listener: Listener
    open_source: Callable[[], AudioSource]
    open_at_start: bool


def microphone(settings: ListenSettings, registry: Registry) -> Microphone:
    """The microphone of the settings: its Vosk model (with the registry's words as hints if asked)."""
    from .audio import MicSource
    from .recognizer import load_model, phrase_list
    from .voskmodel import resolve_vosk

    listener = Listener(load_model(resolve_vosk(settings.model)),
                        phrase_list(registry) if settings.phrases else None, settings.silence_ms)
    return Microphone(listener, lambda: MicSource(settings.device), settings.open_at_start)


class SpeechInput:
    """Runs a Listener over an audio source in its own thread while the microphone is open."""

    def __init__(self, listener: Listener, open_source: Callable[[], AudioSource], submit: Callable[[Request], None],
                 publish: Publish | None, prefix: str):
        self.listener = listener
        self.open_source = open_source
        self.submit = submit
        self.publish = publish
        self.prefix = prefix
        self._source: AudioSource | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """True while the microphone is open."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Open the microphone (again) and listen."""
        with self._lock:
            if self.open:
                return
            self._source = self.open_source()
            self._thread = threading.Thread(target=self._run, args=(self._source,), name="listen", daemon=True)
            self._thread.start()
            log.info("microphone open")

    def stop(self) -> None:
        """Close the microphone; an utterance in progress is finished first."""
        with self._lock:
            source, thread = self._source, self._thread
            self._source, self._thread = None, None
        if source is not None:
            source.close()
        if thread is not None:
            thread.join(timeout=10)
            log.info("microphone closed")

    def command(self, topic: str, payload: bytes) -> None:
        """``start`` or ``stop`` from ``<prefix>/listen``."""
        word = payload.decode("utf-8", "replace").strip().lower()
        if word == "start":
            self.start()
        elif word == "stop":
            self.stop()
        else:
            log.warning("%s: expected start or stop, not %r", topic, word[:40])

    def _run(self, source: AudioSource) -> None:
        try:
            self.listener.listen(source, self._on_heard, self._on_partial)
        except Exception:  # a broken audio device must not take the daemon down
            log.exception("listening stopped")

    def _on_partial(self, text: str) -> None:
        if self.publish is not None:
            self.publish(f"{self.prefix}/partial", json.dumps({"text": text}, ensure_ascii=False), 0)

    def _on_heard(self, heard: Heard) -> None:
        request = Request(heard.text, source="speech")
        log.info("heard %r (%.0f ms after the end of speech)", heard.text, heard.speech_end_to_text_ms)
        if self.publish is not None:
            self.publish(f"{self.prefix}/transcript", json.dumps(
                {"id": request.id, "text": heard.text,
                 "timings_ms": {"speech_end_to_text": round(heard.speech_end_to_text_ms, 1)}},
                ensure_ascii=False), 1)
        self.submit(request)
