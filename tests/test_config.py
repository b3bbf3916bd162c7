"""Configuration: defaults, file, EDGEBRAIN_* overrides, errors that name the key, secrets kept out."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebrain.base.config import load_settings
from edgebrain.base.errors import ConfigError


def test_embedded_defaults():
    settings = load_settings(None, environ={})
    assert settings.stdin and settings.dry_run and not settings.mqtt.enabled
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.prefix) == ("localhost", 1883, "edgebrain")
    assert settings.ha_discovery and settings.ha_prefix == "homeassistant"
    assert settings.grace_s == 300 and settings.mqtt.outbox_limit_s == 60
    assert settings.state_dir == Path("~/.local/state/edgebrain").expanduser()
    assert settings.mqtt.client_id == ""  # no broker, no identity needed (and no file made for one)


def test_each_installation_has_its_own_client_id(tmp_path):
    import re
    import socket

    def client_id(state: str, explicit: str = "") -> str:
        environ = {"EDGEBRAIN_MQTT__ENABLED": "true", "EDGEBRAIN_STATE_DIR": str(tmp_path / state),
                   **({"EDGEBRAIN_MQTT__CLIENT_ID": explicit} if explicit else {})}
        return load_settings(None, environ=environ).mqtt.client_id

    first = client_id("one")
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:24]
    assert re.fullmatch(rf"edgebrain-{re.escape(host)}-[0-9a-f]{{8}}", first)
    assert client_id("one") == first  # kept across starts
    assert client_id("two") != first  # another installation on the same host name
    assert client_id("two", "kitchen-pi") == "kitchen-pi"  # an explicit id wins


def test_file_then_environment(tmp_path):
    config = tmp_path / "edgebrain.yaml"
    config.write_text("mqtt: {enabled: true, port: 1884, prefix: house/brain}\nschedule: {grace_s: 30}\n")
    env = {"EDGEBRAIN_CONFIG": str(config), "EDGEBRAIN_MQTT__PORT": "1885", "EDGEBRAIN_DRY_RUN": "false",
           "EDGEBRAIN_HOME": "/tmp/not-a-key"}
    settings = load_settings(None, environ=env)
    assert settings.mqtt.enabled and settings.mqtt.port == 1885 and settings.mqtt.prefix == "house/brain"
    assert settings.grace_s == 30 and not settings.dry_run and settings.source == str(config)


@pytest.mark.parametrize(("text", "env", "needle"), [
    ("mqtt: {port: 99999}\n", {}, r"mqtt\.port \(.*edgebrain\.yaml\): 99999 is greater than"),
    ("", {"EDGEBRAIN_MQTT__PORT": "many"}, r"mqtt\.port \(EDGEBRAIN_MQTT__PORT\): 'many' is not of type"),
    ("mqtt: {hots: x}\n", {}, r"mqtt \(.*\): Additional properties are not allowed \('hots'"),
    ("mqtt: [1, 2]\n", {}, r"mqtt \(.*\): \[1, 2\] is not of type 'object'"),
    ("- a list\n", {}, "must be a mapping"),
    ("mqtt: {port: [\n", {}, "not valid YAML"),
    ("mqtt: {prefix: 'a/#'}\n", {}, r"mqtt\.prefix"),
    ("mqtt: {tls: {cert_file: /x.pem}}\n", {}, "cert_file and key_file go together"),
    # A misspelt key is blamed on the variable that brought it, not on the section's other sources.
    ("", {"EDGEBRAIN_MQTT__PROT": "1"}, r"^invalid configuration: mqtt \(EDGEBRAIN_MQTT__PROT\): Additional "
     r"properties are not allowed \('prot' was unexpected\)$"),
    ("mqtt: {hots: x}\n", {"EDGEBRAIN_MQTT__PORT": "1885"},
     r"^invalid configuration: mqtt \([^,()]*edgebrain\.yaml\): "),
    ("mqtt: {hots: x}\n", {"EDGEBRAIN_MQTT__PROT": "1"},
     r"^invalid configuration: mqtt \([^,()]*edgebrain\.yaml, EDGEBRAIN_MQTT__PROT\): "),
    ("", {"EDGEBRAIN_MQTT__TLS": "{ca: x}"}, r"^invalid configuration: mqtt\.tls \(EDGEBRAIN_MQTT__TLS\): "),
    ("", {"EDGEBRAIN_MQTT": "{port: many}"}, r"^invalid configuration: mqtt\.port \(EDGEBRAIN_MQTT\): 'many'"),
])
def test_errors_name_the_key_and_its_source(tmp_path, text, env, needle):
    config = tmp_path / "edgebrain.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_settings(config, environ=env)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_password_from_a_file_never_shows(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("hunter2-very-secret\n")
    config = tmp_path / "edgebrain.yaml"
    config.write_text(f"mqtt: {{username: brain, password_file: {secret}}}\n")
    settings = load_settings(config, environ={})
    assert settings.mqtt.password == "hunter2-very-secret"
    assert "hunter2" not in repr(settings)
    with pytest.raises(ConfigError, match=r"mqtt\.password_file"):
        load_settings(None, environ={"EDGEBRAIN_MQTT__PASSWORD_FILE": str(tmp_path / "missing")})


def test_example_configuration_is_valid():
    example = Path(__file__).resolve().parent.parent / "systemd" / "edgebrain.example.yaml"
    settings = load_settings(example, environ={"EDGEBRAIN_MQTT__PASSWORD_FILE": ""})
    assert settings.mqtt.enabled and not settings.dry_run and not settings.stdin
