"""The llama.cpp backend (llama-cpp-python), imported only when a model is really loaded."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgebrain.base.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_THREADS = min(4, os.cpu_count() or 2)
N_CTX = 2048


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    # llama.cpp prints its load log on fd 2 even with verbose=False; keep our stderr for our errors.
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_llama(path: Path, threads: int = DEFAULT_THREADS, n_ctx: int = N_CTX) -> Any:
    """Load a GGUF file with llama.cpp; ModelError with llama.cpp's reason when it cannot."""
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - the package is a hard dependency
        raise ModelError(f"llama-cpp-python is not installed: {exc}") from exc
    try:
        with _quiet_stderr():
            return llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                # Requests are tens of tokens; a 128-token batch keeps llama.cpp's compute buffers small.
                n_batch=128, n_ubatch=128, logits_all=False, verbose=False,
            )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"{path}: llama.cpp cannot load the model ({exc}); the file may be truncated or "
                         "corrupt: delete it and run `edgebrain model fetch`") from exc


class LlamaBackend:
    """The decoder's Backend over a llama_cpp.Llama instance."""

    def __init__(self, llama: Any, identity: str = ""):
        self.llama = llama
        self.identity = identity
        self._n_vocab = llama.n_vocab()

    @classmethod
    def from_path(cls, path: Path, threads: int = DEFAULT_THREADS, identity: str = "") -> LlamaBackend:
        """Load the model at ``path``; ``identity`` (its SHA-256) keys the saved prompt state."""
        return cls(load_llama(path, threads), identity)

    def save_state(self, path: Path, tokens: Sequence[int]) -> bool:
        """Save the KV state of ``tokens`` (the evaluated prompt) to a file, atomically."""
        import llama_cpp

        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        partial = path.with_name(path.name + f".{os.getpid()}.part")
        ok = bool(llama_cpp.llama_state_save_file(self.llama._ctx.ctx, str(partial).encode(), array, len(tokens)))
        if ok:
            partial.replace(path)
        else:
            partial.unlink(missing_ok=True)
        return ok

    def load_state(self, path: Path, tokens: Sequence[int]) -> bool:
        """Restore the KV state saved for exactly ``tokens``; False when there is none or it differs."""
        import ctypes

        import llama_cpp

        if not path.is_file():
            return False
        capacity = len(tokens) + 1
        array = (llama_cpp.llama_token * capacity)()
        count = ctypes.c_size_t(0)
        with _quiet_stderr():
            ok = llama_cpp.llama_state_load_file(self.llama._ctx.ctx, str(path).encode(), array, capacity,
                                                 ctypes.byref(count))
        if not ok or list(array[: count.value]) != list(tokens):
            self.llama.reset()
            return False
        self.llama.n_tokens = count.value
        self.llama.input_ids[: count.value] = tokens
        return True

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        """Tokens of ``text`` without a BOS token."""
        tokens: list[int] = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=special)
        return tokens

    def reset_to(self, n_tokens: int) -> None:
        """Keep the first ``n_tokens`` of the KV cache; llama.eval drops the rest before it decodes."""
        self.llama.n_tokens = n_tokens

    def eval(self, tokens: Sequence[int]) -> None:
        """Evaluate tokens in batches."""
        if self.llama.n_tokens + len(tokens) > self.llama.n_ctx():
            raise ModelError("the request does not fit in the model's context window")
        self.llama.eval(list(tokens))

    def logits(self) -> npt.NDArray[np.float32]:
        """Logits for the next token (a view into llama.cpp's buffer; valid until the next eval)."""
        pointer = self.llama._ctx.get_logits_ith(-1)
        array: npt.NDArray[np.float32] = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
        return array
