"""A burst of requests over MQTT: how long the daemon takes to answer them all, how many are busy, and
its memory before and after.

Starts its own Mosquitto on a free port and `edgebrain run` against it (real model, real broker), warms
it up with one request, then publishes the requests as fast as a client can (QoS 1; the five kinds of
request of the burst test in turn) and waits for one answer each, a result or `busy`. Usage:

    .venv/bin/python bench/burst.py [--count 1000] [--max-queue N]

Requests beyond the inbox (``max_queue``, 256 by default) are answered `busy` at once: Mosquitto keeps
to its in-flight window (20) only until the daemon starts acknowledging, and a burst outruns the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.broker import Broker, Watcher, daemon_env, rss_mib, start_daemon, until  # noqa: E402


def requests(count: int) -> list[tuple[str, str]]:
    """``count`` (id, text) pairs: switching, a Chinese command, two devices at once, a timed command, a question."""
    later = f"{datetime.now() + timedelta(hours=6):%H:%M}"
    texts = ["turn on the kitchen light", "关掉厨房的灯", "set the fan to 40 percent",
             f"turn on the bedroom AC at {later}", "is the AC on?"]
    return [(f"b{index}", texts[index % len(texts)]) for index in range(count)]


def answered(watcher: Watcher) -> tuple[set[str], set[str]]:
    """The ids with a result, and the ids answered busy."""
    results = {json.loads(s.payload)["id"] for s in watcher.on("eb/result")}
    busy = {json.loads(s.payload)["id"] for s in watcher.on("eb/error") if json.loads(s.payload)["code"] == "busy"}
    return results, busy


def main() -> int:
    """Run the burst and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="requests in the burst")
    parser.add_argument("--max-queue", type=int, default=None, help="the daemon's max_queue (default: its own)")
    args = parser.parse_args()
    burst = requests(args.count)
    ids = {request_id for request_id, _ in burst}
    extra = {"EDGEBRAIN_MAX_QUEUE": str(args.max_queue)} if args.max_queue else {}
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(Path(folder), extra="set_tcp_nodelay true\n")
        broker.start()
        env = daemon_env(dict(os.environ), Path(folder) / "state", broker.port, **extra,
                         GPIOZERO_PIN_FACTORY=os.environ.get("GPIOZERO_PIN_FACTORY", "mock"),
                         GPIOZERO_MOCK_PIN_CLASS="mockpwmpin")
        daemon = start_daemon(env)
        watcher = Watcher(broker.port)
        try:
            watcher.wait_for("eb/status", timeout=120)
            watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "warm"}))
            watcher.wait_for("eb/result", timeout=60)
            before = rss_mib(daemon.pid)
            started = time.perf_counter()
            for request_id, text in burst:
                watcher.client.publish("eb/text", json.dumps({"text": text, "id": request_id}), qos=1)
            until(lambda: ids <= set.union(*answered(watcher)), 600, lambda: "an answer to every request")
            took = time.perf_counter() - started
            after = rss_mib(daemon.pid)
            sent = len(watcher.on("home/kitchen/light/set"))
            started = time.perf_counter()
            watcher.publish("eb/text", json.dumps({"text": "turn off the kitchen light", "id": "after"}))
            watcher.wait_for("home/kitchen/light/set", sent + 1, timeout=30)
            single = (time.perf_counter() - started) * 1000
            results, busy = answered(watcher)
        finally:
            watcher.close()
            daemon.terminate()
            daemon.wait(30)
            broker.stop()
    rows = [("requests", f"{args.count}"), ("results", f"{len(results & ids)}"), ("busy", f"{len(busy & ids)}"),
            ("all answered after", f"{took:.1f} s ({args.count / took:.0f} requests/s)"),
            ("daemon RSS", f"{before:.0f} -> {after:.0f} MiB ({after - before:+.0f})"),
            ("one request afterwards", f"{single:.0f} ms to its device topic")]
    for name, value in rows:
        print(f"{name:<24}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
