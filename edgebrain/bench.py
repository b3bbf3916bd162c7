"""``edgebrain bench``: accuracy, latency and memory of the understanding stage on a labelled set."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, EdgebrainError

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "devset.jsonl"


@dataclass(frozen=True)
class Case:
    """One labelled utterance."""

    text: str
    now: str
    commands: tuple[str, ...]
    category: str


def _key(command: dict[str, Any]) -> str:
    return json.dumps(command, sort_keys=True, ensure_ascii=False)


def load_cases(path: Path) -> list[Case]:
    """Read a JSONL development set: text, now, commands, category."""
    if not path.is_file():
        raise ConfigError(f"{path}: development set not found (give one with --set)")
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(row["text"], row.get("now", "12:00"), tuple(sorted(_key(c) for c in row["commands"])),
                              row.get("category", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a development-set row: {exc}") from exc
    return cases


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(args: argparse.Namespace) -> int:
    """Run the set through the understander and print the figures."""
    from .understand.llama import DEFAULT_THREADS
    from .understand.loader import load_understander

    cases = load_cases(Path(args.dataset) if args.dataset else DEFAULT_SET)
    started = time.perf_counter()
    understander = load_understander(args.devices, args.model, args.threads or DEFAULT_THREADS)
    ready_s = time.perf_counter() - started
    latencies: list[float] = []
    tokens: list[int] = []
    decisions: list[int] = []
    by_category: dict[str, list[bool]] = defaultdict(list)
    failures: list[dict[str, Any]] = []
    for case in cases:
        try:
            result = understander.understand(case.text, case.now)
            got = tuple(sorted(_key(c.to_dict()) for c in result.commands))
            latencies.append(result.elapsed_ms)
            tokens.append(result.evaluated_tokens)
            decisions.append(result.decisions)
        except EdgebrainError as exc:
            got = (f"error: {exc}",)
        ok = got == case.commands
        by_category[case.category].append(ok)
        if not ok:
            failures.append({"text": case.text, "now": case.now, "want": [json.loads(c) for c in case.commands],
                             "got": [json.loads(c) if c.startswith("{") else c for c in got]})
    correct = sum(ok for oks in by_category.values() for ok in oks)
    report: dict[str, Any] = {
        "cases": len(cases),
        "accuracy": round(correct / len(cases), 4) if cases else 0.0,
        "latency_ms": {"p50": round(percentile(latencies, 0.5), 1), "p95": round(percentile(latencies, 0.95), 1),
                       "mean": round(statistics.fmean(latencies), 1)} if latencies else {},
        "tokens_evaluated_mean": round(statistics.fmean(tokens), 1) if tokens else 0,
        "model_decisions_mean": round(statistics.fmean(decisions), 2) if decisions else 0,
        "ready_s": round(ready_s, 2),
        "prompt_tokens": understander.prompt_tokens,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "by_category": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_category.items())},
    }
    print(f"cases          {report['cases']}")
    print(f"accuracy       {report['accuracy']:.1%} ({correct}/{len(cases)})")
    if latencies:
        print(f"latency        p50 {report['latency_ms']['p50']} ms   p95 {report['latency_ms']['p95']} ms")
    print(f"tokens/request {report['tokens_evaluated_mean']} evaluated, {report['model_decisions_mean']} decisions")
    print(f"ready in       {report['ready_s']} s (prompt {report['prompt_tokens']} tokens)")
    print(f"peak RSS       {report['peak_rss_mb']} MiB")
    for category, score in report["by_category"].items():
        print(f"  {category:18} {score:.0%}")
    if args.show_failures:
        for failure in failures:
            print(json.dumps(failure, ensure_ascii=False))
    if args.json:
        text = json.dumps({**report, "failures": failures}, ensure_ascii=False, indent=2)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0
