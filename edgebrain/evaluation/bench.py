"""``edgebrain bench``: accuracy, latency and memory of the understanding stage on a labelled set."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebrain.base.errors import ConfigError, EdgebrainError
from edgebrain.base.schemas import data_dir


def _evaluation() -> Path:
    """The evaluation data: tests/ of a source checkout, or its copy inside an installed wheel."""
    try:
        return data_dir("tests")
    except FileNotFoundError:
        return Path(__file__).resolve().parents[2] / "tests"


EVALUATION = _evaluation()
DEFAULT_SET = EVALUATION / "data" / "devset.jsonl"


@dataclass(frozen=True)
class Case:
    """One labelled utterance."""

    text: str
    now: str
    commands: tuple[str, ...]
    category: str


def _key(command: dict[str, Any]) -> str:
    """One command (or error) as a comparable string."""
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


@dataclass
class Tally:
    """Results of one approach over the set."""

    latencies: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    by_category: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    failures: list[dict[str, Any]] = field(default_factory=list)
    timings: list[tuple[float, float, int, str]] = field(default_factory=list)  # total, model ms, tokens, text

    def add(self, case: Case, got: tuple[str, ...], elapsed_ms: float, tokens: int, home: str = "",
            model_ms: float = 0.0) -> None:
        """Record one utterance (of ``home``, when the run spans several registries)."""
        ok = got == case.commands
        self.latencies.append(elapsed_ms)
        self.timings.append((elapsed_ms, model_ms, tokens, case.text))
        self.tokens.append(tokens)
        self.by_category[case.category].append(ok)
        if not ok:
            failure = {"text": case.text, "now": case.now, "category": case.category,
                       "want": [json.loads(c) for c in case.commands], "got": [json.loads(c) for c in got]}
            self.failures.append({"home": home, **failure} if home else failure)

    def report(self) -> dict[str, Any]:
        """Accuracy, latency percentiles, tokens, per category."""
        results = [ok for oks in self.by_category.values() for ok in oks]
        return {
            "accuracy": round(sum(results) / len(results), 4) if results else 0.0,
            "latency_ms": {"p50": round(percentile(self.latencies, 0.5), 1),
                           "p95": round(percentile(self.latencies, 0.95), 1),
                           "mean": round(statistics.fmean(self.latencies), 1)} if self.latencies else {},
            "tokens_per_request": round(statistics.fmean(self.tokens), 1) if self.tokens else 0,
            "by_category": {k: round(sum(v) / len(v), 3) for k, v in sorted(self.by_category.items())},
            "slowest": [{"text": text, "ms": round(total, 1), "model_ms": round(model, 1),
                         "words_ms": round(total - model, 1), "tokens": tokens}
                        for total, model, tokens, text in sorted(self.timings, reverse=True)[:5]],
        }


def print_slowest(report: dict[str, Any]) -> None:
    """The five slowest requests with their time split: reading the words in code, and the model."""
    print("  slowest:")
    for row in report.get("slowest", ()):
        print(f"    {row['ms']:8.1f} ms (words {row['words_ms']:.1f}, model {row['model_ms']:.1f}, "
              f"{row['tokens']} tokens)  {row['text']}")


def error_key(message: str) -> tuple[str, ...]:
    """An error in place of commands: never equal to a case's expected commands."""
    return (_key({"error": message}),)


def command_keys(commands: Any) -> tuple[str, ...]:
    """Commands as sorted comparable strings, to match a case's expected ones."""
    return tuple(sorted(_key(c.to_dict()) for c in commands))


def _print(name: str, report: dict[str, Any], cases: int) -> None:
    latency = report["latency_ms"]
    print(f"{name:6} accuracy {report['accuracy']:.1%} of {cases}   p50 {latency.get('p50')} ms   "
          f"p95 {latency.get('p95')} ms   {report['tokens_per_request']} tokens evaluated/request")


def describe_model(args: argparse.Namespace) -> dict[str, object]:
    """Say which model the figures are measured on (printed first, and kept in the JSON report)."""
    from edgebrain.models.modelfile import resolve

    info = resolve(args.model)
    print(f"model {info.label()}, {info.size:,} bytes, SHA-256 {info.sha256[:16]}…, {info.path}")
    return info.to_dict()


def run_bench(args: argparse.Namespace) -> int:
    """Run the set through the fast path (and the plain approach, interleaved) and print the figures."""
    from edgebrain.models.llama import DEFAULT_THREADS
    from edgebrain.understand.loader import load_understander
    from edgebrain.understand.plain import PlainParser
    from edgebrain.understand.words.reading import Techniques

    techniques = Techniques.without(args.without)
    model = describe_model(args)
    cases = load_cases(Path(args.dataset) if args.dataset else DEFAULT_SET)[: args.limit]
    started = time.perf_counter()
    understander = load_understander(args.devices, args.model, args.threads or DEFAULT_THREADS,
                                     techniques=techniques)
    ready_s = time.perf_counter() - started
    fast_rss = peak_rss_mb()
    plain = None
    if not args.fast_only:
        # Its own llama.cpp instance, so each approach keeps its own prompt cache between requests.
        from edgebrain.models.llama import load_llama
        from edgebrain.models.modelfile import resolve

        plain = PlainParser(load_llama(resolve(args.model).path, args.threads or DEFAULT_THREADS),
                            understander.registry)
    fast, slow = Tally(), Tally()
    for case in cases:
        try:
            result = understander.understand(case.text, case.now)
            fast.add(case, command_keys(result.commands), result.elapsed_ms, result.evaluated_tokens,
                     model_ms=result.model_ms)
        except EdgebrainError as exc:
            fast.add(case, error_key(str(exc)), 0.0, 0)
        if plain is not None:
            commands, elapsed, tokens = plain.parse(case.text, case.now)
            slow.add(case, command_keys(commands), elapsed, tokens)
    report: dict[str, Any] = {"model": model, "cases": len(cases), "without": list(args.without),
                              "fast": fast.report(),
                              "ready_s": round(ready_s, 2),
                              "prompt_tokens": understander.prompt_tokens, "peak_rss_mb_fast": round(fast_rss, 1),
                              "peak_rss_mb": round(peak_rss_mb(), 1)}
    _print("fast", report["fast"], len(cases))
    if plain is not None:
        report["plain"] = slow.report()
        _print("plain", report["plain"], len(cases))
        ratio = report["plain"]["latency_ms"]["p50"] / max(report["fast"]["latency_ms"]["p50"], 0.001)
        report["p50_speedup"] = round(ratio, 2)
        print(f"speed-up at p50: {ratio:.1f}x")
    print_slowest(report["fast"])
    print(f"ready in {report['ready_s']} s (prompt {report['prompt_tokens']} tokens)")
    print(f"peak RSS {report['peak_rss_mb_fast']} MiB with the fast path alone, "
          f"{report['peak_rss_mb']} MiB at the end of the run")
    for category, score in report["fast"]["by_category"].items():
        line = f"  {category:18} fast {score:.0%}"
        if plain is not None:
            line += f"   plain {report['plain']['by_category'][category]:.0%}"
        print(line)
    finish(args, {**report, "failures": fast.failures, "plain_failures": slow.failures}, fast.failures)
    return 0


def finish(args: argparse.Namespace, report: dict[str, Any], failures: list[dict[str, Any]]) -> None:
    """Print the failures when asked, and write the report as JSON to ``--json`` (- for stdout)."""
    if args.show_failures:
        for failure in failures:
            print(json.dumps(failure, ensure_ascii=False))
    if args.json:
        text = json.dumps(report, ensure_ascii=False, indent=2)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
