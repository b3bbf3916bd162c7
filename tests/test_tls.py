"""MQTT over TLS with a password and an ACL, against a Mosquitto the test configures with certificates it
generates: the daemon works with the right credentials, refuses to start with wrong ones, and never
logs the password."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.broker import Broker, Watcher, daemon_env, start_daemon

pytestmark = pytest.mark.model
PASSWORD = "s3cret-Pa55-never-logged"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([shutil.which("openssl") or "openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture()
def secure_broker(tmp_path):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=edgebrain test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=tmp_path)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr", cwd=tmp_path)
    (tmp_path / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.ext", "-out", "server.crt", cwd=tmp_path)
    passwords = tmp_path / "passwords"
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([tool, "-b", "-c", str(passwords), "edgebrain", PASSWORD], check=True, capture_output=True)
    subprocess.run([tool, "-b", str(passwords), "tester", "tester-pass"], check=True, capture_output=True)
    acl = tmp_path / "acl"
    acl.write_text("user edgebrain\ntopic readwrite eb/#\ntopic write home/#\ntopic readwrite homeassistant/#\n"
                   "topic readwrite hermes/#\n\nuser tester\ntopic readwrite #\n")
    for path in (passwords, acl, tmp_path / "server.key"):
        path.chmod(0o644)
    listener = (f"listener {{port}} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n"
                f"cafile {tmp_path / 'ca.crt'}\ncertfile {tmp_path / 'server.crt'}\n"
                f"keyfile {tmp_path / 'server.key'}\n")
    broker = Broker(tmp_path, listener=listener)
    broker.start()
    yield broker, tmp_path
    broker.stop()


def secure_env(cli_env, folder: Path, port: int, password: str) -> dict[str, str]:
    secret = folder / "mqtt-password"
    secret.write_text(password + "\n")
    return daemon_env(cli_env, folder / "state", port, EDGEBRAIN_MQTT__HOST="localhost",
                      EDGEBRAIN_MQTT__USERNAME="edgebrain", EDGEBRAIN_MQTT__PASSWORD_FILE=str(secret),
                      EDGEBRAIN_MQTT__TLS__CA_FILE=str(folder / "ca.crt"))


def test_tls_with_password_and_acl(cli_env, secure_broker):
    broker, folder = secure_broker
    watcher = Watcher(broker.port, tls={"ca_certs": str(folder / "ca.crt")}, login=("tester", "tester-pass"))
    log = folder / "daemon.log"
    daemon = start_daemon(secure_env(cli_env, folder, broker.port, PASSWORD), log)
    try:
        watcher.wait_for("eb/status", timeout=120)
        watcher.publish("eb/text", json.dumps({"text": "turn on the kitchen light", "id": "tls1"}))
        assert watcher.wait_for("home/kitchen/light/set")[0].payload == b'{"state":"ON"}'
        assert json.loads(watcher.wait_for("eb/result")[0].payload)["status"] == "routed"
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
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

