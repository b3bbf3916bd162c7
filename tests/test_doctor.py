"""`edgebrain doctor` on what goes wrong in a household: a corrupt model, no Vosk model, no microphone
(or not the configured one), no GPIO pin factory, and a broker that refuses the credentials, the ACL,
or whose certificate does not verify (another CA, another host name). Each failure is named with its
cause; the checks that are fine stay fine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker import free_port
from tests.secure import PASSWORD, make_ca, secure_variables, start_secure_broker

pytestmark = pytest.mark.model  # the model check reads the real file

EDGEBRAIN = [sys.executable, "-m", "edgebrain"]


def doctor(env: dict[str, str]) -> tuple[int, list[str]]:
    """Exit status and the lines of `edgebrain doctor`, a finding and its fix joined on one line."""
    done = subprocess.run([*EDGEBRAIN, "doctor"], env=env, capture_output=True, text=True, timeout=180, check=False)
    lines = re.sub(r"\n {5}fix: ", " | fix: ", done.stdout).splitlines()
    return done.returncode, lines


def finding(lines: list[str], name: str) -> str:
    (line,) = [line for line in lines if re.match(rf"(ok  |FAIL) {name}: ", line)]
    return line


@pytest.fixture()
def env(cli_env, tmp_path) -> dict[str, str]:
    return dict(cli_env, EDGEBRAIN_STATE_DIR=str(tmp_path / "state"))


def test_a_model_whose_hash_does_not_match_fails_its_check(env, model_path, tmp_path):
    copy = tmp_path / model_path.name  # the same name and size as the real file, one byte changed
    shutil.copyfile(model_path, copy)
    with copy.open("r+b") as file:
        file.seek(-1, 2)
        last = file.read(1)
        file.seek(-1, 2)
        file.write(bytes([last[0] ^ 0xFF]))
    status, lines = doctor(dict(env, EDGEBRAIN_MODEL=str(copy)))
    assert status == 1
    line = finding(lines, "model")
    assert line.startswith(f"FAIL model: {copy}: ") and "SHA-256" in line, line
    assert re.search(r"\bdoes not match\b", line), line
    assert finding(lines, "registry").startswith("ok   registry: ")


def test_no_vosk_model_and_no_microphone(env, tmp_path):
    # ALSA's default device is a card that is not there; with no sound card (CI) there is no microphone.
    no_alsa = tmp_path / "alsa.conf"
    no_alsa.write_text("pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n")
    env.update(EDGEBRAIN_LISTEN__ENABLED="true", EDGEBRAIN_HOME=str(tmp_path / "home"),
               ALSA_CONFIG_PATH=str(no_alsa))
    status, lines = doctor(env)
    assert status == 1
    missing = f"the Vosk model 'en' is not in {tmp_path / 'home' / 'vosk'}"
    assert finding(lines, "vosk model") == (f"FAIL vosk model: {missing} | fix: run `edgebrain listen --vosk-model "
                                            "<name>` once online, or give a folder")
    assert finding(lines, "wake phrase").startswith(f"FAIL wake phrase: {missing} | fix: ")
    assert finding(lines, "microphone") == ("FAIL microphone: no audio input device | fix: plug in a microphone; "
                                            "`apt-get install libportaudio2`; add the user to the audio group")
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    _, lines = doctor(dict(env, EDGEBRAIN_LISTEN__MODEL=str(not_a_model)))
    assert finding(lines, "vosk model").startswith(f"FAIL vosk model: {not_a_model}: not a Vosk model folder")


def test_the_configured_microphone_is_the_one_checked(env, tmp_path):
    null_alsa = tmp_path / "alsa.conf"  # one capture device, ALSA's null device, named "default"
    null_alsa.write_text("pcm.!default { type null }\n")
    env.update(EDGEBRAIN_LISTEN__ENABLED="true", ALSA_CONFIG_PATH=str(null_alsa))
    _, lines = doctor(env)
    assert finding(lines, "microphone") == "ok   microphone: default"
    status, lines = doctor(dict(env, EDGEBRAIN_LISTEN__DEVICE="USB mic"))
    assert status == 1
    assert finding(lines, "microphone").startswith(
        "FAIL microphone: no audio input device 'USB mic': No input device matching 'USB mic' "
        "(see `edgebrain listen --list-devices`) | fix: plug in a microphone")


def test_no_gpio_pin_factory(env):
    without = {k: v for k, v in env.items() if not k.startswith("GPIOZERO_")}  # not a Pi, no simulation asked
    status, lines = doctor(dict(without, EDGEBRAIN_DRY_RUN="false"))
    assert status == 1
    assert finding(lines, "gpio") == ("FAIL gpio: no GPIO pin factory: Unable to load any default pin factory! | fix: "
                                      "on a Pi 5: `pip install 'edgebrain[pi]'` and add the user to the gpio group")
    _, lines = doctor(dict(env, EDGEBRAIN_DRY_RUN="false"))
    assert finding(lines, "gpio") == "ok   gpio: MockFactory"
    _, lines = doctor(without)  # a dry run sets no pins: nothing to check
    assert [line for line in lines if "gpio" in line] == []


# edgebrain may read and write eb/#, only write nr/# (no reading), and only read nw/# (no writing).
ACL = ("user edgebrain\ntopic readwrite eb/#\ntopic write nr/#\ntopic read nw/#\n\n"
       "user tester\ntopic readwrite #\n")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """TLS with a certificate for broker.example and 127.0.0.1 (not for localhost), passwords, an ACL."""
    folder = tmp_path_factory.mktemp("secure")
    running = start_secure_broker(folder, ACL, san="DNS:broker.example,IP:127.0.0.1")
    other = folder / "other"
    other.mkdir()
    make_ca(other)  # a CA that did not sign the broker's certificate
    yield running, folder
    running.stop()


def broker_check(env, broker, password=PASSWORD, host="127.0.0.1", prefix="eb", **extra: str) -> tuple[int, str]:
    running, folder = broker
    env.update(secure_variables(folder, password, host), EDGEBRAIN_MQTT__ENABLED="true",
               EDGEBRAIN_MQTT__PORT=str(running.port), EDGEBRAIN_MQTT__PREFIX=prefix, **extra)
    status, lines = doctor(env)
    assert password not in "\n".join(lines)
    return status, finding(lines, "broker")


def test_a_broker_that_lets_edgebrain_in(env, broker):
    status, line = broker_check(env, broker)
    assert line == f"ok   broker: 127.0.0.1:{broker[0].port}: connect, publish and subscribe work"
    assert status == 0


FIX = " | fix: check mqtt.host/port, credentials and TLS files; is mosquitto running?"


def test_refused_credentials_are_said_as_such(env, broker):
    status, line = broker_check(env, broker, password="wrong-password-also-secret")
    assert status == 1
    # Mosquitto answers MQTT 5 clients with a wrong password "Not authorized".
    assert line == (f"FAIL broker: the broker at 127.0.0.1:{broker[0].port} refused edgebrain: Not authorized; "
                    "check mqtt.username and the password file" + FIX)


def test_a_message_the_acl_refuses(env, broker):
    status, line = broker_check(env, broker, prefix="nw")
    assert status == 1
    assert re.fullmatch(r"FAIL broker: the broker refused a message on nw/doctor/[0-9a-f]{8}: Not authorized \(may "
                        r"user 'edgebrain' write nw/# by its ACL\?\)" + re.escape(FIX), line), line


def test_a_topic_the_acl_does_not_let_edgebrain_read(env, broker):
    # Mosquitto grants the subscription and drops what it may not deliver: only the missing echo tells.
    status, line = broker_check(env, broker, prefix="nr")
    assert status == 1
    assert re.fullmatch(r"FAIL broker: connected, but a message published on nr/doctor/[0-9a-f]{8} did not come "
                        r"back \(may user 'edgebrain' read nr/# by the broker's ACL\?\)" + re.escape(FIX), line), line


def test_a_certificate_from_another_ca(env, broker):
    other_ca = broker[1] / "other" / "ca.crt"
    status, line = broker_check(env, broker, EDGEBRAIN_MQTT__TLS__CA_FILE=str(other_ca))
    assert status == 1
    assert line == (f"FAIL broker: the broker at 127.0.0.1:{broker[0].port} failed the TLS check: self-signed "
                    f"certificate in certificate chain (check mqtt.tls.ca_file {other_ca} and that mqtt.host is a name "
                    "on its certificate)" + FIX)


def test_a_certificate_for_another_host_name(env, broker):
    status, line = broker_check(env, broker, host="localhost")  # it is 127.0.0.1, but not named on the certificate
    assert status == 1
    assert line == (f"FAIL broker: the broker at localhost:{broker[0].port} failed the TLS check: Hostname mismatch, "
                    f"certificate is not valid for 'localhost'. (check mqtt.tls.ca_file {Path(broker[1]) / 'ca.crt'} "
                    "and that mqtt.host is a name on its certificate)" + FIX)


def test_a_broker_that_is_not_there(env):
    port = free_port()  # nothing listens there
    env.update(EDGEBRAIN_MQTT__ENABLED="true", EDGEBRAIN_MQTT__HOST="127.0.0.1", EDGEBRAIN_MQTT__PORT=str(port))
    status, lines = doctor(env)
    assert status == 1
    refused = f"FAIL broker: no connection to 127.0.0.1:{port}: [Errno 111] Connection refused"
    assert finding(lines, "broker") == refused + FIX
