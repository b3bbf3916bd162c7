"""``edgebrain model``: fetch a model into the cache, show the one in use, list the manifest."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from edgebrain.models.download import HTTP_TIMEOUT_S

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
    import edgebrain.models.modelfile as modelfile

    if args.action == "list":
        return _list_models(args.json)
    if args.action == "fetch":
        info = modelfile.fetch(args.model, args.url, args.sha256, progress=_progress, timeout=args.timeout)
        if not args.no_prompt:
            from edgebrain.understand.loader import load_understander

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
    from edgebrain.models.manifest import load_manifest
    from edgebrain.models.modelfile import cache_dir

    entries = [{**e.to_dict(), "cached": (cache_dir() / e.file).is_file()} for e in load_manifest().entries]
    if as_json:
        print(json.dumps(entries))
    for entry in [] if as_json else entries:
        state = "the measured default" if entry["default"] else "measured" if entry["measured"] else "not measured"
        print(f"{entry['name']:30} {state:20} {'cached' if entry['cached'] else 'not fetched':11} "
              f"SHA-256 {entry['sha256'] or 'not pinned'}")
    return 0


def add_parsers(sub: Any) -> None:
    """The ``model`` command."""
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
