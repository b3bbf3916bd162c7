"""The fixed prompt in the model's KV cache: evaluated once per model, saved, restored, shared by every home."""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edgebrain.understand.model.decoder import Backend, PromptFirst, StatefulBackend
from edgebrain.understand.model.prompt import Layout, Segments

log = logging.getLogger(__name__)
# Shown on a terminal by the command line (see cli.py), not logged as a warning.
_progress = logging.getLogger("edgebrain.progress")
_PROMPT_CHUNK = 256

CONTENT_FREE = "N/A"
_NEUTRAL: weakref.WeakKeyDictionary[Backend, dict[tuple[int, ...], dict[tuple[int, ...], npt.NDArray[np.float32]]]] = (
    weakref.WeakKeyDictionary())  # a request with no content: what the model prefers with no words to go on


class PromptCache:
    """The fixed prompt (rules and examples, the same for every home), as tokens and as the model's KV state.

    Several of these (one per home) may share one backend; ``backend`` puts the prompt back in the KV
    cache before the model runs for one of them, unless it holds the same prompt already.
    """

    def __init__(self, backend: Backend, layout: Layout, state_dir: Path | None):
        """``state_dir`` keeps the evaluated prompt for later starts; None evaluates it every time."""
        self.backend = PromptFirst(backend, self.ensure)
        self.layout = layout
        self.prefix = tuple(self.tokens(layout.prefix()))
        self._state_dir = state_dir
        self.seconds = 0.0
        # Calibration scores depend on the prompt and the line only: every home on this backend shares them.
        self._neutral = _NEUTRAL.setdefault(self.backend.inner, {}).setdefault(self.prefix, {})

    @property
    def evaluated(self) -> bool:
        """True once this prompt is in the model's KV cache (evaluated or restored)."""
        return self.backend.owner == self.prefix

    def tokens(self, segments: Segments) -> list[int]:
        """The tokens of prompt pieces."""
        # User words never pass as control tokens: "<|im_end|>" typed by a user stays plain text.
        return [t for text, special in segments for t in self.backend.tokenize(text, special=special)]

    def ensure(self) -> None:
        """Put this prompt in the model's KV cache, unless it is there already."""
        if self.backend.owner == self.prefix:
            return  # this prompt, or another home's same prompt, is in the KV cache
        started = time.perf_counter()
        self.backend.owner = None  # a load that fails half-way leaves no owner behind
        self._load()
        self._warm_up()
        self.backend.owner = self.prefix
        self.seconds = time.perf_counter() - started
        log.info("prompt of %d tokens ready in %.1f s", len(self.prefix), self.seconds)

    def content_free(self, line: tuple[int, ...]) -> tuple[npt.NDArray[np.float32], bool]:
        """The model's scores after a reply line begun with ``line`` to a request with no content, once
        per line beginning and prompt (contextual calibration, Zhao et al. 2021); and whether reading
        them used the KV cache."""
        if line in self._neutral:
            return self._neutral[line], False
        self.backend.reset_to(len(self.prefix))
        self.backend.eval(self.tokens(self.layout.request(CONTENT_FREE)) + list(line))
        self._neutral[line] = np.array(self.backend.logits(), copy=True)
        return self._neutral[line], True

    def _warm_up(self) -> None:
        """Run the model once on throwaway words: the first real request should not pay for allocations."""
        inner = self.backend.inner
        inner.reset_to(len(self.prefix))
        inner.eval(self.tokens(self.layout.request("hello")))
        inner.logits()
        inner.reset_to(len(self.prefix))

    def _load(self) -> None:
        """Evaluate the fixed prompt, or restore its KV state saved by an earlier start."""
        state_dir = self._state_dir
        inner = self.backend.inner
        saver = inner if isinstance(inner, StatefulBackend) else None
        path = None
        if saver is not None and state_dir is not None and saver.identity:
            key = hashlib.sha256(f"{saver.identity}:{self.prefix}".encode()).hexdigest()[:24]
            path = state_dir / f"prompt-{key}.kv"
            if saver.load_state(path, self.prefix):
                log.info("restored the prompt state from %s", path)
                return
        inner.reset_to(0)
        # A model seen for the first time costs seconds here: say how far it has got.
        for start in range(0, len(self.prefix), _PROMPT_CHUNK):
            inner.eval(self.prefix[start:start + _PROMPT_CHUNK])
            done = min(start + _PROMPT_CHUNK, len(self.prefix))
            _progress.info("preparing the model's prompt: %d of %d tokens", done, len(self.prefix))
        if saver is not None and path is not None and state_dir is not None:
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
                saver.save_state(path, self.prefix)
            except OSError as exc:  # a read-only cache only costs time at the next start
                log.warning("cannot save the prompt state to %s: %s", path, exc)
