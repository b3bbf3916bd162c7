"""``edgebrain parse``: the commands of one utterance, or of each stdin line."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from edgebrain.base.errors import InputError
from edgebrain.cli.options import add_understand_args, emit, understander

if TYPE_CHECKING:
    from edgebrain.understand.engine import Understander


def _parse_one(reader: Understander, text: str, now: str | None, out: TextIO) -> None:
    try:
        emit(out, reader.understand(text, now).to_dict())
    except InputError as exc:
        print(f"edgebrain: {exc}", file=sys.stderr)
        emit(out, {"text": text, "commands": [], "error": str(exc)})


def cmd_parse(args: argparse.Namespace) -> int:
    """Print the commands of one utterance, or of each stdin line with ``-``."""
    reader = understander(args)
    if args.text != "-":
        _parse_one(reader, args.text, args.now, sys.stdout)
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
        _parse_one(reader, text, args.now, sys.stdout)
    return 0


def add_parsers(sub: Any) -> None:
    """The ``parse`` command."""
    parse = sub.add_parser("parse", help="print the commands of TEXT, or of each stdin line with -")
    add_understand_args(parse)
    parse.add_argument("text", metavar="TEXT", help="the utterance, or - to read one per line from stdin")
    parse.set_defaults(func=cmd_parse)
