"""Wyoming latency with the real model: transcript -> handled over the development set, and audio-stop ->
transcript with the Korean Vosk model on espeak-ng speech. The service runs in this process as a dry
run (nothing leaves it); the client is the wyoming package's AsyncTcpClient. Usage:

    .venv/bin/python bench/wyoming_latency.py [--limit N] [--asr-runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wyoming.asr import Transcript  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402

from edgebrain.app.service import Service  # noqa: E402
from edgebrain.base.config import load_settings  # noqa: E402
from edgebrain.devices.registry import load_registry  # noqa: E402
from edgebrain.evaluation.bench import DEFAULT_SET, load_cases, percentile  # noqa: E402
from edgebrain.listen.audio import read_wav  # noqa: E402
from edgebrain.listen.recognizer import load_model  # noqa: E402
from edgebrain.listen.transcriber import Transcriber  # noqa: E402
from edgebrain.listen.voskmodel import resolve_vosk  # noqa: E402
from edgebrain.understand.loader import load_understander  # noqa: E402
from tests.broker import free_port  # noqa: E402


async def _timed(port: int, *events: object) -> float:
    client = AsyncTcpClient("127.0.0.1", port)
    await client.connect()
    try:
        for event in events[:-1]:
            await client.write_event(event)  # type: ignore[arg-type]
        started = time.perf_counter()
        await client.write_event(events[-1])  # type: ignore[arg-type]
        await client.read_event()
        return (time.perf_counter() - started) * 1000
    finally:
        await client.disconnect()


def main() -> int:
    """Measure and print p50/p95 of both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--asr-runs", type=int, default=20)
    args = parser.parse_args()
    registry = load_registry()
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        defaults = load_settings(None, environ={})
        settings = replace(defaults, stdin=False, state_dir=Path(folder), wyoming=replace(
            defaults.wyoming, enabled=True, uri=f"tcp://127.0.0.1:{port}", zeroconf=False))
        transcriber = Transcriber(load_model(resolve_vosk("ko")), ["안녕하세요", "감사합니다"], "ko", "ko")
        service = Service(settings, registry, load_understander(registry=registry), transcriber=transcriber)
        service.start()
        try:
            texts = [case.text for case in load_cases(DEFAULT_SET)][: args.limit]
            handled = [asyncio.run(_timed(port, Transcript(text).event())) for text in texts]
            wav = Path(folder) / "hello.wav"
            espeak = shutil.which("espeak-ng") or "espeak-ng"
            subprocess.run([espeak, "-v", "ko", "-s", "130", "-w", str(wav), "안녕하세요"], check=True)
            pcm = read_wav(wav).tobytes()
            chunks = [AudioChunk(rate=16000, width=2, channels=1, audio=pcm[i:i + 3200]).event()
                      for i in range(0, len(pcm), 3200)]
            asr = [asyncio.run(_timed(port, AudioStart(rate=16000, width=2, channels=1).event(), *chunks,
                                      AudioStop().event())) for _ in range(args.asr_runs)]
        finally:
            service.close()
    print(f"transcript -> handled: p50 {percentile(handled, 0.5):.1f} ms, p95 {percentile(handled, 0.95):.1f} ms "
          f"over {len(handled)} development-set requests (real model)")
    print(f"audio-stop -> transcript: p50 {percentile(asr, 0.5):.1f} ms, p95 {percentile(asr, 0.95):.1f} ms "
          f"over {len(asr)} runs (Korean Vosk model, {len(pcm) / 32000:.1f} s of speech)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
