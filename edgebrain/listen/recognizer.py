"""Speech to text with Vosk's streaming recognizer: one transcript per spoken request.

End of speech is Vosk's own endpointing, plus a silence timeout: when the partial transcript has not
changed, and no voice was heard, for ``silence_ms`` of audio, the utterance is closed. Sooner still, a
partial that has stood as long for ``stable_ms`` and reads as a whole request (``complete``) is handed
on at once, marked early; the utterance's final transcript follows when it ends, as always.
Optionally the recognizer is biased to a phrase list built from the registry (device names, aliases,
rooms, action words) and ``[unk]``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgebrain.base.errors import ModelError
from edgebrain.base.schemas import action_words, device_types
from edgebrain.devices.registry import Registry
from edgebrain.listen.audio import RATE, AudioSource, Block
from edgebrain.understand.words.rooms import room_words

log = logging.getLogger(__name__)

# Words that carry requests in English; numbers are added by count.
_GLUE = ("turn", "switch", "set", "make", "the", "to", "in", "at", "all", "lights", "percent", "degrees",
         "minutes", "hours", "please", "a", "bit", "it", "and", "then", "of", "is", "too", "half", "an", "hour")
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
            "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred")


# Which rule ended an utterance (or, for STABLE, handed its words on before it ended).
ENDPOINT, SILENCE, STABLE, END = "endpoint", "silence", "stable", "end"


@dataclass(frozen=True)
class Heard:
    """One utterance: its transcript, when speech ended and when the text was ready (time.monotonic())."""

    text: str
    speech_end: float
    final_at: float
    ended_by: str = ENDPOINT  # endpoint | silence | stable (early, the final follows) | end of the audio
    utterance: int = 0  # the Listener's count: an early and a final Heard of one utterance share it

    @property
    def early(self) -> bool:
        """True for words handed on before the utterance ended."""
        return self.ended_by == STABLE

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


def recognizers(model: Any, phrases: list[str] | None) -> Callable[[], Any]:
    """Makes Vosk recognizers for ``model``, biased to the phrases it knows (none known: not biased)."""
    import vosk

    grammar = usable_phrases(model, phrases) if phrases else []
    if phrases and not [p for p in grammar if p != "[unk]"]:
        log.warning("none of the phrase list's words is in this Vosk model's vocabulary; not biasing")
        grammar = []
    args = (model, RATE, json.dumps(grammar, ensure_ascii=False)) if grammar else (model, RATE)
    return lambda: vosk.KaldiRecognizer(*args)


class Listener:
    """Feeds audio blocks to Vosk and calls back with partials and finished utterances."""

    def __init__(self, model: Any, phrases: list[str] | None, silence_ms: int, stable_ms: int | None = None,
                 complete: Callable[[str], bool] | None = None):
        """``stable_ms`` and ``complete`` together switch early hand-over on; either None leaves it off."""
        self.model = model
        self.silence_s = silence_ms / 1000
        self.stable_s = None if stable_ms is None or complete is None else stable_ms / 1000
        self.complete = complete
        # A recognizer grows with every utterance it has heard, Reset() or not (about 0.2 MiB each with
        # the Korean model): each utterance gets a fresh one (0.5 ms with a phrase list, 0.1 s without).
        self._new = recognizers(model, phrases)
        self._recognizer = self._new()
        self._lock = threading.Lock()
        self._utterance = 0  # counts utterances; an early and a final Heard of one utterance share it
        self._voice = _Voice()  # kept across sessions: the room's noise is learnt over all of them

    def listen(self, source: AudioSource, on_heard: Callable[[Heard], None],
               on_partial: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
        """Run until the source ends or ``stop`` is set."""
        self.run(iter(source.blocks()), on_heard, on_partial, stop)

    def run(self, blocks: Iterator[Block], on_heard: Callable[[Heard], None],
            on_partial: Callable[[str], None] | None = None, stop: threading.Event | None = None, *,
            one: bool = False, timeout_s: float | None = None, release: threading.Event | None = None) -> None:
        """Hear utterances from ``blocks`` until they end or ``stop`` is set. With ``one``, return after the
        first utterance ends; with ``timeout_s``, also when nothing was said for that long; a set
        ``release`` (a push-to-talk button let go) ends the utterance at once."""
        partial, changed_at, changed_audio, audio, judged = "", 0.0, 0.0, 0.0, ""
        voice = self._voice
        voice.restart()
        for block in blocks:
            if stop is not None and stop.is_set():
                break
            audio += block.seconds
            voice.hear(block, audio)
            ended_by, text = "", ""
            with self._lock:
                if release is not None and release.is_set():
                    text, ended_by = json.loads(self._recognizer.FinalResult()).get("text", ""), END
                elif self._recognizer.AcceptWaveform(block.pcm):
                    text, ended_by = json.loads(self._recognizer.Result()).get("text", ""), ENDPOINT
                else:
                    current = json.loads(self._recognizer.PartialResult()).get("partial", "")
                    if current != partial:
                        partial, changed_at, changed_audio = current, block.captured, audio
                        if current and on_partial is not None:
                            on_partial(current)
                    elif partial and audio - max(changed_audio, voice.last) >= self.silence_s:
                        text, ended_by = json.loads(self._recognizer.FinalResult()).get("text", ""), SILENCE
                    elif partial != judged and self._stood(audio - max(changed_audio, voice.last)):
                        judged = partial  # tried once: the words decide, and they do not change
                        if self.complete is not None and self.complete(_spoken(partial)):
                            self._emit(partial, changed_at, on_heard, STABLE)
            if ended_by:
                self._emit(text, changed_at or block.captured, on_heard, ended_by)
                self._utterance += 1
                with self._lock:
                    self._recognizer = self._new()
                if one or ended_by == END:
                    partial = ""
                    break
                partial, changed_at, changed_audio, judged = "", 0.0, audio, ""
            elif timeout_s is not None and not partial and audio - changed_audio >= timeout_s:
                break  # nothing said since the last utterance (or since opening)
        if partial:  # the audio or the session ended in the middle of an utterance
            with self._lock:
                text = json.loads(self._recognizer.FinalResult()).get("text", "")
            self._emit(text, changed_at, on_heard, END)
            self._utterance += 1
        with self._lock:
            self._recognizer = self._new()  # the next session starts with no words of this one

    def _stood(self, quiet_s: float) -> bool:
        """True when a partial has stood, with no voice, long enough to be tried as a whole request."""
        return self.stable_s is not None and quiet_s >= self.stable_s

    def _emit(self, text: str, speech_end: float, on_heard: Callable[[Heard], None], ended_by: str) -> None:
        text = _spoken(text)
        if text:
            on_heard(Heard(text, speech_end, time.monotonic(), ended_by, self._utterance))


class _Voice:
    """When a voice was last heard: a block louder than the room's own noise (the quietest recent blocks)."""

    FLOOR_BLOCKS = 50  # about 5 s of blocks to learn the room's noise from
    MIN_LEVEL = 300.0  # int16 RMS below which a block is never a voice

    def __init__(self) -> None:
        self._levels: deque[float] = deque(maxlen=self.FLOOR_BLOCKS)
        self.last = 0.0  # audio time of the last voiced block

    def restart(self) -> None:
        """A new session: audio time starts again at 0 (the noise learnt so far is kept)."""
        self.last = 0.0

    def hear(self, block: Block, audio: float) -> None:
        """Take one block, ending at ``audio`` seconds into the stream."""
        samples = np.frombuffer(block.pcm, dtype=np.int16).astype(np.float32)
        level = float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0
        self._levels.append(level)
        if level > max(self.MIN_LEVEL, 4 * min(self._levels)):
            self.last = audio


def _spoken(text: str) -> str:
    """The speaker's words: [unk] and bracketed noise labels ("[19]") are the recognizer's."""
    return " ".join(w for w in text.split() if not (w.startswith("[") and w.endswith("]")))
