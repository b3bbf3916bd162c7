"""Constrained decoding over a reply trie: the model chooses only where the grammar leaves a choice.

The fixed prompt is evaluated once and its KV state kept; per request only the user's turn is
evaluated, then the walk asks the model at branching nodes and appends forced tokens in one batch.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from edgebrain.understand.model.grammar import MAX_LINES, NONE_LINE, NONE_TEXT, TIME_MARK, Line
from edgebrain.understand.model.trie import END_FINAL, END_NEWLINE, END_NONE, END_TIME, Node, TokenTrie, build

log = logging.getLogger(__name__)
P = TypeVar("P")


class Backend(Protocol):
    """What the decoder needs from a language model runtime."""

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        """Tokens of ``text``; ``special`` lets control tokens like <|im_end|> through."""

    def reset_to(self, n_tokens: int) -> None:
        """Forget everything evaluated after the first ``n_tokens`` tokens."""

    def eval(self, tokens: Sequence[int]) -> None:
        """Evaluate tokens after those already evaluated."""

    def logits(self) -> npt.NDArray[np.float32]:
        """Logits for the token after the last evaluated one."""


@runtime_checkable
class StatefulBackend(Backend, Protocol):
    """A backend that can save and restore the KV state of the fixed prompt."""

    identity: str

    def save_state(self, path: Path, tokens: Sequence[int]) -> bool:
        """Save the state of the evaluated ``tokens``."""

    def load_state(self, path: Path, tokens: Sequence[int]) -> bool:
        """Restore the state saved for ``tokens``; False if there is none."""


@dataclass(frozen=True)
class Decoded:
    """The lines of one reply, with the time marker each one carries, and what it cost."""

    lines: tuple[tuple[Line, str | None], ...]
    evaluated: int
    decisions: int
    user_evaluated: bool = False  # the user's tokens are in the KV cache: a next decode may reuse them


# The model's scores for the next token after the given tokens of a reply line, read after a
# content-free request (see _Walk.walk); it may leave anything in the KV cache.
Calibrate = Callable[[tuple[int, ...]], tuple[npt.NDArray[np.float32], bool]]


class ReplyDecoder:
    """Walks a reply trie with a model backend, asking the model only at real choices."""

    def __init__(self, backend: Backend, end_of_turn: str, jump_forward: bool = True, same_meaning: bool = True,
                 calibrate: Calibrate | None = None):
        self.backend = backend
        self.calibrate = calibrate
        self.jump_forward = jump_forward
        self.same_meaning = same_meaning
        self._end = backend.tokenize(end_of_turn, special=True)
        self._endings = {END_NEWLINE: backend.tokenize("\n"), END_TIME: backend.tokenize(TIME_MARK),
                         END_FINAL: self._end}
        self._none = backend.tokenize(NONE_TEXT) + self._end
        self.tokenize = lru_cache(maxsize=65536)(self._tokenize)

    def _tokenize(self, text: str) -> tuple[int, ...]:
        return tuple(self.backend.tokenize(text))

    def trie(self, lines: Sequence[Line], last: Callable[[Line], bool] = lambda line: False) -> TokenTrie[Line]:
        """The trie of these lines, each with its three endings, plus ``- none``.

        A line for which ``last`` is true leaves nothing for another line: it cannot end in a newline.
        """
        trie = build(((line.text, line) for line in lines), self._endings, lambda t: list(self.tokenize(t)),
                     meaning=lambda line: (line.target, line.action, line.value),
                     barred=lambda line: END_NEWLINE if last(line) else 0)
        trie.add(self._none, END_NONE, NONE_LINE)
        return trie

    def decode(self, prompt_tokens: int, user_tokens: Sequence[int], lines: Sequence[Line],
               times: Sequence[str] = (), allow_none: bool = True, max_lines: int = MAX_LINES,
               overlaps: Callable[[str, str], bool] | None = None, user_cached: bool = False) -> Decoded:
        """Decode the reply to a user turn evaluated after the first ``prompt_tokens`` tokens.

        With ``user_cached`` the user's tokens were evaluated by the previous decode and are kept.
        """
        self.backend.reset_to(prompt_tokens + (len(user_tokens) if user_cached else 0))
        pending, done = ([], list(user_tokens)) if user_cached else (list(user_tokens), [])
        walker = _Walk(self.backend, pending, self.jump_forward, self.same_meaning, prompt_tokens, done,
                       self.calibrate)
        same = overlaps or (lambda a, b: a == b)
        used: list[str] = []

        def rest(after: Sequence[str]) -> list[Line]:
            return [c for c in lines if not any(same(c.target, u) for u in after)]

        def trie(candidates: Sequence[Line]) -> TokenTrie[Line]:
            if times:
                return self.trie(candidates)
            # Without times a target is named once, so a line that covers every target left is the last.
            targets = {c.target for c in candidates}
            final = {t for t in targets if not rest([*used, t])}
            return self.trie(candidates, lambda line: line.target in final)

        line_trie = trie(lines)
        time_endings = {END_NEWLINE: self._endings[END_NEWLINE], END_FINAL: self._end}
        time_trie = build(((t, t) for t in times), time_endings, lambda t: list(self.tokenize(t)))
        out: list[tuple[Line, str | None]] = []
        unused = set(times)
        while True:
            room = len(out) < max_lines - 1
            # Every time the words name must be used; the reply cannot end while one is left over.
            mask = (END_TIME if times else 0) | (END_NEWLINE if room else 0) | (0 if unused else END_FINAL)
            if not out and (allow_none or not lines):
                mask |= END_NONE
            if not mask & (END_NEWLINE | END_FINAL | END_TIME):
                mask |= END_FINAL
            leaf = walker.walk(line_trie.root, mask)
            line = leaf.payload
            assert line is not None
            if leaf.end == END_NONE:
                break
            time: str | None = None
            end = leaf.end
            if end == END_TIME:
                # The reply may end after this time only if it leaves no other time unused.
                time_mask = (END_NEWLINE if room else 0) | (END_FINAL if len(unused) <= 1 else 0)
                time_leaf = walker.walk(time_trie.root, time_mask or END_FINAL)
                time = time_leaf.payload
                unused.discard(time or "")
                end = time_leaf.end
            out.append((line, time))
            if end == END_FINAL:
                break
            # A later line names another target: "on now, off at 11" is the one reason to repeat one.
            if not times:
                used.append(line.target)
                line_trie = trie(rest(used))
        return Decoded(tuple(out), walker.evaluated, walker.decisions, user_cached or walker.decisions > 0)


class _Walk:
    """One request's walk: pending forced tokens, and the count of evaluations and decisions."""

    def __init__(self, backend: Backend, pending: list[int], jump_forward: bool = True, same_meaning: bool = True,
                 prompt_tokens: int = 0, done: list[int] | None = None, calibrate: Calibrate | None = None):
        self.backend = backend
        self.pending = pending
        self.jump_forward = jump_forward
        self.same_meaning = same_meaning
        self.evaluated = 0
        self.decisions = 0
        self.prompt_tokens = prompt_tokens
        self.done = done or []  # evaluated after the prompt: the user's words and the reply so far
        self.calibrate = calibrate

    def walk(self, root: Node[P], mask: int) -> Node[P]:
        """Follow the trie from ``root`` to a leaf whose ending is in ``mask``."""
        node = root
        line: list[int] = []
        while node.children:
            allowed = node.allowed(mask)
            if not allowed:
                raise RuntimeError("the reply grammar left no continuation")
            if self.jump_forward and (len(allowed) == 1 or (self.same_meaning and node.same_meaning(allowed, mask))):
                # Forced, or two spellings of one command ("bedroom light" / "卧室灯"): not the model's call.
                token = allowed[0]
            else:
                bias = self._bias(node, allowed, mask, line)
                if self.pending:
                    self.backend.eval(self.pending)
                    self.evaluated += len(self.pending)
                    self.done += self.pending
                    self.pending = []
                scores = _log_softmax(self.backend.logits()[allowed]) - bias
                token = allowed[int(np.argmax(scores))]
                self.decisions += len(allowed) > 1
            self.pending.append(token)
            line.append(token)
            node = node.children[token]
        return node

    def _bias(self, node: Node[P], allowed: list[int], mask: int, line: list[int]) -> npt.NDArray[np.float32] | float:
        """What the model gives each action with no request at all (contextual calibration), or 0.

        A small model prefers some actions whatever the words ("run the vacuum" -> off); dividing by
        its preference for a content-free request removes that prior. Only a choice between actions of
        one target is calibrated; which device is meant stays the model's plain reading.
        """
        if self.calibrate is None or not _action_choice(node, allowed, mask):
            return 0.0
        scores, used_cache = self.calibrate(tuple(line))
        if used_cache:
            # The content-free reading (once per line start) replaced this request's tokens: again.
            self.backend.reset_to(self.prompt_tokens)
            self.pending, self.done = self.done + self.pending, []
        return _log_softmax(scores[allowed])


def _log_softmax(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = scores - np.max(scores)
    result: npt.NDArray[np.float32] = shifted - np.log(np.sum(np.exp(shifted)))
    return result


def _action_choice(node: Node[P], allowed: list[int], mask: int) -> bool:
    """True when the children are the same target with different actions ("- kettle on" / "off")."""
    meanings = [{m[0] for m in node.children[t].meanings if m[1] & mask} for t in allowed]
    targets = {m[0] for group in meanings for m in group if isinstance(m, tuple)}
    actions = [{m[1] for m in group if isinstance(m, tuple)} for group in meanings]
    return len(targets) == 1 and all(len(a) == 1 for a in actions) and len({next(iter(a)) for a in actions}) > 1


# Which prompt (a kvcache.PromptCache) each backend's KV cache holds, shared by all that use the backend.
_OWNERS: weakref.WeakKeyDictionary[Backend, list[object]] = weakref.WeakKeyDictionary()


class PromptFirst:
    """A backend that makes sure the right prompt is evaluated before the model runs.

    Several Understanders (one prompt per registry) may share one llama.cpp instance; the KV cache holds
    the prompt of the last one that ran the model (the ``owner``).
    """

    def __init__(self, inner: Backend, ensure: Callable[[], None]):
        self.inner = inner
        self._ensure = ensure
        self._box: list[object] = _OWNERS.setdefault(inner, [None])
        self._rewind: int | None = None

    @property
    def owner(self) -> object:
        """The prompt the KV cache holds."""
        return self._box[0]

    @owner.setter
    def owner(self, value: object) -> None:
        self._box[0] = value

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        """Tokens of ``text``; no model run needed."""
        return self.inner.tokenize(text, special=special)

    def reset_to(self, n_tokens: int) -> None:
        """Forget what follows the first ``n_tokens``; applied when the model next runs."""
        self._rewind = n_tokens

    def _ready(self) -> None:
        rewind, self._rewind = self._rewind, None
        self._ensure()
        if rewind is not None:
            self.inner.reset_to(rewind)

    def eval(self, tokens: Sequence[int]) -> None:
        """Evaluate after the prompt."""
        self._ready()
        self.inner.eval(tokens)

    def logits(self) -> npt.NDArray[np.float32]:
        """Logits for the next token."""
        self._ready()
        return self.inner.logits()
