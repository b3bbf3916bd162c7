"""`edgebrain run` as a process: the real model, a real broker, stdin with the embedded defaults, and
SIGKILL while commands are scheduled."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.broker import Daemon, Seen, daemon_env
from tests.gated import gated_env, move_clock

pytestmark = pytest.mark.model


def test_embedded_defaults_read_stdin_and_print_what_would_be_sent(cli_env, tmp_path):
    env = dict(cli_env, EDGEBRAIN_STATE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "edgebrain", "run"], env=env, input=b"turn on the kitchen light\n"
                          b"is the kitchen light on?\n", capture_output=True, timeout=300, check=True)
    lines = done.stdout.decode().splitlines()
    assert lines[0] == '  would send {"state":"ON"} to home/kitchen/light/set (kitchen_light)'
    assert json.loads(lines[1])["status"] == "routed"
    # A question moves nothing; a device that has never said its state is not guessed at.
    answered = json.loads(lines[2])
    assert (answered["status"], answered["commands"], answered["answer"]["kind"]) == ("answered", [], "unknown")
    assert answered["reply"] == "I have not heard from the kitchen light yet." and len(lines) == 3


def test_killed_daemon_fires_each_scheduled_command_exactly_once(cli_env, tmp_path, broker, watcher):
    clock = tmp_path / "clock"  # the daemon's clock, moved on instead of waiting for the jobs
    env = gated_env(daemon_env(cli_env, tmp_path / "state", broker.port, GATE_CLOCK=str(clock)), tmp_path / "gates")
    with Daemon(env, tmp_path / "daemon.log", "tests.gated") as daemon:
        watcher.wait_for("eb/status", timeout=120)
        watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light in 1 minute", "id": "k1"}))
        watcher.publish("eb/text", json.dumps({"text": "turn off the living room AC in 1 minute", "id": "k2"}))
        scheduled = [json.loads(s.payload) for s in watcher.wait_for("eb/result", 2, timeout=60)]
        assert [r["status"] for r in scheduled] == ["scheduled", "scheduled"]
        daemon.kill()
        assert watcher.wait_for("eb/status", 2, timeout=60)[-1] == Seen("eb/status", b"offline", 1, True)  # the will
        assert watcher.on("home/#") == []
        move_clock(clock, 120)  # both are due, a minute late at most: within the grace, so they fire at start
        daemon.restart()
        watcher.wait_for("home/kitchen/light/set", timeout=120)
        watcher.wait_for("home/living_room/ac/set", timeout=60)
        daemon.stop()
    watcher.flush()
    assert watcher.on("home/#") == [Seen("home/kitchen/light/set", b'{"state":"ON"}', 1, False),
                                    Seen("home/living_room/ac/set", b'{"device":"living_room_ac","action":"off"}', 1,
                                         False)]
    listing = subprocess.run([sys.executable, "-m", "edgebrain", "schedule", "list", "--all", "--json"], env=env,
                             capture_output=True, timeout=60, check=True)
    assert sorted(j["status"] for j in json.loads(listing.stdout)) == ["fired", "fired"]
    assert watcher.on("eb/status")[-1] == Seen("eb/status", b"offline", 1, True)  # said on the way out


def _run(env, config, tmp_path):
    path = tmp_path / "edgebrain.yaml"
    path.write_text(config)
    return subprocess.run([sys.executable, "-m", "edgebrain", "run", "--config", str(path)], env=env,
                          input=b"turn on the bedroom light\n", capture_output=True, timeout=300)


def test_pins_that_cannot_be_set_up_are_named_with_the_reason(cli_env, tmp_path):
    env = {k: v for k, v in cli_env.items() if not k.startswith("GPIOZERO_")}
    done = _run(env, f"dry_run: false\nstate_dir: {tmp_path}\n", tmp_path)
    message = done.stderr.decode().strip().splitlines()[-1]
    assert done.returncode == 2
    assert message.startswith("edgebrain: GPIO: cannot set up the pins for bedroom_light (GPIO17): Unable to load")
    assert "GPIOZERO_PIN_FACTORY=mock" in message


def test_simulated_pins_need_nothing_but_the_mock_factory(cli_env, tmp_path):
    env = {k: v for k, v in cli_env.items() if not k.startswith("GPIOZERO_")}
    env["GPIOZERO_PIN_FACTORY"] = "mock"  # what the error message advises; PWM pins come with it
    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "home.yaml").write_text("devices:\n  - {id: bedroom_light, type: light, name: Bedroom light, "
                                       "room: bedroom, gpio: {pin: 17, kind: pwm}}\n")
    done = _run(env, f"dry_run: false\nstate_dir: {tmp_path}\ndevices: {devices}\nmqtt:\n  host: broker.lan\n",
                tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout.decode().splitlines()[-1])["status"] == "routed"
    # A broker configured but not enabled is said at start, not ignored in silence.
    assert "edgebrain: mqtt is configured" in done.stderr.decode()
