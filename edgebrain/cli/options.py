"""What several commands share: the registry, model and clock options, the configuration, JSON lines out."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the engine is imported only when a command needs the model
    from edgebrain.base.config import Settings
    from edgebrain.understand.engine import Understander

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def hhmm(value: str) -> str:
    """An argparse type for ``--now``: a 24-hour HH:MM."""
    if not _HHMM.match(value):
        raise argparse.ArgumentTypeError(f"--now must be HH:MM (24-hour), not {value!r}")
    return value


def listen_ms(key: str) -> Callable[[str], int]:
    """An argparse type for ``listen.<key>``: whole milliseconds within the configuration's own bounds."""
    from edgebrain.base.schemas import load_schema

    node = load_schema("config")["properties"]["listen"]["properties"][key]

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = -1
        if not node["minimum"] <= number <= node["maximum"]:  # 0 ms of silence would end every utterance
            raise argparse.ArgumentTypeError(f"must be {node['minimum']}-{node['maximum']} ms, not {value!r}")
        return number
    return parse


def add_understand_args(parser: argparse.ArgumentParser, clock: bool = True) -> None:
    """``--devices``, ``--model``, ``--threads`` and (with ``clock``) ``--now``."""
    parser.add_argument("--devices", metavar="DIR", help="device registry folder (default: the example registry)")
    if clock:
        parser.add_argument("--now", type=hhmm, metavar="HH:MM", help="fix the clock for relative times")
    parser.add_argument("--model", metavar="NAME|PATH", help="a model named in the manifest (edgebrain model list) "
                        "or a GGUF file (default: $EDGEBRAIN_MODEL, then the measured default)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp")


def understander(args: argparse.Namespace) -> Understander:
    """The understanding stage the options ask for."""
    from edgebrain.models.llama import DEFAULT_THREADS
    from edgebrain.understand.loader import load_understander

    return load_understander(args.devices, args.model, args.threads or DEFAULT_THREADS)


def emit(out: TextIO, payload: dict[str, object]) -> None:
    """One JSON line, flushed at once (a pipe reads each as it comes)."""
    out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    out.flush()


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``."""
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: $EDGEBRAIN_CONFIG, else the embedded defaults)")


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings ``--config`` names, or the embedded defaults."""
    from edgebrain.base.config import load_settings

    return load_settings(args.config)
