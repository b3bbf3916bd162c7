"""Running edgebrain: installing the service into a root, `config --schema`, the schedule from the
command line (list, cancel) beside a running daemon, a dry run's own schedule, jobs missed while the
daemon was down, and the watchdog that stops when the worker is stuck. Requests are understood by the
real model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edgebrain.app.service import Service
from edgebrain.base.config import load_settings
from edgebrain.core.messages import Request
from edgebrain.understand.engine import Understander
from edgebrain.understand.words.reading import Understanding
from tests.broker import Seen, service_settings, until

EDGEBRAIN = [sys.executable, "-m", "edgebrain"]
ROOT = Path(__file__).resolve().parent.parent


def edgebrain(*args: str, env: dict[str, str] | None = None,
              stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EDGEBRAIN, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300,
                          check=False)


def test_install_service_creates_the_user_the_unit_and_the_configuration_in_a_root(tmp_path):
    """A root like a fresh image's: only root in its users, and no login.defs (so no user groups by default)."""
    assert os.geteuid() == 0, "install-service needs root; CI runs as root"
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name, line in (("passwd", "root:x:0:0:root:/root:/bin/bash"), ("group", "root:x:0:"),
                       ("shadow", "root:*:19000:0:99999:7:::"), ("gshadow", "root:*::")):
        (root / "etc" / name).write_text(line + "\n")
    host = {path: Path(path).read_bytes() for path in ("/etc/passwd", "/etc/group", "/etc/shadow")}
    unit = root / "etc/systemd/system/edgebrain.service"
    config = root / "etc/edgebrain/edgebrain.yaml"
    done = edgebrain("install-service", "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "created the system user edgebrain", "created the group gpio", "created the group audio", f"wrote {unit}",
        f"wrote {config} (edit it: broker, registry folder, password file)"]
    users = {f[0]: f for f in (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    groups = {f[0]: f for f in (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    user = users["edgebrain"]
    assert (user[5], user[6]) == ("/home/edgebrain", "/usr/sbin/nologin") and 0 < int(user[2]) < 1000
    assert user[3] == groups["edgebrain"][2]  # its own group, which the unit's Group= names
    assert {"gpio", "audio"} <= set(groups) and all(0 < int(groups[g][2]) < 1000 for g in ("gpio", "audio"))
    assert unit.read_text() == edgebrain("install-service", "--print").stdout
    assert config.read_bytes() == (ROOT / "systemd/edgebrain.example.yaml").read_bytes()
    assert {path: Path(path).read_bytes() for path in host} == host  # this machine is untouched
    config.write_text("# edited\n")
    again = edgebrain("install-service", "--root", str(root))
    assert again.returncode == 0 and again.stdout.splitlines() == [f"wrote {unit}"]
    assert config.read_text() == "# edited\n"  # an edited configuration is never overwritten


def test_config_prints_its_schema_and_names_a_misspelt_variable(tmp_path):
    schema = edgebrain("config", "--schema")
    assert schema.returncode == 0
    assert json.loads(schema.stdout) == json.loads((ROOT / "schemas/config.schema.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEBRAIN_")}
    env["EDGEBRAIN_STATE_DIR"] = str(tmp_path)
    good = edgebrain("config", env=env)
    assert good.returncode == 0 and good.stdout.splitlines()[0] == "configuration OK (embedded defaults)"
    typo = edgebrain("config", env=dict(env, EDGEBRAIN_MQTT__PROT="1"))
    assert typo.returncode == 2
    assert typo.stderr.strip() == ("edgebrain: invalid configuration: mqtt (EDGEBRAIN_MQTT__PROT): Additional "
                                   "properties are not allowed ('prot' was unexpected)")


@pytest.fixture()
def clock():
    """The services' clock, which a test moves on."""
    return [time.time()]


def start_service(state: Path, port: int, understander: Understander, clock: list[float]) -> Service:
    settings = service_settings(state, port)
    service = Service(settings, understander.registry, understander, clock=lambda: clock[0])
    service.start()
    assert service.mqtt is not None and service.mqtt.wait_connected(10)
    return service


def results(watcher, count: int) -> list[dict[str, object]]:
    return [json.loads(s.payload) for s in watcher.wait_for("eb/result", count)]


def routing_env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEBRAIN_")}
    return dict(env, EDGEBRAIN_STATE_DIR=str(state), EDGEBRAIN_DRY_RUN="false")


def test_schedule_cancel_beside_a_running_daemon(tmp_path, broker, watcher, understander, clock):
    service = start_service(tmp_path / "state", broker.port, understander, clock)
    try:
        service.submit(Request("turn on the kitchen light in 1 hour", "light"))
        service.submit(Request("turn off the living room AC in 1 hour", "ac"))
        assert [(r["id"], r["status"]) for r in results(watcher, 2)] == [("light", "scheduled"), ("ac", "scheduled")]
        env = routing_env(tmp_path / "state")
        listed = json.loads(edgebrain("schedule", "list", "--json", env=env).stdout)
        assert [(j["id"], j["request"], j["status"]) for j in listed] == [(1, "light", "pending"),
                                                                          (2, "ac", "pending")]
        cancelled = edgebrain("schedule", "cancel", "1", env=env)
        assert (cancelled.returncode, cancelled.stdout) == (
            0, 'cancelled job 1: {"device": "kitchen_light", "action": "on", "time": "' + listed[0]["command"]["time"]
            + '"}\n')
        for args, message in ((["1"], "job 1 is cancelled, not pending"), (["99"], "no scheduled job 99"),
                              ([], "schedule cancel needs the job id (see `edgebrain schedule list`)")):
            refused = edgebrain("schedule", "cancel", *args, env=env)
            assert (refused.returncode, refused.stderr) == (2, f"edgebrain: {message}\n")
        clock[0] += 3600 + 60  # both jobs are due; only the one still pending fires
        service.schedule.changed.set()
        assert watcher.wait_for("home/living_room/ac/set") == [
            Seen("home/living_room/ac/set", b'{"device":"living_room_ac","action":"off"}', 1, False)]
        fired = results(watcher, 3)[2]
        assert (fired["id"], fired["status"], fired["scheduled"][0]["status"]) == ("job-2", "routed", "fired")
        assert watcher.on("home/kitchen/light/set") == []  # claimed in the same round as job 2, had it been pending
        listed = json.loads(edgebrain("schedule", "list", "--all", "--json", env=env).stdout)
        assert [(j["id"], j["status"]) for j in listed] == [(1, "cancelled"), (2, "fired")]
    finally:
        service.close()


def test_jobs_missed_while_the_daemon_was_down_are_published_at_start(tmp_path, broker, watcher, understander,
                                                                      clock):
    state = tmp_path / "state"
    first = start_service(state, broker.port, understander, clock)
    try:
        first.submit(Request("turn on the kitchen light in 1 hour", "early"))
        first.submit(Request("turn off the living room AC in 2 hours", "late"))
        scheduled = results(watcher, 2)
    finally:
        first.close()
    jobs = {r["id"]: r["scheduled"][0] for r in scheduled}
    clock[0] += 2 * 3600 + 60  # down for two hours: the first job is an hour late, the second a minute
    second = start_service(state, broker.port, understander, clock)
    try:
        missed, fired = results(watcher, 4)[2:]
        assert missed == {"id": f"job-{jobs['early']['id']}", "text": "", "status": "missed",
                          "commands": [jobs["early"]["command"]],
                          "scheduled": [{**jobs["early"], "status": "missed", "note": "more than 300 s late"}],
                          "reply": "A timed command was missed."}
        assert fired == {"id": f"job-{jobs['late']['id']}", "text": "", "status": "routed",
                         "commands": [jobs["late"]["command"]],
                         "scheduled": [{**jobs["late"], "status": "fired"}], "reply": fired["reply"]}
        assert fired["reply"] == f"The living room air conditioner will turn off at {jobs['late']['command']['time']}."
        assert watcher.wait_for("home/living_room/ac/set") == [
            Seen("home/living_room/ac/set", b'{"device":"living_room_ac","action":"off"}', 1, False)]
        assert watcher.on("home/kitchen/light/set") == []
    finally:
        second.close()


def test_a_dry_run_keeps_its_timed_commands_in_a_schedule_of_its_own(cli_env, tmp_path):
    env = dict(cli_env, EDGEBRAIN_STATE_DIR=str(tmp_path))  # the embedded defaults: a dry run
    done = edgebrain("run", env=env, stdin="turn on the kitchen light in 2 hours\n")
    assert done.returncode == 0, done.stderr
    (result,) = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert result["status"] == "scheduled" and result["commands"][0]["device"] == "kitchen_light"
    assert sorted(p.name for p in tmp_path.glob("schedule*.db")) == ["schedule-dry-run.db"]
    dry = json.loads(edgebrain("schedule", "list", "--json", env=env).stdout)
    assert [(j["id"], j["status"], j["command"]) for j in dry] == [(1, "pending", result["commands"][0])]
    real = edgebrain("schedule", "list", "--json", env=dict(env, EDGEBRAIN_DRY_RUN="false"))
    assert json.loads(real.stdout) == []  # the routing daemon's schedule never sees the dry run's job


class StuckReader:
    """Our Reader interface, stuck on its first request until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def understand(self, text: str, now: str | float | None = None, context: object = None) -> Understanding:
        self.entered.set()
        self.release.wait(60)
        return Understanding(text, ())


def test_the_watchdog_stops_while_the_worker_is_stuck(tmp_path, registry, monkeypatch):
    from edgebrain.app.daemon import watchdog_ping

    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    settings = load_settings(None, environ={"EDGEBRAIN_STATE_DIR": str(tmp_path / "state"), "EDGEBRAIN_STDIN": "false"})
    reader = StuckReader()
    service = Service(settings, registry, reader)
    stuck_after = 3.0  # longer than the scheduler's one-second round, so only a stuck worker counts
    service.start()
    try:
        assert watchdog_ping(service, stuck_after) and sock.recv(64) == b"WATCHDOG=1"
        service.submit(Request("turn on the kitchen light", "stuck"))
        assert reader.entered.wait(10)
        until(lambda: not service.healthy(stuck_after), 10, lambda: "the watchdog's check to fail")
        assert not watchdog_ping(service, stuck_after)
        with pytest.raises(BlockingIOError):
            sock.recv(64)  # no ping: systemd's WatchdogSec runs out and it restarts the service
        reader.release.set()
        until(lambda: service.healthy(stuck_after), 10, lambda: "the watchdog's check to pass again")
        assert watchdog_ping(service, stuck_after) and sock.recv(64) == b"WATCHDOG=1"
    finally:
        reader.release.set()
        service.close()
        sock.close()
