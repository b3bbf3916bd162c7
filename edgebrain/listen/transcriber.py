"""Speech to text for one audio stream at a time (Wyoming's asr, the web console's push-to-talk)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from edgebrain.listen.recognizer import recognizers


class Transcriber:
    """Makes one recognizer per stream from a loaded Vosk model, biased to ``phrases`` if given."""

    def __init__(self, model: Any, phrases: list[str] | None, name: str, language: str):
        self.model = model
        self.name = name
        self.language = language
        self._new: Callable[[], Any] = recognizers(model, phrases)

    def stream(self) -> Stream:
        """A new stream: feed it 16 kHz mono 16-bit audio, then ask for the text."""
        return Stream(self._new())


class Stream:
    """One utterance being transcribed."""

    def __init__(self, recognizer: Any):
        self._recognizer = recognizer
        self._texts: list[str] = []

    def feed(self, pcm: bytes) -> None:
        """Take 16 kHz mono 16-bit audio."""
        if self._recognizer.AcceptWaveform(pcm):
            self._texts.append(json.loads(self._recognizer.Result()).get("text", ""))

    def text(self) -> str:
        """Everything said, once the audio has ended."""
        self._texts.append(json.loads(self._recognizer.FinalResult()).get("text", ""))
        words = " ".join(self._texts).split()
        return " ".join(w for w in words if not (w.startswith("[") and w.endswith("]")))
