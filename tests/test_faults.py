"""Faults and load against the real broker and the real model: a broker outage mid-stream, SIGKILL at
random moments with timed commands in flight, and a burst of 1,000 messages."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from collections import Counter
from datetime import datetime

import pytest

from edgebrain.registry import load_registry
from tests.broker import Broker, Watcher, daemon_env, rss_mib, start_daemon

pytestmark = pytest.mark.model


def results_by_id(watcher: Watcher) -> Counter[str]:
    return Counter(json.loads(s.payload)["id"] for s in watcher.on("eb/result"))


def stop(daemon) -> None:
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(30)
    except Exception:
        daemon.kill()


def test_broker_outage_in_the_middle_of_a_stream_loses_nothing(cli_env, tmp_path):
    broker = Broker(tmp_path, persistent=True)
    broker.start()
    watcher = Watcher(broker.port, persistent=True)
    daemon = start_daemon(daemon_env(cli_env, tmp_path / "state", broker.port), tmp_path / "daemon.log")
    try:
        watcher.wait_for("eb/status", timeout=120)
        for index in range(100):
            if index == 50:
                broker.stop()  # the broker goes away for 30 s with requests queued in the daemon
                time.sleep(30)
                broker.start()
                watcher.wait_for("eb/status", 2, timeout=60)
            watcher.publish("eb/text", json.dumps({"text": f"set the kitchen light to {index + 1} percent",
                                                   "id": f"r{index}"}))
        deadline = time.monotonic() + 180
        while len(results_by_id(watcher)) < 100 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # room for a duplicate to arrive, were there one
        # MQTT QoS 1 is at least once: publishes in flight when the broker dies are sent again after the
        # reconnect, and the broker may also keep its own unacknowledged copies for the watcher. So every
        # request has a result and every command arrives; repeats are exact copies, and only of what was
        # in flight at the outage: nothing sent after the broker came back is repeated.
        counts = results_by_id(watcher)
        assert set(counts) == {f"r{i}" for i in range(100)}
        assert all(int(i[1:]) < 50 for i, n in counts.items() if n > 1), counts
        for request_id in counts:
            assert len({s.payload for s in watcher.on("eb/result") if json.loads(s.payload)["id"] == request_id}) == 1
        routed = list({json.loads(s.payload)["id"]: json.loads(s.payload) for s in watcher.on("eb/result")}.values())
        sent = Counter(s.payload for s in watcher.on("home/kitchen/light/set"))
        expected: Counter[bytes] = Counter()
        payload_of: dict[bytes, int] = {}
        for result in routed:
            for command in result["commands"] if result["status"] == "routed" else []:
                value = command.get("value")
                payload = {"on": '{"state":"ON"}', "off": '{"state":"OFF"}'}.get(command["action"]) or (
                    json.dumps({"brightness": round(value * 254 / 100)}, separators=(",", ":"))
                    if command["action"] == "set" else None)
                if payload:
                    expected[payload.encode()] += 1
                    payload_of[payload.encode()] = int(result["id"][1:])
        assert sum(expected.values()) >= 90 and not expected - sent  # every routed command arrived
        assert all(payload_of[p] < 50 for p in sent - expected), sent - expected
    finally:
        stop(daemon)
        watcher.close()
        broker.stop()


def test_sigkill_at_random_moments_fires_every_timed_command_once(cli_env, tmp_path):
    broker = Broker(tmp_path, persistent=True)
    broker.start()
    watcher = Watcher(broker.port, persistent=True)
    env = daemon_env(cli_env, tmp_path / "state", broker.port)
    registry = load_registry()
    requests = {"t1": ("turn on the kitchen light in 1 minute", "kitchen_light"),
                "t2": ("turn off the living room AC in 1 minute", "living_room_ac"),
                "t3": ("open the curtains in 1 minute", "living_room_curtains"),
                "t4": ("switch on the floor lamp in 1 minute", "living_room_lamp"),
                "t5": ("turn on the humidifier in 1 minute", "living_room_humidifier"),
                "t6": ("turn on the bedroom AC in 1 minute", "bedroom_ac")}
    rng = random.Random(20261129)
    while not 25 <= datetime.now().second <= 30:  # all of it happens before the next minute starts
        time.sleep(0.5)
    daemon = start_daemon(env, tmp_path / "daemon.log")
    try:
        watcher.wait_for("eb/status", timeout=120)
        kills = 0
        for request_id, (text, _) in requests.items():
            watcher.publish("eb/text", json.dumps({"text": text, "id": request_id}))
            if request_id in ("t2", "t4", "t6"):
                time.sleep(rng.uniform(0.0, 1.5))  # somewhere in the middle of understanding or scheduling
                daemon.send_signal(signal.SIGKILL)
                daemon.wait(10)
                kills += 1
                daemon = start_daemon(env, tmp_path / "daemon.log")
        for _, device in requests.values():
            watcher.wait_for(str(registry.get(device).mqtt["topic"]), timeout=150)
        time.sleep(3)
        for _, device in requests.values():
            assert len(watcher.on(str(registry.get(device).mqtt["topic"]))) == 1, device  # exactly once
        database = sqlite3.connect(tmp_path / "state" / "schedule.db")
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        statuses = database.execute("SELECT request, status FROM jobs ORDER BY request").fetchall()
        assert statuses == [(r, "fired") for r in sorted(requests)] and kills == 3
    finally:
        stop(daemon)
        watcher.close()
        broker.stop()


def test_a_burst_of_1000_messages_is_answered_and_memory_stays_bounded(cli_env, tmp_path, broker, watcher):
    daemon = start_daemon(daemon_env(cli_env, tmp_path / "state", broker.port, EDGEBRAIN_MAX_QUEUE="64"))
    try:
        watcher.wait_for("eb/status", timeout=120)
        watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "warm"}))
        watcher.wait_for("eb/result", timeout=60)
        before = rss_mib(daemon.pid)
        texts = ["turn on the kitchen light", "turn off the living room AC", "set the fan to 40 percent",
                 "晚上八点开空调", "is the AC on?"]
        for index in range(1000):
            watcher.client.publish("eb/text", json.dumps({"text": texts[index % 5] + " " * (index % 3),
                                                          "id": f"b{index}"}), qos=1)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            answered = {json.loads(s.payload)["id"] for s in watcher.on("eb/result") + watcher.on("eb/error")}
            if len(answered & {f"b{i}" for i in range(1000)}) == 1000:
                break
            time.sleep(0.5)
        results = Counter(json.loads(s.payload)["id"] for s in watcher.on("eb/result"))
        busy = Counter(json.loads(s.payload)["id"] for s in watcher.on("eb/error")
                       if json.loads(s.payload)["code"] == "busy")
        assert all(results[f"b{i}"] + busy[f"b{i}"] == 1 for i in range(1000))  # one answer each
        assert rss_mib(daemon.pid) - before < 60
        started = time.monotonic()
        watcher.publish("eb/text", json.dumps({"text": "turn off the kitchen light", "id": "after"}))
        deadline = time.monotonic() + 30
        while "after" not in results_by_id(watcher) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "after" in results_by_id(watcher) and time.monotonic() - started < 10
        print(f"burst: {sum(results.values())} results, {sum(busy.values())} busy, "
              f"RSS {before:.0f} -> {rss_mib(daemon.pid):.0f} MiB")
    finally:
        stop(daemon)
