"""``edgebrain bench``: accuracy, latency and memory on the development set, hand-written or generated homes."""

from __future__ import annotations

import argparse
from typing import Any

from edgebrain.cli.options import add_understand_args
from edgebrain.evaluation.suites import DEFAULT_SUITE
from edgebrain.understand.words.reading import TECHNIQUES


def cmd_bench(args: argparse.Namespace) -> int:
    """Accuracy and latency on the development set, or per class over many homes."""
    if args.conversation:
        from edgebrain.evaluation.conversation import run_conversation

        return run_conversation(args)
    if args.suite or args.homes:
        from edgebrain.evaluation.suites import run_suites

        return run_suites(args)
    from edgebrain.evaluation.bench import run_bench

    return run_bench(args)


def add_parsers(sub: Any) -> None:
    """The ``bench`` command."""
    bench = sub.add_parser("bench", help="accuracy, latency and memory on the development set")
    add_understand_args(bench)
    bench.add_argument("--set", dest="dataset", metavar="FILE", help="JSONL development set")
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE (- for stdout)")
    bench.add_argument("--show-failures", action="store_true", help="list the utterances it got wrong")
    bench.add_argument("--fast-only", action="store_true",
                       help="skip the plain create_chat_completion approach (about 8 minutes on 2 cores)")
    bench.add_argument("--without", action="append", default=[], metavar="TECHNIQUE", choices=TECHNIQUES,
                       help=f"switch one technique off to measure what it buys ({', '.join(TECHNIQUES)})")
    bench.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N utterances")
    bench.add_argument("--suite", metavar="DIR", nargs="?", const=str(DEFAULT_SUITE),
                       help="hand-written homes: a folder per home with devices.yaml and cases.jsonl "
                            "(default: tests/data/homes)")
    bench.add_argument("--conversation", metavar="DIR", nargs="?", const="tests/data/conversation",
                       help="state questions and dialogues: a folder per home with devices.yaml, home.json, "
                            "questions.jsonl and dialogues.jsonl (default: tests/data/conversation)")
    bench.add_argument("--homes", type=int, default=0, metavar="N", help="N generated homes (tests/homes.py)")
    bench.add_argument("--seed", type=int, default=0, help="first seed of the generated homes")
    bench.add_argument("--imported", action="store_true",
                       help="announce each generated home as zigbee2mqtt and MQTT discovery payloads and import it "
                            "(the overlay only translating) before its requests")
    bench.add_argument("--size", type=int, default=0, metavar="DEVICES",
                       help="devices in each generated home (default: 1-30 at random)")
    bench.set_defaults(func=cmd_bench)
