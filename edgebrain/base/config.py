"""Configuration: edgebrain.yaml, then EDGEBRAIN_* overrides, checked once against config.schema.json.

The schema is the one source of the keys, their defaults and their documentation (``edgebrain config
--schema`` prints it); errors name the key and where its value came from.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import ValidationError

from edgebrain.base.errors import ConfigError
from edgebrain.base.identity import default_client_id
from edgebrain.base.schemas import load_schema, problems, where

log = logging.getLogger(__name__)

ENV_PREFIX = "EDGEBRAIN_"
CONFIG_ENV = "EDGEBRAIN_CONFIG"
EMBEDDED = "embedded defaults"


@dataclass(frozen=True)
class TlsSettings:
    """Files for a TLS connection to the broker; all None means plain TCP."""

    ca_file: str | None
    cert_file: str | None
    key_file: str | None

    @property
    def enabled(self) -> bool:
        """True when any TLS file is given."""
        return bool(self.ca_file or self.cert_file)


# The defaults of every field are in schemas/config.schema.json, and only there.
@dataclass(frozen=True)
class MqttSettings:
    """The broker and edgebrain's topics on it."""

    enabled: bool
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)  # a secret: never in logs or reprs
    tls: TlsSettings
    prefix: str
    client_id: str
    keepalive: int
    session_expiry_s: int
    protocol: str
    shared_group: str | None
    hermes: bool
    reconnect_max_s: int
    outbox_limit_s: float


@dataclass(frozen=True)
class ButtonSettings:
    """The push-to-talk button's pin (None: none), and whether a request lasts while it is held."""

    pin: int | None
    hold: bool


@dataclass(frozen=True)
class LedSettings:
    """The listening light's pin (None: none), and whether it can dim (pulse while thinking)."""

    pin: int | None
    pwm: bool


@dataclass(frozen=True)
class ListenSettings:
    """The microphone input."""

    enabled: bool
    device: str | int | None
    model: str
    phrases: bool
    silence_ms: int
    stable_ms: int
    open_at_start: bool
    mode: str
    wake_phrases: tuple[str, ...]
    session_s: float
    button: ButtonSettings
    led: LedSettings


@dataclass(frozen=True)
class WyomingSettings:
    """The Wyoming server for Home Assistant's Assist."""

    enabled: bool
    uri: str
    zeroconf: bool
    asr: bool


@dataclass(frozen=True)
class WebSettings:
    """The web console: where it listens, and its password (None: none, allowed on this machine only)."""

    enabled: bool
    host: str
    port: int
    speech: bool
    password: str | None = field(repr=False)  # a secret: never in logs or reprs


@dataclass(frozen=True)
class RegistrySettings:
    """Where the devices come from, and how long to wait for the broker's retained lists at start."""

    sources: tuple[str, ...]
    zigbee2mqtt_base: str
    wait_s: float

    def imports(self) -> bool:
        """True when a source other than the YAML folder is on (the broker is needed)."""
        return any(s != "yaml" for s in self.sources)


@dataclass(frozen=True)
class ConversationSettings:
    """How long a conversation remembers its previous turn, and how old a device state may be to be told."""

    expire_s: float
    stale_s: float


@dataclass(frozen=True)
class Settings:
    """Everything ``edgebrain run`` needs, validated."""

    devices: str | None
    model: str | None
    threads: int | None
    state_dir: Path
    stdin: bool
    dry_run: bool
    max_text_bytes: int
    max_queue: int
    mqtt: MqttSettings
    ha_discovery: bool
    ha_prefix: str
    grace_s: float
    listen: ListenSettings
    wyoming: WyomingSettings
    web: WebSettings
    registry: RegistrySettings
    sites: tuple[tuple[str, str], ...]  # (site, room): the room each satellite is in
    conversation: ConversationSettings
    source: str  # where the settings came from: a file, or the embedded defaults
    notices: tuple[str, ...] = ()  # what a user may not expect from these settings, said at start


def _defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's defaults as a nested dict."""
    out: dict[str, Any] = {}
    for key, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object" or "properties" in sub:
            out[key] = _defaults(sub)
        elif "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
    return out


def default(*keys: str) -> Any:
    """The schema's default of one key, e.g. default("listen", "silence_ms")."""
    node: Any = _defaults(load_schema("config"))
    for key in keys:
        node = node[key]
    return node


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def env_overrides(environ: Mapping[str, str], schema: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """EDGEBRAIN_A__B=v as {"a": {"b": v}} for the schema's top-level keys, and each key's variable."""
    found: dict[str, Any] = {}
    origins: dict[str, str] = {}
    top = set(schema.get("properties", {}))
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__")]
        if path[0] not in top:
            continue  # EDGEBRAIN_HOME and friends are not configuration keys
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{name}: not a YAML value: {exc}") from exc
        node = found
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {'.'.join(path[:-1])} is set both as a value and as a section")
        node[path[-1]] = value
        origins[".".join(path)] = name
    return found, origins


def _source(key: str, origins: Mapping[str, str], origin: str) -> str:
    """The variable that set ``key`` or a section around it; else the file (or the defaults)."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        found = origins.get(".".join(parts[:end]))
        if found is not None:
            return found
    return origin


def _sources(error: ValidationError, key: str, origins: Mapping[str, str], origin: str) -> list[str]:
    """Where the value an error is about came from; for unknown keys, where each of them came from."""
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        extra = [name for name in error.instance if name not in known]
        # A misspelt EDGEBRAIN_MQTT__PROT is the variable's fault, not that of the file beside it.
        return list(dict.fromkeys(_source(f"{key}.{name}" if key else name, origins, origin) for name in extra))
    return [_source(key, origins, origin)]


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys, not {type(data).__name__}")
    return data


def _password(section: Mapping[str, Any], name: str, origin: str) -> str | None:
    """A section's password: the first line of its password_file, else its password."""
    if section.get("password_file"):
        path = Path(str(section["password_file"])).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"{name}.password_file ({origin}): cannot read {path}: {exc.strerror}") from exc
        return lines[0] if lines else ""
    password = section.get("password")
    return None if password is None else str(password)


def _notices(given: Mapping[str, Any], data: Mapping[str, Any], origin: str,
             origins: Mapping[str, str]) -> tuple[str, ...]:
    """What these settings do that their author may not expect: a broker configured without saying
    whether to connect, and a configuration file that leaves the dry run on by default."""
    notices = []
    mqtt = given.get("mqtt")
    if isinstance(mqtt, Mapping) and mqtt and "enabled" not in mqtt and not data["mqtt"]["enabled"]:
        where = sorted({origins.get(f"mqtt.{key}", origin) for key in mqtt})
        notices.append(f"mqtt is configured ({', '.join(where)}) but mqtt.enabled is false: running without MQTT "
                       "(set mqtt.enabled: true to connect)")
    if origin != EMBEDDED and "dry_run" not in given:
        notices.append("dry_run is on (the default): commands are printed, not sent (set dry_run: false to route)")
    return tuple(notices)


def _listen(listen: Mapping[str, Any]) -> ListenSettings:
    return ListenSettings(**{**listen, "wake_phrases": tuple(listen["wake_phrases"]),
                             "session_s": float(listen["session_s"]), "button": ButtonSettings(**listen["button"]),
                             "led": LedSettings(**listen["led"])})


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the file (``path`` or $EDGEBRAIN_CONFIG), then EDGEBRAIN_* variables; validated."""
    environ = os.environ if environ is None else environ
    schema = load_schema("config")
    data = _defaults(schema)
    origin = EMBEDDED
    chosen = path or environ.get(CONFIG_ENV)
    given: dict[str, Any] = {}
    if chosen:
        file_path = Path(chosen).expanduser()
        origin = str(file_path)
        _merge(given, _read_file(file_path))
    overrides, origins = env_overrides(environ, schema)
    _merge(given, copy.deepcopy(overrides))
    _merge(data, copy.deepcopy(given))
    errors = problems(schema, data)
    if errors:
        found = []
        for error in errors[:5]:
            key = where(error, ".")
            found.append(f"{key or '(top level)'} ({', '.join(_sources(error, key, origins, origin))}): "
                         f"{error.message}")
        raise ConfigError("invalid configuration: " + "; ".join(found))
    mqtt = data["mqtt"]
    state_dir = Path(data["state_dir"]).expanduser()
    # Only a daemon that connects needs an identity (and only then is one made in state_dir).
    client_id = mqtt["client_id"] or (default_client_id(state_dir) if mqtt["enabled"] else "")
    if (mqtt["tls"]["cert_file"] is None) != (mqtt["tls"]["key_file"] is None):
        raise ConfigError(f"mqtt.tls ({origin}): cert_file and key_file go together")
    settings = Settings(
        devices=data["devices"], model=data["model"], threads=data["threads"],
        state_dir=state_dir, stdin=data["stdin"], dry_run=data["dry_run"],
        max_text_bytes=data["max_text_bytes"], max_queue=data["max_queue"],
        mqtt=MqttSettings(
            enabled=mqtt["enabled"], host=mqtt["host"], port=mqtt["port"], username=mqtt["username"],
            password=_password(mqtt, "mqtt", origins.get("mqtt.password_file", origin)), tls=TlsSettings(**mqtt["tls"]),
            prefix=mqtt["prefix"], client_id=client_id, keepalive=mqtt["keepalive"],
            session_expiry_s=mqtt["session_expiry_s"], protocol=mqtt["protocol"],
            shared_group=mqtt["shared_group"], hermes=mqtt["hermes"], reconnect_max_s=mqtt["reconnect_max_s"],
            outbox_limit_s=float(mqtt["outbox_limit_s"])),
        ha_discovery=data["homeassistant"]["discovery"], ha_prefix=data["homeassistant"]["prefix"],
        grace_s=float(data["schedule"]["grace_s"]), listen=_listen(data["listen"]), source=origin,
        wyoming=WyomingSettings(**data["wyoming"]),
        web=WebSettings(data["web"]["enabled"], data["web"]["host"], data["web"]["port"], data["web"]["speech"],
                        _password(data["web"], "web", origins.get("web.password_file", origin))),
        notices=_notices(given, data, origin, origins),
        registry=RegistrySettings(tuple(data["registry"]["sources"]), data["registry"]["zigbee2mqtt_base"],
                                  float(data["registry"]["wait_s"])),
        sites=tuple(sorted(data["sites"].items())),
        conversation=ConversationSettings(float(data["conversation"]["expire_s"]),
                                          float(data["conversation"]["stale_s"])),
    )
    if settings.registry.imports() and not settings.mqtt.enabled:
        raise ConfigError(f"registry.sources ({origin}): importing from {', '.join(settings.registry.sources)} "
                          "needs the broker: set mqtt.enabled: true")
    log.info("configuration from %s", origin)
    return settings
