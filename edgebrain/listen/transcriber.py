"""Speech to text for one audio stream at a time (Wyoming's asr): any rate, width and channels in."""

from __future__ import annotations

import json
from typing import Any

from .audio import RATE
from .recognizer import usable_phrases


class Transcriber:
    """Makes one recognizer per stream from a loaded Vosk model, biased to ``phrases`` if given."""

    def __init__(self, model: Any, phrases: list[str] | None, name: str, language: str):
        self.model = model
        self.name = name
        self.language = language
        grammar = usable_phrases(model, phrases) if phrases else []
        self._grammar = json.dumps(grammar, ensure_ascii=False) if [p for p in grammar if p != "[unk]"] else None

    def stream(self) -> Stream:
        """A new stream: feed it 16 kHz mono 16-bit audio, then ask for the text."""
        return Stream(self)


class Stream:
    """One utterance being transcribed."""

    def __init__(self, transcriber: Transcriber):
        import vosk

        args = (transcriber.model, RATE) + ((transcriber._grammar,) if transcriber._grammar else ())
        self._recognizer = vosk.KaldiRecognizer(*args)
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
