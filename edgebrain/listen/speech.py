"""The microphone as an input of the daemon: transcripts become requests like MQTT text.

Partials go to ``<prefix>/partial`` for feedback, transcripts to ``<prefix>/transcript``, and whether
the microphone takes requests now to ``<prefix>/listening`` (retained ON/OFF); ``start`` / ``stop`` on
``<prefix>/listen`` open and close the microphone. With a gate (a wake phrase or a push-to-talk button)
the microphone opens for one request at a time.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from edgebrain.core.messages import Request
from edgebrain.listen.audio import AudioSource, Block
from edgebrain.listen.button import IDLE, LISTENING, THINKING, Indicator
from edgebrain.listen.recognizer import Heard, Listener

if TYPE_CHECKING:
    from edgebrain.base.config import ListenSettings
    from edgebrain.devices.registry import Registry

log = logging.getLogger(__name__)

Publish = Callable[[str, str, int, bool], None]  # topic, payload, qos, retain


class Gate(Protocol):
    """What opens the microphone for one request: a wake phrase or a button."""

    released: threading.Event | None  # set when the request is over before silence says so

    def wait(self, blocks: Iterator[Block], stop: threading.Event | None = None) -> bool:
        """Take audio until the gate opens (True) or the audio ends (False)."""


@dataclass(frozen=True)
class Microphone:
    """What the daemon listens with: a recognizer, how to open the audio, whether to open it at start,
    and, unless it always listens, the gate that opens it for one request (begun within ``session_s``)."""

    listener: Listener
    open_source: Callable[[], AudioSource]
    open_at_start: bool
    gate: Gate | None = None
    session_s: float | None = None
    indicator: Indicator | None = None


def microphone(settings: ListenSettings, registry: Registry, model: Any) -> Microphone:
    """The microphone of the settings with a loaded Vosk ``model`` (the registry's words as hints if
    asked): early hand-over of whole requests, and its wake phrase or button."""
    from functools import partial

    from edgebrain.listen.audio import MicSource
    from edgebrain.listen.button import PushToTalk
    from edgebrain.listen.recognizer import phrase_list
    from edgebrain.listen.wake import WakeWord
    from edgebrain.understand.words.complete import reads_complete

    words = phrase_list(registry)
    listener = Listener(model, words if settings.phrases else None, settings.silence_ms, settings.stable_ms or None,
                        partial(reads_complete, registry))
    gate: Gate | None = None
    if settings.mode == "wake":
        gate = WakeWord(model, settings.wake_phrases, words)
    elif settings.mode == "button":
        assert settings.button.pin is not None  # the configuration schema requires it for this mode
        gate = PushToTalk(settings.button.pin, settings.button.hold)
    led = settings.led
    indicator = Indicator(led.pin, led.pwm) if led.pin is not None else None
    return Microphone(listener, lambda: MicSource(settings.device), settings.open_at_start, gate,
                      settings.session_s, indicator)


class SpeechInput:
    """Runs a Listener over an audio source in its own thread while the microphone is open."""

    def __init__(self, microphone: Microphone, submit: Callable[[Request], None], publish: Publish | None,
                 prefix: str):
        self.microphone = microphone
        self.listener = microphone.listener
        self.submit = submit
        self.publish = publish
        self.prefix = prefix
        self._acted: dict[int, tuple[str, str]] = {}  # utterance -> (words acted on early, request id)
        self._refused: set[str] = set()  # requests that ended without an answer (busy, failed)
        self._thinking = 0  # requests from speech not answered yet
        self._listening: bool | None = None  # None until first said, so the first state is published
        self._source: AudioSource | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """True while the microphone is open."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def listening(self) -> bool:
        """True while the microphone takes a request (after the wake phrase or a press, or always)."""
        return bool(self._listening)

    def start(self) -> None:
        """Open the microphone (again) and listen."""
        with self._lock:
            if self.open:
                return
            self._source = self.microphone.open_source()
            self._acted.clear()
            self._refused.clear()
            self._listening = None
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
            blocks = iter(source.blocks())
            gate = self.microphone.gate
            if gate is None:
                self._set_listening(True)
                self.listener.run(blocks, self._on_heard, self._on_partial)
            while gate is not None:
                self._set_listening(False)
                if not gate.wait(blocks):
                    break
                self._set_listening(True)
                # A held button decides when the request ends; otherwise one utterance, begun in time.
                held = gate.released is not None
                self.listener.run(blocks, self._on_heard, self._on_partial, one=not held,
                                  timeout_s=None if held else self.microphone.session_s, release=gate.released)
        except Exception:  # a broken audio device must not take the daemon down
            log.exception("listening stopped")
        finally:
            self._set_listening(False)

    def _set_listening(self, listening: bool) -> None:
        with self._lock:
            changed, self._listening = listening is not self._listening, listening
        if changed and self.publish is not None:
            self.publish(f"{self.prefix}/listening", "ON" if listening else "OFF", 1, True)
        self._show()

    def _show(self) -> None:
        if self.microphone.indicator is not None:
            with self._lock:
                state = THINKING if self._thinking else LISTENING if self._listening else IDLE
            self.microphone.indicator.show(state)

    def _on_partial(self, text: str) -> None:
        try:
            if self.publish is not None:
                self.publish(f"{self.prefix}/partial", json.dumps({"text": text}, ensure_ascii=False), 0, False)
        except Exception:  # feedback that fails must not stop the listening
            log.exception("publishing a partial transcript failed")

    def _on_heard(self, heard: Heard) -> None:
        try:
            self._take(heard)
        except Exception:  # one utterance that fails must not stop the listening
            log.exception("handing on %r failed", heard.text)

    def _take(self, heard: Heard) -> None:
        # Words handed on early are acted on at once; what the utterance says after that only adds.
        before = self._acted.pop(heard.utterance, None)
        if before is not None and before[1] in self._refused:
            before = None  # the early request was refused (busy): the final one does the work
        if before is not None and same_words(before[0], heard.text):
            if heard.early:
                self._acted[heard.utterance] = before
            log.info("heard %r again (%s): acted on already", heard.text, heard.ended_by)
            return
        request = Request(heard.text, source="speech", continues=before[1] if before else None)
        if heard.early:
            self._acted[heard.utterance] = (heard.text, request.id)
        log.info("heard %r (%s, %.0f ms after the end of speech)", heard.text, heard.ended_by,
                 heard.speech_end_to_text_ms)
        if self.publish is not None:
            self.publish(f"{self.prefix}/transcript", json.dumps(
                {"id": request.id, "text": heard.text, "ended_by": heard.ended_by,
                 "timings_ms": {"speech_end_to_text": round(heard.speech_end_to_text_ms, 1)}},
                ensure_ascii=False), 1, False)
        with self._lock:
            self._thinking += 1
        self._show()
        answered: list[bool] = []
        self.submit(request.answering(lambda result: answered.append(True))
                    .acking(lambda: self._finished(request.id, bool(answered))))

    def _finished(self, request_id: str, answered: bool) -> None:
        """Called however a request ends: answered, refused as busy, or failed."""
        with self._lock:
            self._thinking = max(0, self._thinking - 1)
            if not answered:
                self._refused.add(request_id)
        self._show()


def same_words(first: str, second: str) -> bool:
    """True when two transcripts differ at most in case and spacing."""
    return first.casefold().split() == second.casefold().split()
