"""``edgebrain bench --conversation DIR``: state questions and short dialogues, each turn through the daemon's
own handler (conversation memory, the site's room, answers from the states the home gives), nothing sent.

A folder holds one folder per home: ``devices.yaml``, ``home.json`` (``sites``, and ``states``: per device
``on``, ``value``, ``age_s``), ``questions.jsonl`` and ``dialogues.jsonl`` (tests/data/conversation/README.md).
"""

from __future__ import annotations

import argparse
import datetime
import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from edgebrain.core.conversation import Conversations
from edgebrain.core.handler import Handler
from edgebrain.core.history import History
from edgebrain.core.messages import Request, Result
from edgebrain.core.replies import Replies
from edgebrain.core.schedule import Schedule
from edgebrain.devices.registry import Registry, load_registry
from edgebrain.devices.router import Router
from edgebrain.devices.state import DeviceState, StateBook
from edgebrain.evaluation.bench import finish, peak_rss_mb, percentile
from edgebrain.evaluation.suites import load_backend
from edgebrain.understand.engine import Understander
from edgebrain.understand.loader import state_dir

EXPIRE_S = 300.0
STALE_S = 3600.0


class _Clock:
    """The dialogue's time: its ``now`` today, moved on by each turn's ``after_s``."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _at(hhmm: str) -> float:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.datetime.now().replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


def _commands(items: Any) -> list[str]:
    return sorted(json.dumps({k: c[k] for k in ("device", "action", "value", "time") if c.get(k) is not None},
                             sort_keys=True) for c in items)


def _answer_right(expected: Mapping[str, Any], result: Result) -> bool:
    got = result.answer
    if got is None or result.commands:
        return False
    kind = expected["kind"]
    if kind == "missing":
        return bool(got["kind"] == "missing")
    covered = sorted(s["device"] for s in got["states"])
    if kind == "which":
        return bool(got["kind"] == "which" and sorted(got["devices"]) == sorted(expected["devices"]))
    if kind == "count":
        return bool(got["kind"] == "count" and got["count"] == expected["count"])
    if kind == "value":
        return bool(got["kind"] == "value" and covered == sorted(expected["devices"])
                    and float(got["value"]) == float(expected["value"]))
    return bool(got["kind"] == kind and covered == sorted(expected["devices"]))


def turn_right(expect: Mapping[str, Any], result: Result | None) -> bool:
    """Whether one turn's result is what the set expects of it."""
    if result is None:
        return False
    if "answer" in expect:
        return _answer_right(expect["answer"], result)
    if _commands(c.to_dict() for c in result.commands) != _commands(expect.get("commands", [])):
        return False
    status = expect.get("status")
    if status == "ask":
        return result.status == "ask"
    if status == "refused":
        return result.status in ("rejected", "none")
    return result.answer is None and result.clarify is None


class HomeRun:
    """One home: its registry, its states as if the devices had said them, and the handler that answers."""

    def __init__(self, folder: Path, understander: Understander, scratch: Path):
        self.registry: Registry = load_registry(folder)
        home = json.loads((folder / "home.json").read_text(encoding="utf-8"))
        self.clock = _Clock()
        router = Router(self.registry, prefix="eb", dry_run=True)
        router.states = StateBook()
        for device_id, state in home.get("states", {}).items():
            router.states.keep(device_id, DeviceState(state.get("on"), state.get("value"), {},
                                                      time.time() - float(state.get("age_s", 0))))
        replies = Replies(None, "eb", None, router, History())
        self.handler = Handler(understander.with_registry(self.registry), router,
                               Schedule(scratch / f"{folder.name}.db"), replies, self.clock,
                               Conversations(home.get("sites", {}), EXPIRE_S, self.clock), STALE_S)

    def ask(self, text: str, site: str | None, session: str) -> tuple[Result | None, float]:
        """One turn through the handler, and what it took (ms)."""
        started = time.perf_counter()
        result = self.handler.handle(Request(text, site=site, source="bench", session=session))
        return result, (time.perf_counter() - started) * 1000


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def run_conversation(args: argparse.Namespace) -> int:
    """Questions and dialogues of every home under ``args.conversation``: accuracy, speed, misses."""
    backend = load_backend(args.model, args.threads or 2)
    folders = sorted(p for p in Path(args.conversation).iterdir() if (p / "devices.yaml").exists())
    shared = Understander(load_registry(folders[0]), backend, state_dir())
    question_ms: list[float] = []
    turn_ms: list[float] = []
    tally: dict[str, list[int]] = {}
    failures: list[dict[str, Any]] = []
    moved_by_questions = 0
    with tempfile.TemporaryDirectory() as scratch:
        for folder in folders:
            run = HomeRun(folder, shared, Path(scratch))
            for number, case in enumerate(_lines(folder / "questions.jsonl")):
                run.clock.now = time.time()
                result, ms = run.ask(case["text"], case.get("site"), f"q{number}")
                question_ms.append(ms)
                moved_by_questions += len(result.commands) if result else 0
                right = turn_right({"answer": case["expected"]}, result)
                tally.setdefault(f"question {case['shape']}", [0, 0])[right] += 1
                if not right:
                    failures.append({"home": folder.name, "text": case["text"], "expected": case["expected"],
                                     "got": result.to_dict() if result else None})
            for dialogue in _lines(folder / "dialogues.jsonl"):
                run.clock.now = _at(dialogue.get("now", "12:00"))
                all_right = True
                for turn in dialogue["turns"]:
                    run.clock.now += float(turn.get("after_s", 5))
                    result, ms = run.ask(turn["text"], dialogue.get("site"), dialogue["id"])
                    turn_ms.append(ms)
                    right = turn_right(turn["expect"], result)
                    if "answer" in turn["expect"]:
                        moved_by_questions += len(result.commands) if result else 0
                    all_right &= right
                    tally.setdefault("dialogue turn", [0, 0])[right] += 1
                    if not right:
                        failures.append({"home": folder.name, "dialogue": dialogue["id"], "text": turn["text"],
                                         "expected": turn["expect"], "got": result.to_dict() if result else None})
                tally.setdefault("dialogue", [0, 0])[all_right] += 1
    report = _report(tally, question_ms, turn_ms, moved_by_questions)
    finish(args, {**report, "failures": failures}, failures)
    return 0


def _speed(times: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(times, 0.5), 2), "p95_ms": round(percentile(times, 0.95), 2),
            "max_ms": round(max(times), 2)}


def _report(tally: dict[str, list[int]], question_ms: list[float], turn_ms: list[float], moved: int) -> dict[str, Any]:
    rows = {name: {"right": right, "total": wrong + right, "accuracy": round(100 * right / max(1, wrong + right), 1)}
            for name, (wrong, right) in sorted(tally.items())}
    questions = [v for k, v in tally.items() if k.startswith("question")]
    q_right, q_total = sum(r for _, r in questions), sum(w + r for w, r in questions)
    print("conversation set")
    for name, row in rows.items():
        print(f"  {name:22s} {row['right']:4d}/{row['total']:<4d} {row['accuracy']:5.1f} %")
    report: dict[str, Any] = {
        "classes": rows,
        "questions": {"right": q_right, "total": q_total, "accuracy": round(100 * q_right / max(1, q_total), 1),
                      **_speed(question_ms)},
        "turns": _speed(turn_ms),
        "commands_sent_by_questions": moved, "peak_rss_mb": round(peak_rss_mb(), 1)}
    print(f"  questions: {q_right}/{q_total} ({report['questions']['accuracy']} %), p50 "
          f"{report['questions']['p50_ms']} ms, p95 {report['questions']['p95_ms']} ms, max "
          f"{report['questions']['max_ms']} ms; commands sent by questions: {moved}")
    print(f"  dialogue turns: p50 {report['turns']['p50_ms']} ms, p95 {report['turns']['p95_ms']} ms, "
          f"max {report['turns']['max_ms']} ms")
    return report
