"""The wake phrase: until it is heard, the recognizer knows only a small grammar, and nothing said is
acted on; hearing it (as an utterance of its own: say it, pause, then the request) opens the
microphone for one request."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from edgebrain.base.errors import ConfigError
from edgebrain.listen.audio import RATE, Block
from edgebrain.listen.recognizer import usable_phrases

log = logging.getLogger(__name__)


class WakeWord:
    """Listens in a closed grammar: the wake phrases, and other words to put the rest of speech on."""

    def __init__(self, model: Any, phrases: Iterable[str], others: Iterable[str] = ()):
        """``others`` (the registry's words) give speech that is not a wake phrase somewhere else to go: a
        grammar of the wake phrases alone would hear one in every sound."""
        import vosk

        wanted = [p.lower() for p in phrases]
        self.phrases = tuple(p for p in usable_phrases(model, wanted) if p != "[unk]")
        if not self.phrases:
            raise ConfigError(f"listen.wake_phrases: none of {wanted} is in this Vosk model's vocabulary; "
                              "choose words the model knows")
        grammar = list(dict.fromkeys([*self.phrases, *usable_phrases(model, others)]))
        if "[unk]" not in grammar and len(grammar) == len(self.phrases):
            log.warning("the wake grammar has nothing but the wake phrases: any speech may wake edgebrain")
        # A fresh recognizer per utterance: one grows with every utterance it hears (see recognizer.py).
        self._new: Callable[[], Any] = lambda: vosk.KaldiRecognizer(model, RATE,
                                                                    json.dumps(grammar, ensure_ascii=False))
        self._recognizer = self._new()
        self._lock = threading.Lock()
        self.released: threading.Event | None = None  # a spoken request ends by silence

    def wait(self, blocks: Iterator[Block], stop: threading.Event | None = None) -> bool:
        """Take blocks until a wake phrase is heard (True), or the audio ends or ``stop`` is set (False)."""
        for block in blocks:
            if stop is not None and stop.is_set():
                return False
            with self._lock:
                # Whole utterances only: a partial in a small grammar flickers through its words.
                if not self._recognizer.AcceptWaveform(block.pcm):
                    continue
                text = json.loads(self._recognizer.Result()).get("text", "")
                self._recognizer = self._new()
            if self.heard_in(text):
                log.info("wake phrase heard")
                return True
        return False

    def heard_in(self, text: str) -> bool:
        """True when ``text`` contains one of the wake phrases as whole words."""
        words = f" {text} "
        return any(f" {phrase} " in words for phrase in self.phrases)
