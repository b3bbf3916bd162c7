"""Evaluation on many homes: hand-written suites (a folder per home) and generated registries.

A suite folder holds one folder per home, each with its registry (``devices.yaml``) and its labelled
requests (``cases.jsonl``). Generated homes come from ``tests/homes.py``. Every
home gets its own Understander over one shared llama.cpp instance; a home's prompt is evaluated only
when one of its requests needs the model.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgebrain.base.errors import ConfigError, EdgebrainError
from edgebrain.devices.registry import Registry, load_registry
from edgebrain.evaluation.bench import (
    EVALUATION,
    Case,
    Tally,
    command_keys,
    describe_model,
    error_key,
    finish,
    load_cases,
    peak_rss_mb,
    percentile,
    print_slowest,
)

log = logging.getLogger(__name__)

DEFAULT_SUITE = EVALUATION / "data" / "homes"


@dataclass(frozen=True)
class Home:
    """One registry and the requests labelled for it."""

    name: str
    registry: Registry | None  # None when the registry is refused (every case then fails)
    cases: tuple[Case, ...]
    error: str = ""


def _home(folder: Path) -> Home:
    """The home of a folder with devices.yaml and cases.jsonl; a refused registry is kept with its error."""
    cases = tuple(load_cases(folder / "cases.jsonl"))
    try:
        return Home(folder.name, load_registry(folder), cases)
    except EdgebrainError as exc:
        return Home(folder.name, None, cases, str(exc))


def suite_homes(folder: Path) -> list[Home]:
    """The homes of a suite folder, in name order; a refused registry is kept with its error."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: suite folder not found")
    homes = [_home(home) for home in sorted(p for p in folder.iterdir() if (p / "cases.jsonl").is_file())]
    if not homes:
        raise ConfigError(f"{folder}: no home folders with cases.jsonl")
    return homes


def _generator() -> Any:
    """The home generator (tests/homes.py, shipped in the wheel too)."""
    path = EVALUATION / "homes.py"
    if not path.is_file():
        raise ConfigError(f"{path}: the home generator is missing from this installation")
    spec = importlib.util.spec_from_file_location("edgebrain_test_homes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def generated_homes(count: int, seed: int = 0, size: int = 0) -> Iterator[Home]:
    """``count`` generated homes (of ``size`` devices each, or 1-30), written to a temporary folder and
    loaded like any registry."""
    generator = _generator()
    with tempfile.TemporaryDirectory(prefix="edgebrain-homes-") as tmp:
        for home in generator.generate_homes(count, seed, size=size):
            folder = Path(tmp) / f"home-{home.seed}"
            home.write(folder)
            yield _home(folder)


def load_backend(model: str | None, threads: int) -> Any:
    """The verified model in llama.cpp, for one Understander per home."""
    from edgebrain.models.llama import LlamaBackend
    from edgebrain.models.modelfile import resolve

    info = resolve(model)
    return LlamaBackend.from_path(info.path, threads, identity=info.sha256)


def run_homes(homes: Iterator[Home] | list[Home], backend: Any,
              techniques: Any = None) -> tuple[Tally, dict[str, Any]]:
    """Every home's requests through the fast path; the tally and the prompt-evaluation figures."""
    from edgebrain.understand.engine import Understander
    from edgebrain.understand.loader import state_dir

    tally = Tally()
    ready: list[float] = []  # registry to ready Understander (the prompt restored or shared), per home
    rss: list[float] = []
    count = prompts = 0
    for home in homes:
        count += 1
        if home.registry is None:
            log.warning("home %s: registry refused: %s", home.name, home.error)
            for case in home.cases:
                tally.add(case, error_key(home.error), 0.0, 0, home.name)
            continue
        started = time.perf_counter()
        # The prompt is the same for every home: its saved state is the model's, not this registry's.
        understander = Understander(home.registry, backend, state_dir(), techniques)
        ready.append(time.perf_counter() - started)
        rss.append(peak_rss_mb())
        for case in home.cases:
            try:
                result = understander.understand(case.text, case.now)
                tally.add(case, command_keys(result.commands), result.elapsed_ms, result.evaluated_tokens, home.name,
                          result.model_ms)
            except EdgebrainError as exc:
                tally.add(case, error_key(str(exc)), 0.0, 0, home.name)
        prompts += understander.prompt.seconds > 0  # evaluated or restored here, not shared from another home
        log.info("home %s done in %.1f s", home.name, time.perf_counter() - started)
    figures = {"homes": count, "prompts_prepared": prompts,
               "ready_s_p50": round(percentile(ready, 0.5), 2) if ready else 0.0,
               "ready_s_max": round(max(ready), 2) if ready else 0.0,
               "peak_rss_mb": round(max(rss), 1) if rss else 0.0}
    return tally, figures


def print_suite(name: str, tally: Tally, figures: dict[str, Any]) -> dict[str, Any]:
    """Print accuracy per class and overall; return the report."""
    report = {**tally.report(), **figures}
    latency = report["latency_ms"]
    print(f"{name}: {figures['homes']} homes, accuracy {report['accuracy']:.1%} of {len(tally.latencies)}, "
          f"p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms, max {max(tally.latencies, default=0):.1f} ms; "
          f"ready p50 {figures['ready_s_p50']} s, max {figures['ready_s_max']} s (prompt prepared "
          f"{figures['prompts_prepared']} times); peak RSS {figures['peak_rss_mb']} MiB")
    for category, score in report["by_category"].items():
        print(f"  {category:12} {score:.1%} of {len(tally.by_category[category])}")
    print_slowest(report)
    return report


def run_suites(args: argparse.Namespace) -> int:
    """``bench --suite DIR`` and ``--homes N``: accuracy per class over many registries (fast path only)."""
    from edgebrain.models.llama import DEFAULT_THREADS
    from edgebrain.understand.words.reading import Techniques

    techniques = Techniques.without(args.without)
    report: dict[str, Any] = {"model": describe_model(args), "without": list(args.without)}
    backend = load_backend(args.model, args.threads or DEFAULT_THREADS)
    failures: list[dict[str, Any]] = []
    if args.suite:
        tally, figures = run_homes(suite_homes(Path(args.suite)), backend, techniques)
        report["suite"] = print_suite(f"suite {args.suite}", tally, figures)
        failures += tally.failures
    if args.homes:
        homes = generated_homes(args.homes, args.seed, args.size)
        if getattr(args, "imported", False):
            from edgebrain.evaluation.imported import imported_home

            homes = (Home(f"{h.name}-imported", *imported_home(h.registry, h.cases)) if h.registry else h
                     for h in homes)
        tally, figures = run_homes(homes, backend, techniques)
        size = f", {args.size} devices each" if args.size else ""
        how = ", announced and imported" if getattr(args, "imported", False) else ""
        report["generated"] = print_suite(f"generated (seed {args.seed}{size}{how})", tally, figures)
        failures += tally.failures
    finish(args, {**report, "failures": failures}, failures)
    return 0
