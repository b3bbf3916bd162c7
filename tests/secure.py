"""A Mosquitto with TLS, a password file and an ACL, from certificates the test makes with openssl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.broker import Broker

PASSWORD = "s3cret-Pa55-never-logged"
# edgebrain may use its topics and the devices'; the tester (the watcher) may use everything.
ACL = ("user edgebrain\ntopic readwrite eb/#\ntopic write home/#\ntopic readwrite homeassistant/#\n"
       "topic readwrite hermes/#\n\nuser tester\ntopic readwrite #\n")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([shutil.which("openssl") or "openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str = "ca") -> Path:
    """A self-signed CA, ``<name>.crt`` and ``<name>.key`` in ``folder``; returns the certificate."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=edgebrain test {name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=folder)
    return folder / f"{name}.crt"


def start_secure_broker(folder: Path, acl: str = ACL, san: str = "DNS:localhost,IP:127.0.0.1") -> Broker:
    """Mosquitto on TLS (a server certificate for ``san``, signed by ``folder/ca.crt``), with the users
    edgebrain (PASSWORD) and tester (tester-pass) and the ``acl``; started."""
    make_ca(folder)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=edgebrain test broker", "-keyout", "server.key",
            "-out", "server.csr", cwd=folder)
    (folder / "san.ext").write_text(f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.ext", "-out", "server.crt", cwd=folder)
    passwords = folder / "passwords"
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([tool, "-b", "-c", str(passwords), "edgebrain", PASSWORD], check=True, capture_output=True)
    subprocess.run([tool, "-b", str(passwords), "tester", "tester-pass"], check=True, capture_output=True)
    acl_file = folder / "acl"
    acl_file.write_text(acl)
    for path in (passwords, acl_file, folder / "server.key"):
        path.chmod(0o644)
    listener = (f"listener {{port}} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                f"acl_file {acl_file}\ncafile {folder / 'ca.crt'}\ncertfile {folder / 'server.crt'}\n"
                f"keyfile {folder / 'server.key'}\n")
    broker = Broker(folder, listener=listener)
    broker.start()
    return broker


def secure_variables(folder: Path, password: str, host: str = "localhost") -> dict[str, str]:
    """EDGEBRAIN_* for user edgebrain with ``password`` (from a file), over TLS with ``folder/ca.crt``."""
    secret = folder / "mqtt-password"
    secret.write_text(password + "\n")
    return {"EDGEBRAIN_MQTT__HOST": host, "EDGEBRAIN_MQTT__USERNAME": "edgebrain",
            "EDGEBRAIN_MQTT__PASSWORD_FILE": str(secret), "EDGEBRAIN_MQTT__TLS__CA_FILE": str(folder / "ca.crt")}
