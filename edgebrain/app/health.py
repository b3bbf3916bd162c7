"""The daemon's health as a person reads it: model, registry, broker, microphone, uptime, last bench."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from edgebrain.base.identity import keep_note

if TYPE_CHECKING:
    from edgebrain.base.config import Settings
    from edgebrain.devices.router import Router
    from edgebrain.listen.speech import SpeechInput
    from edgebrain.mqtt.client import MqttClient
    from edgebrain.transports.web.server import WebConsole


class Running(Protocol):
    """What the health report reads of the running service (the service is built on this module, not under it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def mqtt(self) -> MqttClient | None: ...
    @property
    def speech(self) -> SpeechInput | None: ...
    @property
    def router(self) -> Router: ...
    @property
    def started_at(self) -> float: ...
    @property
    def web(self) -> WebConsole | None: ...
    @property
    def registry_changed_at(self) -> float | None: ...


CHANGED_FILE = "registry-changed"  # when the running daemon last took a home changed on the broker


def note_registry_changed(state_dir: Path, devices: int) -> None:
    """Keep, for ``edgebrain doctor``, when the daemon took a changed home and how many devices it has."""
    keep_note(state_dir, CHANGED_FILE, f"{time.time():.0f} {devices}", "the registry change")


def registry_changed(state_dir: Path) -> str | None:
    """When the daemon last took a changed home ("at 2026-12-06 09:12:05, 14 devices"), if it has."""
    try:
        stamp, devices = (state_dir / CHANGED_FILE).read_text(encoding="utf-8").split()
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(stamp)))
    except (OSError, ValueError):
        return None
    return f"at {when}, {devices} devices"


def _uptime(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min {int(seconds % 60)} s"


def _bench(service: Running) -> str:
    path = service.settings.state_dir / "bench.json"
    try:
        fast = json.loads(path.read_text(encoding="utf-8"))["fast"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no figures yet (edgebrain bench --json {path})"
    latency = fast.get("latency_ms", {})
    return f"accuracy {fast.get('accuracy', 0):.1%}, p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms"


def health(service: Running) -> dict[str, str]:
    """One line each: model, registry, broker, microphone, mode, uptime, bench."""
    settings = service.settings
    mqtt = service.mqtt
    broker = "off" if mqtt is None else (f"connected to {settings.mqtt.host}:{settings.mqtt.port}"
                                         if mqtt.connected else f"away ({settings.mqtt.host}:{settings.mqtt.port})")
    speech = service.speech
    microphone = "off" if speech is None else "closed" if not speech.open else (
        f"open ({settings.listen.mode}), {'listening' if speech.listening else 'waiting'}")
    return {"model": settings.model or "the default model (edgebrain model info)",
            "registry": f"{len(list(service.router.registry))} devices from {', '.join(settings.registry.sources)} "
                        f"({settings.devices or 'the example registry'})" + (
                            "" if service.registry_changed_at is None else
                            time.strftime(", changed on the broker at %H:%M:%S",
                                          time.localtime(service.registry_changed_at))),
            "broker": broker, "microphone": microphone, "routing": "dry run" if settings.dry_run else "live",
            "uptime": _uptime(time.monotonic() - service.started_at), "bench": _bench(service),
            **({"web": f"{service.web.streams} pages open"} if service.web is not None else {})}
