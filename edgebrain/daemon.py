"""``edgebrain run``: build the service from the settings and run it until stdin ends or a signal."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TextIO

from . import systemd
from .config import Settings
from .errors import ConfigError
from .gpio import GpioBank
from .messages import Request
from .mqtt import MqttClient
from .registry import Registry, load_registry
from .router import Router
from .schedule import Schedule
from .service import Reader, Service

log = logging.getLogger(__name__)


def schedule_path(settings: Settings) -> Path:
    """The schedule database; a dry run keeps its own, so it never fires the real daemon's jobs."""
    return settings.state_dir / ("schedule-dry-run.db" if settings.dry_run else "schedule.db")


def build_service(settings: Settings, reader: Reader, registry: Registry, out: TextIO | None = None) -> Service:
    """The service with its MQTT client, GPIO outputs, router and schedule, not started yet."""
    gpio = None if settings.dry_run or not any(d.gpio for d in registry) else GpioBank(registry)
    client = MqttClient(settings.mqtt) if settings.mqtt.enabled else None
    router = Router(registry, publisher=client, gpio=gpio, prefix=settings.mqtt.prefix, dry_run=settings.dry_run,
                    console=out if settings.dry_run else None)
    service = Service(registry, reader, router, Schedule(schedule_path(settings)), mqtt=client,
                      prefix=settings.mqtt.prefix,
                      ha_prefix=settings.ha_prefix if settings.ha_discovery else None,
                      shared_group=settings.mqtt.shared_group, hermes=settings.mqtt.hermes,
                      max_text_bytes=settings.max_text_bytes, grace_s=settings.grace_s, out=out,
                      max_queue=settings.max_queue)
    if client is not None:
        client.on_expired = service.report_expired
    return service


def attach_microphone(service: Service, settings: Settings, registry: Registry) -> None:
    """Make the microphone an input: Vosk model, listener, and `<prefix>/listen` to open and close it."""
    from .listen.audio import MicSource
    from .listen.recognizer import Listener, load_model, phrase_list
    from .listen.speech import SpeechInput
    from .listen.voskmodel import resolve_vosk

    listen = settings.listen
    listener = Listener(load_model(resolve_vosk(listen.model)), phrase_list(registry) if listen.phrases else None,
                        listen.silence_ms)
    client = service.mqtt

    def publish(topic: str, payload: str, qos: int) -> None:
        if client is not None:
            client.publish(topic, payload, qos=qos, retain=False, expires=False)

    service.speech = SpeechInput(listener, lambda: MicSource(listen.device), service.submit, publish,
                                 settings.mqtt.prefix)
    service.open_mic_at_start = listen.open_at_start


def run(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Load everything, start, read stdin if configured, and stop cleanly on SIGTERM or SIGINT."""
    from .understand.llama import DEFAULT_THREADS
    from .understand.loader import load_understander

    registry = load_registry(settings.devices)
    understander = load_understander(registry=registry, model=settings.model,
                                     threads=settings.threads or DEFAULT_THREADS)
    service = build_service(settings, understander, registry, out)
    if settings.listen.enabled:
        attach_microphone(service, settings, registry)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    if service.mqtt is not None and not service.mqtt.wait_connected(10) and service.mqtt.fatal:
        service.stop()
        raise ConfigError(f"{service.mqtt.fatal}; check mqtt.username and the password file")
    watchdog = systemd.watchdog_interval()
    systemd.notify(f"READY=1\nSTATUS=ready ({'dry run' if settings.dry_run else 'routing'})")
    print(f"edgebrain ready ({settings.source}; {'dry run' if settings.dry_run else 'routing'}"
          f"{'; MQTT ' + settings.mqtt.host + ':' + str(settings.mqtt.port) if settings.mqtt.enabled else ''})",
          file=sys.stderr, flush=True)
    try:
        if settings.stdin:
            _read_stdin(service, stop)
            service.drain()
            if not settings.mqtt.enabled:
                stop.set()
        while not stop.wait(min(watchdog or 1.0, 1.0)):
            # A stuck worker stops the pings, and systemd restarts the service.
            if watchdog is not None and service.healthy():
                systemd.notify("WATCHDOG=1")
    finally:
        systemd.notify("STOPPING=1")
        service.stop()
        if service.router.gpio is not None:
            service.router.gpio.close()
        service.schedule.close()
    return 0


def _read_stdin(service: Service, stop: threading.Event) -> None:
    interactive = sys.stdin.isatty()
    while not stop.is_set():
        if interactive:
            print("> ", end="", file=sys.stderr, flush=True)
        raw = sys.stdin.buffer.readline()
        if not raw:
            return
        text = raw.decode("utf-8", errors="replace").strip()
        if text:
            service.submit(Request(text))
            service.drain()  # answer before the next prompt


def with_cli(settings: Settings, devices: str | None, model: str | None, threads: int | None) -> Settings:
    """Command-line options win over the file and the environment."""
    return replace(settings, devices=devices or settings.devices, model=model or settings.model,
                   threads=threads or settings.threads)
