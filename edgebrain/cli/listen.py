"""``edgebrain listen``: speech from a WAV file or the microphone, one JSON line per utterance."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgebrain.base.config import default
from edgebrain.cli.options import add_understand_args, emit, listen_ms, understander

if TYPE_CHECKING:
    from edgebrain.listen.recognizer import Heard


def cmd_listen(args: argparse.Namespace) -> int:
    """Speech in (a WAV file or the microphone), one JSON line per utterance heard."""
    from edgebrain.listen.audio import MicSource, WavSource, list_devices

    if args.list_devices:
        for device in list_devices():
            print(json.dumps(device, ensure_ascii=False))
        return 0
    from functools import partial

    from edgebrain.listen.recognizer import Listener, load_model, phrase_list
    from edgebrain.listen.speech import same_words
    from edgebrain.listen.voskmodel import resolve_vosk
    from edgebrain.understand.words.complete import reads_complete

    reader = understander(args)
    model = load_model(resolve_vosk(args.vosk_model))
    registry = reader.registry
    listener = Listener(model, phrase_list(registry) if args.phrases else None, args.silence_ms, args.stable_ms or None,
                        partial(reads_complete, registry))
    source = WavSource(Path(args.wav), args.realtime) if args.wav else MicSource(args.device)

    early: dict[int, str] = {}  # utterance -> the words printed before it ended

    def heard(utterance: Heard) -> None:
        if utterance.early:
            early[utterance.utterance] = utterance.text
        elif same_words(early.pop(utterance.utterance, ""), utterance.text):
            return  # its line is out already
        started = time.perf_counter()
        result = reader.understand(utterance.text, args.now)
        emit(sys.stdout, {**result.to_dict(), "ended_by": utterance.ended_by,
                           "timings_ms": {"speech_end_to_text": round(utterance.speech_end_to_text_ms, 1),
                                          "understand": round((time.perf_counter() - started) * 1000, 1)}})

    if not args.wav:
        print("listening: speak a request (Ctrl-C to stop)", file=sys.stderr)
    try:
        listener.listen(source, heard)
    finally:
        source.close()
    return 0


def add_parsers(sub: Any) -> None:
    """The ``listen`` command."""
    listen = sub.add_parser("listen", help="speech from a WAV file or the microphone; one JSON line per utterance")
    add_understand_args(listen)
    listen.add_argument("--wav", metavar="FILE", help="a WAV file (any rate and channels) instead of the microphone")
    listen.add_argument("--realtime", action="store_true", help="feed the WAV file at the speed of speech")
    listen.add_argument("--device", help="microphone: index or name (see --list-devices)")
    listen.add_argument("--list-devices", action="store_true", help="list audio input devices")
    listen.add_argument("--vosk-model", metavar="PATH|NAME", help="Vosk model folder, or en (default), zh, ko")
    listen.add_argument("--phrases", action="store_true", help="bias recognition to the registry's words")
    listen.add_argument("--silence-ms", type=listen_ms("silence_ms"), default=default("listen", "silence_ms"),
                        help="silence that ends an utterance (default: %(default)s)")
    listen.add_argument("--stable-ms", type=listen_ms("stable_ms"), default=default("listen", "stable_ms"),
                        help="a whole request unchanged this long is printed before the silence, marked "
                             "ended_by stable (0: off; default: %(default)s)")
    listen.set_defaults(func=cmd_listen)
