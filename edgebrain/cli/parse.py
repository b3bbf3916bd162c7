"""``edgebrain parse``: the commands of one utterance, or of each stdin line."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from edgebrain.base.errors import InputError
from edgebrain.cli.options import add_understand_args, emit, understander

if TYPE_CHECKING:
    from edgebrain.understand.engine import Understander


class _Talk:
    """The conversation the lines of one ``parse`` run are part of (``--session``), and where they are said."""

    def __init__(self, reader: Understander, session: str | None, site: str | None):
        from edgebrain.core.conversation import Conversations

        self.reader = reader
        self.conversations = Conversations()  # remembers only with a session: each line alone otherwise
        self.session = session
        self.site = site

    def understand(self, text: str, now: str | None) -> dict[str, Any]:
        """The line read in its conversation, as the JSON line to print."""
        from edgebrain.core.messages import Request

        request = Request(text, site=self.site, source="parse", session=self.session)
        registry = self.reader.registry
        understanding = self.reader.understand(text, now, self.conversations.context(request, registry))
        if self.session:
            self.conversations.remember(request, understanding, registry)
        return understanding.to_dict()


def _parse_one(talk: _Talk, text: str, now: str | None, out: TextIO) -> None:
    try:
        emit(out, talk.understand(text, now))
    except InputError as exc:
        print(f"edgebrain: {exc}", file=sys.stderr)
        emit(out, {"text": text, "commands": [], "error": str(exc)})


def cmd_parse(args: argparse.Namespace) -> int:
    """Print the commands of one utterance, or of each stdin line with ``-``."""
    talk = _Talk(understander(args), args.session, args.site)
    if args.text != "-":
        _parse_one(talk, args.text, args.now, sys.stdout)
        return 0
    for raw in iter(sys.stdin.buffer.readline, b""):
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            message = "the line is not UTF-8 text"
            print(f"edgebrain: {message}", file=sys.stderr)
            emit(sys.stdout, {"text": raw.decode("utf-8", "replace").rstrip("\r\n"), "commands": [],
                               "error": message})
            continue
        _parse_one(talk, text, args.now, sys.stdout)
    return 0


def add_parsers(sub: Any) -> None:
    """The ``parse`` command."""
    parse = sub.add_parser("parse", help="print the commands of TEXT, or of each stdin line with -")
    add_understand_args(parse)
    parse.add_argument("text", metavar="TEXT", help="the utterance, or - to read one per line from stdin")
    parse.add_argument("--session", metavar="NAME",
                       help="read the lines as one conversation: \"turn it off\" follows the line before")
    parse.add_argument("--site", metavar="ROOM", help="the room the lines are said in (\"turn on the light\")")
    parse.set_defaults(func=cmd_parse)
