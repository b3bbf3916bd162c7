"""The ``edgebrain`` command: the parser of every command group, logging, and errors as one line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from edgebrain import __version__
from edgebrain.base.errors import EdgebrainError
from edgebrain.cli import bench, daemon, devices, listen, model, parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="edgebrain", description="An offline brain for the smart home: speech or text in, registry-checked "
        "device commands out. Each command below has its own --help.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (daemon, devices, listen, parse, model, bench):
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edgebrain`` command."""
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if sys.stderr.isatty():
        logging.getLogger("edgebrain.progress").setLevel(logging.INFO)
    try:
        code: int = args.func(args)
        return code
    except EdgebrainError as exc:
        print(f"edgebrain: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
