"""The systemd unit (systemd-analyze verify and security), sd_notify with the watchdog, and doctor."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys

import pytest

from tests.broker import Daemon

EDGEBRAIN = [sys.executable, "-m", "edgebrain"]


@pytest.fixture()
def unit(tmp_path):
    text = subprocess.run([*EDGEBRAIN, "install-service", "--print"], capture_output=True, check=True).stdout
    path = tmp_path / "edgebrain.service"
    path.write_bytes(text)
    return path


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing (make system-deps installs systemd)"
    return subprocess.run([tool, *args], capture_output=True, text=True, check=False)


def test_unit_verifies(unit):
    assert "ExecStart=" + sys.executable.rsplit("/", 1)[0] + "/edgebrain run" in unit.read_text()
    done = analyze("verify", str(unit))
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stderr


def test_unit_is_locked_down(unit):
    done = analyze("security", "--offline=true", str(unit))
    level = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout).group(1))
    assert level <= 3.0, done.stdout
    text = unit.read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "User=edgebrain",
                 "SupplementaryGroups=gpio audio", "StateDirectory=edgebrain", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "DevicePolicy=closed", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                 "SystemCallFilter=@system-service"):
        assert line in text


def test_daemon_notifies_ready_pings_the_watchdog_and_says_stopping(cli_env, tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(120)
    env = dict(cli_env, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="4000000", EDGEBRAIN_STDIN="false",
               EDGEBRAIN_STATE_DIR=str(tmp_path / "state"))
    try:
        with Daemon(env, tmp_path / "daemon.log") as daemon:
            messages = [sock.recv(4096).decode()]
            assert messages[0].startswith("READY=1")
            # systemd stops a service silent for WatchdogSec (4 s here): each ping must come within it.
            # The daemon pings every 2 s, so a busy shared core still has 2 s of slack per ping.
            sock.settimeout(4.0)
            while sum(m == "WATCHDOG=1" for m in messages) < 3:
                messages.append(sock.recv(4096).decode())
            daemon.stop()  # exit status 0, soon after SIGTERM
        while "STOPPING=1" not in messages:
            messages.append(sock.recv(4096).decode())
    finally:
        sock.close()


def test_doctor_reports_what_is_wrong_and_how_to_fix_it(cli_env, broker, tmp_path, model_path):
    env = dict(cli_env, EDGEBRAIN_MQTT__ENABLED="true", EDGEBRAIN_MQTT__HOST="127.0.0.1",
               EDGEBRAIN_MQTT__PORT=str(broker.port), EDGEBRAIN_DRY_RUN="false",
               EDGEBRAIN_STATE_DIR=str(tmp_path / "state"))
    good = subprocess.run([*EDGEBRAIN, "doctor"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert good.returncode == 0, good.stdout
    assert re.search(r"^ok   broker: 127\.0\.0\.1:\d+: connect, publish and subscribe work$", good.stdout, re.M)
    from edgebrain.models.modelfile import verify

    model = verify(model_path)  # the file resolved, whichever it is: its size and hash, never literals
    mark = "ok  " if model.measured else "WARN"  # a model no benchmark measured is a warning, not a failure
    assert re.search(rf"^{mark} model: {re.escape(model.label())}: {re.escape(str(model_path))} "
                     rf"\({model.size:,} bytes, SHA-256 {model.sha256[:16]}…\)$", good.stdout, re.M), good.stdout
    assert re.search(r"^ok   gpio: MockFactory$", good.stdout, re.M)
    assert re.search(r"^ok   client id: 'edgebrain-.*-[0-9a-f]{8}', not taken over", good.stdout, re.M)
    from edgebrain.base.config import load_settings
    from edgebrain.base.identity import note_taken_over

    settings = load_settings(None, environ={k: v for k, v in env.items() if k.startswith("EDGEBRAIN_")})
    note_taken_over(settings.state_dir, settings.mqtt.client_id)  # what the daemon notes when it happens
    bad_registry = tmp_path / "devices"
    bad_registry.mkdir()
    (bad_registry / "x.yaml").write_text("devices: [{id: Bad Id, type: light, name: x}]\n")
    env.update(EDGEBRAIN_MQTT__PORT="1", EDGEBRAIN_DEVICES=str(bad_registry))
    bad = subprocess.run([*EDGEBRAIN, "doctor"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert "FAIL registry:" in bad.stdout and "FAIL broker: no connection to 127.0.0.1:1" in bad.stdout
    assert "fix: check mqtt.host/port" in bad.stdout
    assert "FAIL client id: another client took the daemon's session" in bad.stdout


def test_doctor_checks_the_wake_phrase_against_the_vosk_model(cli_env):
    env = dict(cli_env, EDGEBRAIN_LISTEN__ENABLED="true", EDGEBRAIN_LISTEN__MODEL="ko")
    unknown = subprocess.run([*EDGEBRAIN, "doctor"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert re.search(r"^FAIL wake phrase: listen.wake_phrases: none of \['hey computer', '你好 电脑'\]", unknown.stdout,
                     re.M), unknown.stdout
    env["EDGEBRAIN_LISTEN__WAKE_PHRASES"] = '["감사합니다"]'
    known = subprocess.run([*EDGEBRAIN, "doctor"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert re.search(r"^ok   wake phrase: say '감사합니다', pause, then the request$", known.stdout, re.M), known.stdout
