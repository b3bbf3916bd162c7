"""End-to-end latency: text published on <prefix>/text -> command arriving on the device topic.

Starts its own Mosquitto on a free port and `edgebrain run` against it (real model, real broker),
then publishes every development-set utterance that routes a command to an MQTT device now, one at a
time, and times publish -> first message on that device's topic. Usage:

    .venv/bin/python bench/mqtt_latency.py [--limit N] [--mosquitto-defaults] [--web]

With ``--web`` the daemon also serves its web console, and a client follows its live updates the
whole time; the daemon's resident memory is printed at the end either way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebrain.devices.registry import load_registry  # noqa: E402
from edgebrain.evaluation.bench import DEFAULT_SET, load_cases, percentile  # noqa: E402
from tests.broker import Broker, Watcher, daemon_env, free_port, start_daemon  # noqa: E402


def main() -> int:
    """Run the measurement and print p50/p95."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--mosquitto-defaults", action="store_true",
                        help="leave Mosquitto's set_tcp_nodelay at its default (false): ~40 ms more per hop")
    parser.add_argument("--web", action="store_true", help="serve the web console, watched by a client")
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
        web_port = free_port()
        if args.web:
            env.update(EDGEBRAIN_WEB__ENABLED="true", EDGEBRAIN_WEB__PORT=str(web_port))
        daemon = start_daemon(env)
        watcher = Watcher(broker.port)
        try:
            watcher.wait_for("eb/status", timeout=120)
            if args.web:
                threading.Thread(target=_follow, args=(f"http://127.0.0.1:{web_port}",), daemon=True).start()
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
            rss = _rss_mib(daemon.pid)
        finally:
            watcher.close()
            daemon.terminate()
            daemon.wait(20)
            broker.stop()
    print(f"{len(latencies)} of {len(cases)} requests reached their device topic; publish -> device topic: "
          f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
          f"mean {statistics.fmean(latencies):.1f} ms; daemon RSS {rss:.0f} MiB"
          + (" with the web console" if args.web else ""))
    return 0


def _follow(url: str) -> None:
    """A browser's part: the page's live updates, read for as long as the daemon runs."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    opener.open(url + "/api/state").read()
    with opener.open(url + "/api/events") as events:
        while events.readline():
            pass


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
