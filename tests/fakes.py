"""In-memory stand-ins for our own interfaces: the decoder's Backend (not llama.cpp), the Publisher
(not the MQTT client) and an AudioSource (not a microphone: espeak-ng's speech fed to the real Vosk)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from edgebrain.listen.audio import RATE, Block

# A blank line is one token for the real tokenizer; here it is one "special" token, so that the list
# layout's end of reply is not a newline followed by another newline.
SPECIALS = ("<|im_start|>", "<|im_end|>", "\n\n")


class ScriptedBackend:
    """Characters are tokens; the "model" prefers, at each step, the next character of a scripted reply.

    ``replies`` maps the user's words (as the model sees them) to the reply it would like to write;
    ``layout`` is the prompt layout it reads the request from ("list" or "chat").
    """

    def __init__(self, replies: dict[str, str], vocab: int = 65536, layout: str = "list"):
        self.replies = replies
        self.layout = layout
        self.vocab = vocab
        self.history: list[int] = []
        self.evaluations: list[int] = []

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        tokens: list[int] = []
        index = 0
        while index < len(text):
            for number, marker in enumerate(SPECIALS):
                if special and text.startswith(marker, index):
                    tokens.append(self.vocab - 1 - number)
                    index += len(marker)
                    break
            else:
                tokens.append(ord(text[index]) % (self.vocab - len(SPECIALS)))
                index += 1
        return tokens

    def _text(self, tokens: Sequence[int]) -> str:
        return "".join(SPECIALS[self.vocab - 1 - t] if t >= self.vocab - len(SPECIALS) else chr(t) for t in tokens)

    def reset_to(self, n_tokens: int) -> None:
        del self.history[n_tokens:]

    def eval(self, tokens: Sequence[int]) -> None:
        self.evaluations.append(len(tokens))
        self.history.extend(tokens)

    def logits(self) -> npt.NDArray[np.float32]:
        text = self._text(self.history)
        if self.layout == "chat":
            user = text.rsplit("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
            written = text.rsplit("<|im_start|>assistant\n", 1)[1]
            end = "<|im_end|>"
        else:
            block = text.rsplit("<|im_start|>assistant\n", 1)[1].rsplit("\n\n", 1)[-1]
            user, _, written = block.partition("\n")
            end = "\n\n"
        wanted = self.replies.get(user, "- none") + end
        scores = np.zeros(self.vocab, dtype=np.float32)
        if wanted.startswith(written) and len(written) < len(wanted):
            scores[self.tokenize(wanted[len(written):], special=True)[0]] = 10.0
        return scores


class RandomBackend(ScriptedBackend):
    """A "model" with no preference but chance: seeded random scores, so the grammar alone decides what
    can be written (fuzzing the engine with every reply the grammar allows, not only "none")."""

    def __init__(self, seed: int = 0, vocab: int = 65536):
        super().__init__({}, vocab)
        self.random = np.random.default_rng(seed)

    def logits(self) -> npt.NDArray[np.float32]:
        return self.random.normal(size=self.vocab).astype(np.float32)


class Recorder:
    """An in-memory Publisher (our interface): records what would be published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int, bool]] = []

    def publish(self, topic, payload, qos=1, retain=False, expires=True):  # type: ignore[no-untyped-def]
        self.sent.append((topic, payload if isinstance(payload, str) else payload.decode(), qos, retain))

    def on(self, topic: str) -> list[str]:
        """The payloads published on ``topic``."""
        return [payload for sent_topic, payload, _, _ in self.sent if sent_topic == topic]


def commands_of(understander, text: str, now: str = "15:00") -> set[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """The commands an Understander reads from ``text`` at ``now``, as (device, action, value, time)."""
    result = understander.understand(text, now)
    return {(c.device, c.action, c.value, c.time) for c in result.commands}


class Room:
    """Our AudioSource interface: what is said in a room, piece after piece (PCM, or seconds of silence);
    ``before_each`` is called with a piece's index before it is heard."""

    def __init__(self, *pieces: npt.NDArray[np.int16] | float, before_each: Callable[[int], None] | None = None):
        self.pieces = pieces
        self.before_each = before_each
        self.closed = False

    def blocks(self) -> Iterator[Block]:
        """The pieces in blocks of 100 ms, silence as zeros, until closed."""
        for index, piece in enumerate(self.pieces):
            if self.before_each is not None:
                self.before_each(index)
            pcm = np.zeros(int(piece * RATE), dtype=np.int16) if isinstance(piece, float) else piece
            for offset in range(0, len(pcm), 1600):
                if self.closed:
                    return
                yield Block(pcm[offset:offset + 1600].tobytes(), time.monotonic())
                time.sleep(0.002)  # let the other threads run, as a real microphone would

    def close(self) -> None:
        """Stop at the next block."""
        self.closed = True
