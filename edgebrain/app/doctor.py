"""``edgebrain doctor``: check every part the service needs and say how to fix what is wrong."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from edgebrain.base.config import Settings
from edgebrain.base.errors import EdgebrainError


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, whether it is fine, what to do if not, and a warning that does not fail."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: str = ""

    def line(self) -> str:
        """The finding as printed."""
        mark = "FAIL" if not self.ok else "WARN" if self.warning else "ok  "
        advice = self.fix if not self.ok else self.warning
        return f"{mark} {self.name}: {self.detail}" + (f"\n     {'fix' if not self.ok else 'note'}: {advice}"
                                                      if advice else "")


def _run(name: str, fix: str, probe: Callable[[], str | tuple[str, str]]) -> Check:
    try:
        found = probe()
    except (EdgebrainError, OSError, RuntimeError, ValueError, ImportError) as exc:
        return Check(name, False, str(exc), fix)
    detail, warning = (found, "") if isinstance(found, str) else found
    return Check(name, True, detail, warning=warning)


def _model(settings: Settings) -> tuple[str, str]:
    from edgebrain.models.modelfile import resolve, verify

    info = resolve(settings.model)
    checked = verify(info.path, source=info.source, rehash=True)
    detail = f"{checked.label()}: {checked.path} ({checked.size:,} bytes, SHA-256 {checked.sha256[:16]}…)"
    if checked.measured:
        return detail, ""
    bench = f"edgebrain bench --model {settings.model or checked.path}"
    return detail, f"no benchmark has measured this model; run `{bench}` before relying on it, or use the default"


def _registry(settings: Settings) -> str:
    from edgebrain.app.health import registry_changed
    from edgebrain.devices.sources import load_home

    home = load_home(settings)
    routes = sum(1 for d in home.registry if d.mqtt or d.gpio)
    line = f"{len(home.registry)} devices, {routes} with a route"
    if settings.registry.imports():
        line += (f"; {len(home.rows)} imported from {', '.join(settings.registry.sources)}, "
                 f"{len(home.unsure_rooms())} without a room, {len(home.skipped)} skipped (edgebrain devices)")
        if (changed := registry_changed(settings.state_dir)) is not None:
            line += f"; the daemon last took a home changed on the broker {changed}"
    return line


def _vosk(settings: Settings) -> str:
    from edgebrain.listen.voskmodel import resolve_vosk

    return str(resolve_vosk(settings.listen.model, download=False))


def _wake(settings: Settings) -> str:
    from edgebrain.listen.recognizer import load_model
    from edgebrain.listen.voskmodel import resolve_vosk
    from edgebrain.listen.wake import WakeWord

    wake = WakeWord(load_model(resolve_vosk(settings.listen.model, download=False)), settings.listen.wake_phrases)
    return "say " + " or ".join(repr(p) for p in wake.phrases) + ", pause, then the request"


def _broker(settings: Settings) -> str:
    from edgebrain.mqtt.client import MqttClient

    got = threading.Event()
    # Its own client id: with the daemon's, the check would take the running daemon's session.
    client = MqttClient(replace(settings.mqtt, client_id=f"{settings.mqtt.client_id or 'edgebrain'}-doctor"))
    topic = f"{settings.mqtt.prefix}/doctor/{uuid.uuid4().hex[:8]}"
    client.subscribe(topic, lambda t, p: got.set())
    client.start()
    may = f"may user {settings.mqtt.username!r}"
    try:
        if not client.wait_connected(10):
            # Refused credentials and certificates that do not verify are said as such, not as a timeout.
            raise RuntimeError(client.trouble.fatal or client.trouble.failure
                               or f"no connection to {settings.mqtt.host}:{settings.mqtt.port} within 10 s")
        client.publish(topic, "ping", qos=1)
        deadline = time.monotonic() + 10
        while not got.wait(0.05):
            if topic in client.trouble.refused:
                raise RuntimeError(f"the broker refused a message on {topic}: {client.trouble.refused[topic]} "
                                   f"({may} write {settings.mqtt.prefix}/# by its ACL?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"connected, but a message published on {topic} did not come back ({may} "
                                   f"read {settings.mqtt.prefix}/# by the broker's ACL?)")
    finally:
        client.stop()
    return f"{settings.mqtt.host}:{settings.mqtt.port}: connect, publish and subscribe work"


def _identity(settings: Settings) -> str:
    from edgebrain.base.identity import taken_over

    client_id = settings.mqtt.client_id
    when = taken_over(settings.state_dir, client_id)
    if when is not None:
        raise RuntimeError(f"another client took the daemon's session with its client id {client_id!r} at "
                           f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(when))}: two daemons share one id")
    return f"{client_id!r}, not taken over since the daemon started"


def _microphone(settings: Settings) -> str:
    from edgebrain.listen.audio import input_device, list_devices

    devices = list_devices()
    if not devices:
        raise RuntimeError("no audio input device")
    # The device the daemon will open (listen.device), not merely any device.
    return str(input_device(settings.listen.device)["name"])


def _gpio(settings: Settings) -> str:
    import gpiozero

    try:
        factory = gpiozero.Device._default_pin_factory()
    except Exception as exc:  # gpiozero's BadPinFactory and friends
        raise RuntimeError(f"no GPIO pin factory: {exc}") from exc
    factory.close()
    return type(factory).__name__


def diagnose(settings: Settings) -> list[Check]:
    """Every check that applies to this configuration."""
    checks = [
        _run("model", "run `edgebrain model fetch` (it downloads and verifies the model)", lambda: _model(settings)),
        _run("registry", "fix the file and device named in the message", lambda: _registry(settings)),
    ]
    if settings.mqtt.enabled:
        checks.append(_run("broker", "check mqtt.host/port, credentials and TLS files; is mosquitto running?",
                           lambda: _broker(settings)))
        checks.append(_run("client id", "give each daemon its own mqtt.client_id (or leave it empty: one is made "
                           "per installation)", lambda: _identity(settings)))
    if settings.listen.enabled:
        checks.append(_run("vosk model", "run `edgebrain listen --vosk-model <name>` once online, or give a folder",
                           lambda: _vosk(settings)))
        if settings.listen.mode == "wake":
            checks.append(_run("wake phrase", "set listen.wake_phrases to words this Vosk model knows",
                               lambda: _wake(settings)))
        checks.append(_run("microphone", "plug in a microphone; `apt-get install libportaudio2`; add the user to "
                           "the audio group", lambda: _microphone(settings)))
    if not settings.dry_run:
        checks.append(_run("gpio", "on a Pi 5: `pip install 'edgebrain[pi]'` and add the user to the gpio group",
                           lambda: _gpio(settings)))
    return checks
