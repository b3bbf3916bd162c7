"""Speech to text with Vosk's streaming recognizer: one transcript per spoken request.

End of speech is Vosk's own endpointing, plus a silence timeout: when the partial transcript has not
changed for ``silence_ms`` of audio, the utterance is closed. Optionally the recognizer is biased to
a phrase list built from the registry (device names, aliases, rooms, action words) and ``[unk]``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..registry import Registry
from ..schemas import action_words, device_types
from ..understand.rooms import room_words
from .audio import RATE, AudioSource

log = logging.getLogger(__name__)

# Words that carry requests in English; numbers are added by count.
_GLUE = ("turn", "switch", "set", "make", "the", "to", "in", "at", "all", "lights", "percent", "degrees",
         "minutes", "hours", "please", "a", "bit", "it", "and", "then", "of", "is", "too", "half", "an", "hour")
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
            "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred")


@dataclass(frozen=True)
class Heard:
    """One utterance: its transcript, when speech ended and when the text was ready (time.monotonic())."""

    text: str
    speech_end: float
    final_at: float

    @property
    def speech_end_to_text_ms(self) -> float:
        """Latency from the end of speech to the transcript."""
        return (self.final_at - self.speech_end) * 1000


def phrase_list(registry: Registry) -> list[str]:
    """Phrases to bias the recognizer towards: the registry's words and the words of requests."""
    phrases: list[str] = []
    for device in registry:
        phrases += [device.name, *device.aliases]
    vocabulary = room_words(registry.rooms)
    for room in registry.rooms:
        phrases += [room, *vocabulary.words_of(room)]
    for words in action_words().values():
        phrases += [w for w in words if "*" not in w]
    for fragment in device_types().values():
        phrases += fragment.get("x-words", [])
    phrases += [*_GLUE, *_NUMBERS]
    return list(dict.fromkeys(p.lower() for p in phrases if p))


def load_model(path: Path) -> Any:
    """Load a Vosk model folder (quietly); ModelError when Vosk cannot."""
    try:
        import vosk
    except ImportError as exc:
        raise ModelError(f"speech needs the vosk package: {exc}") from exc
    vosk.SetLogLevel(-1)
    try:
        return vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception when the folder is not a model
        raise ModelError(f"{path}: Vosk cannot load this model ({exc})") from exc


def usable_phrases(model: Any, phrases: Iterable[str]) -> list[str]:
    """The phrases whose every word the model knows (others would be ignored with a warning), plus [unk]."""
    kept = [p for p in phrases if all(model.vosk_model_find_word(w) >= 0 for w in re.split(r"\s+", p.strip()))]
    if model.vosk_model_find_word("[unk]") >= 0:
        kept.append("[unk]")
    return kept


class Listener:
    """Feeds audio blocks to Vosk and calls back with partials and finished utterances."""

    def __init__(self, model: Any, phrases: list[str] | None, silence_ms: int):
        import vosk

        self.model = model
        self.silence_s = silence_ms / 1000
        grammar = usable_phrases(model, phrases) if phrases else []
        if phrases and not [p for p in grammar if p != "[unk]"]:
            log.warning("none of the phrase list's words is in this Vosk model's vocabulary; not biasing")
            grammar = []
        args = (model, RATE, json.dumps(grammar, ensure_ascii=False)) if grammar else (model, RATE)
        self._recognizer = vosk.KaldiRecognizer(*args)
        self._lock = threading.Lock()

    def listen(self, source: AudioSource, on_heard: Callable[[Heard], None],
               on_partial: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
        """Run until the source ends or ``stop`` is set."""
        partial, changed_at, changed_audio, audio = "", 0.0, 0.0, 0.0
        for block in source.blocks():
            if stop is not None and stop.is_set():
                break
            audio += block.seconds
            with self._lock:
                ended = self._recognizer.AcceptWaveform(block.pcm)
                if ended:
                    text = json.loads(self._recognizer.Result()).get("text", "")
                else:
                    text = ""
                    current = json.loads(self._recognizer.PartialResult()).get("partial", "")
                    if current != partial:
                        partial, changed_at, changed_audio = current, block.captured, audio
                        if current and on_partial is not None:
                            on_partial(current)
                    elif partial and audio - changed_audio >= self.silence_s:
                        text = json.loads(self._recognizer.FinalResult()).get("text", "")
                        ended = True
            if ended:
                speech_end = changed_at or block.captured
                partial, changed_at, changed_audio = "", 0.0, audio
                self._emit(text, speech_end, on_heard)
        if partial:  # the source ended in the middle of an utterance
            with self._lock:
                text = json.loads(self._recognizer.FinalResult()).get("text", "")
            self._emit(text, changed_at, on_heard)

    @staticmethod
    def _emit(text: str, speech_end: float, on_heard: Callable[[Heard], None]) -> None:
        # [unk] and bracketed noise labels ("[19]") are the recognizer's, not the speaker's words.
        text = " ".join(w for w in text.split() if not (w.startswith("[") and w.endswith("]")))
        if text:
            on_heard(Heard(text, speech_end, time.monotonic()))
