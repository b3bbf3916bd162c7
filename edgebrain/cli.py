"""The edgebrain command line."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .errors import EdgebrainError, InputError

if TYPE_CHECKING:  # the engine is imported only when a command needs the model
    from .config import Settings
    from .listen.recognizer import Heard
    from .understand.engine import Understander

log = logging.getLogger(__name__)
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _now(value: str) -> str:
    if not _HHMM.match(value):
        raise argparse.ArgumentTypeError(f"--now must be HH:MM (24-hour), not {value!r}")
    return value


def _listen_ms(key: str) -> Callable[[str], int]:
    """An argparse type for ``listen.<key>``: whole milliseconds within the configuration's own bounds."""
    from .schemas import load_schema

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


def _add_understand_args(parser: argparse.ArgumentParser, clock: bool = True) -> None:
    parser.add_argument("--devices", metavar="DIR", help="device registry folder (default: the example registry)")
    if clock:
        parser.add_argument("--now", type=_now, metavar="HH:MM", help="fix the clock for relative times")
    parser.add_argument("--model", metavar="NAME|PATH", help="a model named in the manifest (edgebrain model list) "
                        "or a GGUF file (default: $EDGEBRAIN_MODEL, then the measured default)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp")


def _understander(args: argparse.Namespace) -> Understander:
    from .understand.llama import DEFAULT_THREADS
    from .understand.loader import load_understander

    return load_understander(args.devices, args.model, args.threads or DEFAULT_THREADS)


def _emit(out: TextIO, payload: dict[str, object]) -> None:
    out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    out.flush()


def _parse_one(understander: Understander, text: str, now: str | None, out: TextIO) -> None:
    try:
        _emit(out, understander.understand(text, now).to_dict())
    except InputError as exc:
        print(f"edgebrain: {exc}", file=sys.stderr)
        _emit(out, {"text": text, "commands": [], "error": str(exc)})


def cmd_parse(args: argparse.Namespace) -> int:
    """Print the commands of one utterance, or of each stdin line with ``-``."""
    understander = _understander(args)
    if args.text != "-":
        _parse_one(understander, args.text, args.now, sys.stdout)
        return 0
    for raw in iter(sys.stdin.buffer.readline, b""):
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            message = "the line is not UTF-8 text"
            print(f"edgebrain: {message}", file=sys.stderr)
            _emit(sys.stdout, {"text": raw.decode("utf-8", "replace").rstrip("\r\n"), "commands": [],
                               "error": message})
            continue
        _parse_one(understander, text, args.now, sys.stdout)
    return 0


def _add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: $EDGEBRAIN_CONFIG, else the embedded defaults)")


def _settings(args: argparse.Namespace) -> Settings:
    from .config import load_settings

    return load_settings(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon; with no configuration, the example registry, stdin and a dry run that prints."""
    from .daemon import run, with_cli

    return run(with_cli(_settings(args), args.devices, args.model, args.threads))


def cmd_wyoming(args: argparse.Namespace) -> int:
    """The daemon with its Wyoming server on (and stdin off), for Home Assistant's Assist."""
    from dataclasses import replace

    from .daemon import run, with_cli

    settings = with_cli(_settings(args), args.devices, args.model, args.threads)
    wyoming = replace(settings.wyoming, enabled=True, uri=args.uri or settings.wyoming.uri,
                      zeroconf=settings.wyoming.zeroconf and not args.no_zeroconf)
    return run(replace(settings, wyoming=wyoming, stdin=False))


def cmd_schedule(args: argparse.Namespace) -> int:
    """List or cancel timed commands."""
    from .schedule import Schedule
    from .service import schedule_path

    schedule = Schedule(schedule_path(_settings(args)))
    try:
        if args.action == "cancel":
            if args.id is None:
                raise InputError("schedule cancel needs the job id (see `edgebrain schedule list`)")
            job = schedule.cancel(args.id)
            print(f"cancelled job {job.id}: {json.dumps(job.command.to_dict())}")
            return 0
        jobs = schedule.jobs(include_done=args.all)
        if args.json:
            print(json.dumps([j.to_dict() for j in jobs], ensure_ascii=False))
        for job in [] if args.json else jobs:
            print(f"{job.id:5}  {job.to_dict()['due']}  {job.status:9}  {json.dumps(job.command.to_dict())}")
        return 0
    finally:
        schedule.close()


def cmd_listen(args: argparse.Namespace) -> int:
    """Speech in (a WAV file or the microphone), one JSON line per utterance heard."""
    from .listen.audio import MicSource, WavSource, list_devices

    if args.list_devices:
        for device in list_devices():
            print(json.dumps(device, ensure_ascii=False))
        return 0
    from functools import partial

    from .listen.recognizer import Listener, load_model, phrase_list
    from .listen.speech import same_words
    from .listen.voskmodel import resolve_vosk
    from .understand.complete import reads_complete

    understander = _understander(args)
    model = load_model(resolve_vosk(args.vosk_model))
    registry = understander.registry
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
        result = understander.understand(utterance.text, args.now)
        _emit(sys.stdout, {**result.to_dict(), "ended_by": utterance.ended_by,
                           "timings_ms": {"speech_end_to_text": round(utterance.speech_end_to_text_ms, 1),
                                          "understand": round((time.perf_counter() - started) * 1000, 1)}})

    if not args.wav:
        print("listening: speak a request (Ctrl-C to stop)", file=sys.stderr)
    try:
        listener.listen(source, heard)
    finally:
        source.close()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check model, registry, broker, speech and GPIO; exit 1 when something is wrong."""
    from .doctor import diagnose

    checks = diagnose(_settings(args))
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def cmd_install_service(args: argparse.Namespace) -> int:
    """Install the systemd unit (or print it)."""
    from . import systemd

    if args.print:
        sys.stdout.write(systemd.unit_text())
        return 0
    for step in systemd.install(Path(args.root)):
        print(step)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Check the configuration, or print its schema."""
    from .schemas import load_schema

    if args.schema:
        print(json.dumps(load_schema("config"), indent=2, ensure_ascii=False))
        return 0
    settings = _settings(args)
    print(f"configuration OK ({settings.source})")
    print(repr(settings))
    return 0


_last_percent = [-1]


def _progress(done: int, total: int) -> None:
    if not total:
        return
    percent = done * 100 // total
    if percent == _last_percent[0]:
        return
    _last_percent[0] = percent
    width = 40
    filled = int(width * done / total)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done / 2**20:6.1f}/{total / 2**20:.1f} MiB")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cmd_model(args: argparse.Namespace) -> int:
    """Fetch a model into the cache, show the one in use, or list the manifest."""
    from .understand import modelfile

    if args.action == "list":
        return _list_models(args.json)
    if args.action == "fetch":
        info = modelfile.fetch(args.model, args.url, args.sha256, progress=_progress, timeout=args.timeout)
        if not args.no_prompt:
            from .understand.loader import load_understander

            # Evaluating the prompt takes seconds on two cores; done here once per model, every start restores it.
            load_understander(args.devices, str(info.path))
    else:
        info = modelfile.resolve(args.model)
        info = modelfile.verify(info.path, source=info.source, rehash=True)
    if args.json:
        print(json.dumps(info.to_dict()))
    else:
        for key, value in info.to_dict().items():
            print(f"{key:9} {value}")
    return 0


def _list_models(as_json: bool) -> int:
    from .understand.manifest import load_manifest
    from .understand.modelfile import cache_dir

    entries = [{**e.to_dict(), "cached": (cache_dir() / e.file).is_file()} for e in load_manifest().entries]
    if as_json:
        print(json.dumps(entries))
    for entry in [] if as_json else entries:
        state = "the measured default" if entry["default"] else "measured" if entry["measured"] else "not measured"
        print(f"{entry['name']:30} {state:20} {'cached' if entry['cached'] else 'not fetched':11} "
              f"SHA-256 {entry['sha256'] or 'not pinned'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Accuracy and latency on the development set."""
    from .bench import run_bench

    return run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from .config import default
    from .suites import DEFAULT_SUITE
    from .understand.download import HTTP_TIMEOUT_S
    from .understand.reading import TECHNIQUES

    parser = argparse.ArgumentParser(
        prog="edgebrain", description="An offline brain for the smart home: speech or text in, registry-checked "
        "device commands out. Each command below has its own --help.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the daemon: understand requests from stdin and MQTT, route or schedule them")
    _add_understand_args(run, clock=False)  # the daemon schedules by the real clock
    _add_config_arg(run)
    run.set_defaults(func=cmd_run)

    wyoming = sub.add_parser("wyoming", help="the daemon as a Wyoming service for Home Assistant's Assist "
                             "(understanding and speech to text)")
    _add_understand_args(wyoming, clock=False)
    _add_config_arg(wyoming)
    wyoming.add_argument("--uri", help=f"tcp://HOST:PORT or unix://PATH (default: wyoming.uri, "
                                       f"{default('wyoming', 'uri')})")
    wyoming.add_argument("--no-zeroconf", action="store_true", help="do not announce the service on the network")
    wyoming.set_defaults(func=cmd_wyoming)

    schedule = sub.add_parser("schedule", help="list or cancel timed commands")
    schedule.add_argument("action", choices=["list", "cancel"])
    schedule.add_argument("id", nargs="?", type=int, help="job id to cancel")
    schedule.add_argument("--all", action="store_true", help="also jobs that fired, were missed or cancelled")
    schedule.add_argument("--json", action="store_true", help="print JSON")
    _add_config_arg(schedule)
    schedule.set_defaults(func=cmd_schedule)

    listen = sub.add_parser("listen", help="speech from a WAV file or the microphone; one JSON line per utterance")
    _add_understand_args(listen)
    listen.add_argument("--wav", metavar="FILE", help="a WAV file (any rate and channels) instead of the microphone")
    listen.add_argument("--realtime", action="store_true", help="feed the WAV file at the speed of speech")
    listen.add_argument("--device", help="microphone: index or name (see --list-devices)")
    listen.add_argument("--list-devices", action="store_true", help="list audio input devices")
    listen.add_argument("--vosk-model", metavar="PATH|NAME", help="Vosk model folder, or en (default), zh, ko")
    listen.add_argument("--phrases", action="store_true", help="bias recognition to the registry's words")
    listen.add_argument("--silence-ms", type=_listen_ms("silence_ms"), default=default("listen", "silence_ms"),
                        help="silence that ends an utterance (default: %(default)s)")
    listen.add_argument("--stable-ms", type=_listen_ms("stable_ms"), default=default("listen", "stable_ms"),
                        help="a whole request unchanged this long is printed before the silence, marked "
                             "ended_by stable (0: off; default: %(default)s)")
    listen.set_defaults(func=cmd_listen)

    doctor = sub.add_parser("doctor", help="check the model, registry, broker, microphone and GPIO")
    _add_config_arg(doctor)
    doctor.set_defaults(func=cmd_doctor)

    install = sub.add_parser("install-service", help="install the systemd unit, user and /etc/edgebrain (root)")
    install.add_argument("--print", action="store_true", help="only print the unit for this installation")
    install.add_argument("--root", metavar="DIR", default="/",
                         help="install into DIR as if it were / (a system image being built; no systemctl)")
    install.set_defaults(func=cmd_install_service)

    config = sub.add_parser("config", help="check the configuration, or print its schema")
    _add_config_arg(config)
    config.add_argument("--schema", action="store_true", help="print the JSON schema of the configuration")
    config.set_defaults(func=cmd_config)

    parse = sub.add_parser("parse", help="print the commands of TEXT, or of each stdin line with -")
    _add_understand_args(parse)
    parse.add_argument("text", metavar="TEXT", help="the utterance, or - to read one per line from stdin")
    parse.set_defaults(func=cmd_parse)

    model = sub.add_parser("model", help="fetch or inspect the language model, or list the known ones")
    model.add_argument("action", choices=["fetch", "info", "list"])
    model.add_argument("--name", "--model", dest="model", metavar="NAME|PATH",
                       help="the model: a name from `model list` (default: $EDGEBRAIN_MODEL, then the measured "
                            "default); info also takes a GGUF file")
    model.add_argument("--url", metavar="URL", help="fetch from this mirror first (default: $EDGEBRAIN_MODEL_URL); "
                       "the file must have the pinned SHA-256")
    model.add_argument("--sha256", metavar="HEX", help="the SHA-256 a model the manifest does not pin must have")
    model.add_argument("--timeout", type=float, default=HTTP_TIMEOUT_S,
                       help="seconds to wait for a download server to answer (fetch; default: %(default)s)")
    model.add_argument("--json", action="store_true", help="print JSON")
    model.add_argument("--devices", metavar="DIR",
                       help="registry fetch loads beside the model to check it (default: the example registry; "
                            "the prompt it prepares is the same for every registry)")
    model.add_argument("--no-prompt", action="store_true", help="fetch only; do not prepare the prompt state")
    model.set_defaults(func=cmd_model)

    bench = sub.add_parser("bench", help="accuracy, latency and memory on the development set")
    _add_understand_args(bench)
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
    bench.add_argument("--homes", type=int, default=0, metavar="N", help="N generated homes (tests/homes.py)")
    bench.add_argument("--seed", type=int, default=0, help="first seed of the generated homes")
    bench.add_argument("--size", type=int, default=0, metavar="DEVICES",
                       help="devices in each generated home (default: 1-30 at random)")
    bench.set_defaults(func=cmd_bench)
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
