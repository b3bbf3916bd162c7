"""MQTT over TLS with a password and an ACL, against a Mosquitto the test configures with certificates it
generates: the daemon works with the right credentials, refuses to start with wrong ones, and never
logs the password."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.broker import Daemon, Watcher, daemon_env
from tests.secure import PASSWORD, make_ca, secure_variables, start_secure_broker

pytestmark = pytest.mark.model


@pytest.fixture()
def secure_broker(tmp_path):
    broker = start_secure_broker(tmp_path)
    yield broker, tmp_path
    broker.stop()


def secure_env(cli_env, folder: Path, port: int, password: str) -> dict[str, str]:
    return daemon_env(cli_env, folder / "state", port, **secure_variables(folder, password))


def test_tls_with_password_and_acl(cli_env, secure_broker):
    broker, folder = secure_broker
    watcher = Watcher(broker.port, tls={"ca_certs": str(folder / "ca.crt")}, login=("tester", "tester-pass"))
    log = folder / "daemon.log"
    try:
        with Daemon(secure_env(cli_env, folder, broker.port, PASSWORD), log) as daemon:
            watcher.wait_for("eb/status", timeout=120)
            watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "tls1"}))
            assert watcher.wait_for("home/kitchen/light/set")[0].payload == b'{"state":"ON"}'
            assert json.loads(watcher.wait_for("eb/result")[0].payload)["status"] == "routed"
            daemon.stop()  # exit 0 after SIGTERM, or the test fails
    finally:
        watcher.close()
    assert PASSWORD not in log.read_text()


def test_wrong_credentials_stop_the_daemon_with_a_clear_message(cli_env, secure_broker):
    broker, folder = secure_broker
    wrong = "wrong-password-also-secret"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "edgebrain", "-v", "run"],
                          env=secure_env(cli_env, folder, broker.port, wrong), capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 2
    assert "refused edgebrain" in done.stderr and ("Bad user name or password" in done.stderr
                                                  or "Not authorized" in done.stderr)
    assert wrong not in done.stderr + done.stdout and time.monotonic() - started < 120



def test_a_certificate_that_does_not_verify_stops_the_daemon_with_a_clear_message(cli_env, secure_broker):
    broker, folder = secure_broker
    other = folder / "other"
    other.mkdir()
    env = secure_env(cli_env, folder, broker.port, PASSWORD)
    env["EDGEBRAIN_MQTT__TLS__CA_FILE"] = str(make_ca(other))  # a CA that did not sign the broker's certificate
    done = subprocess.run([sys.executable, "-m", "edgebrain", "run"], env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"edgebrain: the broker at localhost:{broker.port} failed the TLS check: self-signed certificate in "
        f"certificate chain (check mqtt.tls.ca_file {other / 'ca.crt'} and that mqtt.host is a name on its "
        "certificate)")
