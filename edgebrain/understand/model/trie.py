"""A token trie over every reply line, with the kinds of ending reachable below each node.

Walking it, a node with one allowed child needs no model call (the token is forced and appended in a
batch later: "jump-forward"); only where several children are allowed does the model choose.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P")

# How a sequence in the trie ends; a walk is told which endings it may take.
END_NEWLINE = 1  # another line follows
END_TIME = 2  # a time marker follows
END_FINAL = 4  # the reply ends
END_NONE = 8  # the reply is "none" and ends

Tokenize = Callable[[str], list[int]]


@dataclass
class Node(Generic[P]):
    """A trie node: children by token, a mask of reachable endings, the payload at a leaf.

    ``meanings`` holds what each leaf below means (its payload's meaning and ending), so a walk can
    tell a real choice from a choice between two ways of writing the same thing.
    """

    children: dict[int, Node[P]] = field(default_factory=dict)
    mask: int = 0
    payload: P | None = None
    end: int = 0
    meanings: set[tuple[Hashable, int]] = field(default_factory=set)

    def allowed(self, mask: int) -> list[int]:
        """Child tokens below which an ending in ``mask`` can still be reached."""
        return [token for token, child in self.children.items() if child.mask & mask]

    def same_meaning(self, tokens: list[int], mask: int) -> bool:
        """True when every one of these children leads to the same meanings: no choice to make."""
        first = {m for m in self.children[tokens[0]].meanings if m[1] & mask}
        return all({m for m in self.children[t].meanings if m[1] & mask} == first for t in tokens[1:])


class TokenTrie(Generic[P]):
    """Token sequences, each ending in one ending kind and carrying a payload at its leaf."""

    def __init__(self, meaning: Callable[[P], Hashable] = lambda payload: payload) -> None:
        self.root: Node[P] = Node()
        self.meaning = meaning

    def add(self, tokens: Iterable[int], end: int, payload: P) -> None:
        """Add one sequence; its last token marks the ending kind."""
        node = self.root
        meaning = (self.meaning(payload), end)
        node.mask |= end
        node.meanings.add(meaning)
        for token in tokens:
            node = node.children.setdefault(token, Node())
            node.mask |= end
            node.meanings.add(meaning)
        if node.children:
            raise ValueError("a sequence in the trie is a prefix of another; endings must be distinct tokens")
        node.payload = payload
        node.end = end


def build(items: Iterable[tuple[str, P]], endings: dict[int, list[int]], tokenize: Tokenize,
          meaning: Callable[[P], Hashable] = lambda payload: payload,
          barred: Callable[[P], int] = lambda payload: 0) -> TokenTrie[P]:
    """A trie of ``tokenize(text) + ending tokens`` for every (text, payload) and every ending kind.

    ``barred`` gives the ending kinds a payload may not take.
    """
    trie: TokenTrie[P] = TokenTrie(meaning)
    for text, payload in items:
        tokens = tokenize(text)
        for end, end_tokens in endings.items():
            if not end & barred(payload):
                trie.add(tokens + end_tokens, end, payload)
    return trie
