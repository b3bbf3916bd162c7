"""End-to-end latency: text published on <prefix>/text -> command arriving on the device topic.

Starts its own Mosquitto on a free port and `edgebrain run` against it (real model, real broker),
then publishes every development-set utterance that routes a command to an MQTT device now, one at a
time, and times publish -> first message on that device's topic. Usage:

    .venv/bin/python bench/mqtt_latency.py [--limit N] [--mosquitto-defaults]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebrain.bench import DEFAULT_SET, load_cases, percentile  # noqa: E402
from edgebrain.registry import load_registry  # noqa: E402
from tests.broker import Broker, Watcher, daemon_env, start_daemon  # noqa: E402


def main() -> int:
    """Run the measurement and print p50/p95."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--mosquitto-defaults", action="store_true",
                        help="leave Mosquitto's set_tcp_nodelay at its default (false): ~40 ms more per hop")
    args = parser.parse_args()
    registry = load_registry()
    cases = []
    for case in load_cases(DEFAULT_SET):
        commands = [json.loads(c) for c in case.commands]
        topics = {str(registry.get(c["device"]).mqtt["topic"]) for c in commands
                  if "time" not in c and registry.get(c["device"]).mqtt}
        if topics:
            cases.append((case.text, sorted(topics)[0]))
    cases = cases[: args.limit]
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(Path(folder), extra="" if args.mosquitto_defaults else "set_tcp_nodelay true\n")
        broker.start()
        env = daemon_env(dict(os.environ), Path(folder), broker.port,
                         GPIOZERO_PIN_FACTORY=os.environ.get("GPIOZERO_PIN_FACTORY", "mock"),
                         GPIOZERO_MOCK_PIN_CLASS="mockpwmpin")
        daemon = start_daemon(env)
        watcher = Watcher(broker.port)
        try:
            watcher.wait_for("eb/status", timeout=120)
            latencies = []
            for index, (text, topic) in enumerate(cases):
                before = len(watcher.on(topic))
                started = time.perf_counter()
                watcher.publish("eb/text", json.dumps({"text": text, "id": f"m{index}"}))
                try:
                    watcher.wait_for(topic, before + 1, timeout=10)  # woken by the message itself
                    latencies.append((time.perf_counter() - started) * 1000)
                except AssertionError:
                    pass  # understood otherwise: no command for this topic
                watcher.wait_for("eb/result", index + 1, timeout=30)
        finally:
            watcher.close()
            daemon.terminate()
            daemon.wait(20)
            broker.stop()
    print(f"{len(latencies)} of {len(cases)} requests reached their device topic; publish -> device topic: "
          f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
          f"mean {statistics.fmean(latencies):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
