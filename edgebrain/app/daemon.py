"""``edgebrain run``: build the service from the settings and run it until stdin ends or a signal."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING, TextIO

import edgebrain.app.systemd as systemd
from edgebrain.app.service import STUCK_AFTER_S, Service
from edgebrain.base.config import Settings
from edgebrain.base.errors import ConfigError
from edgebrain.devices.registry import Registry
from edgebrain.devices.sources import load_home
from edgebrain.transports.console import read_lines

if TYPE_CHECKING:
    from edgebrain.listen.speech import Microphone
    from edgebrain.listen.transcriber import Transcriber

log = logging.getLogger(__name__)


def run(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Load everything, start, read stdin if configured, and stop cleanly on SIGTERM or SIGINT."""
    from edgebrain.models.llama import DEFAULT_THREADS
    from edgebrain.understand.loader import load_understander

    for notice in settings.notices:
        print(f"edgebrain: {notice}", file=sys.stderr)
    home = load_home(settings)
    registry = home.registry
    understander = load_understander(registry=registry, model=settings.model,
                                     threads=settings.threads or DEFAULT_THREADS)
    microphone, transcriber = _speech(settings, registry)
    service = Service(settings, registry, understander, out=out, microphone=microphone, transcriber=transcriber,
                      home=home, reread=understander.with_registry)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        service.start()
        if service.mqtt is not None and not service.mqtt.wait_connected(10) and service.mqtt.trouble.fatal:
            raise ConfigError(service.mqtt.trouble.fatal)
        watchdog = systemd.watchdog_interval()
        mode = "dry run" if settings.dry_run else "routing"
        systemd.notify(f"READY=1\nSTATUS=ready ({mode})")
        broker = f"; MQTT {settings.mqtt.host}:{settings.mqtt.port}" if settings.mqtt.enabled else ""
        print(f"edgebrain ready ({settings.source}; {mode}{broker})", file=sys.stderr, flush=True)
        if settings.stdin:
            terminal = sys.stderr if sys.stdin.isatty() else None
            read_lines(service.inbox, service.replies, stop, sys.stdin.buffer, terminal)
            service.drain()
            if not settings.mqtt.enabled:
                stop.set()
        while not stop.wait(min(watchdog or 1.0, 1.0)):
            if watchdog is not None:
                watchdog_ping(service)
    finally:
        systemd.notify("STOPPING=1")
        service.close()
    return 0


def watchdog_ping(service: Service, stuck_after_s: float = STUCK_AFTER_S) -> bool:
    """Ping systemd's watchdog while the worker and the scheduler come round; a stuck one stops the
    pings, and systemd restarts the service. True when a ping was sent."""
    return service.healthy(stuck_after_s) and systemd.notify("WATCHDOG=1")


def _speech(settings: Settings, registry: Registry) -> tuple[Microphone | None, Transcriber | None]:
    """The microphone, and speech to text for Wyoming and the web console, sharing one Vosk model. Only the
    microphone needs one: without a model, Wyoming offers ``handle`` alone and the console hides its button."""
    wyoming_asr = settings.wyoming.enabled and settings.wyoming.asr
    web_asr = settings.web.enabled and settings.web.speech
    if not (settings.listen.enabled or wyoming_asr or web_asr):
        return None, None
    from edgebrain.base.errors import ModelError
    from edgebrain.listen.recognizer import load_model, phrase_list
    from edgebrain.listen.speech import microphone
    from edgebrain.listen.transcriber import Transcriber
    from edgebrain.listen.voskmodel import NAMES, resolve_vosk

    listen = settings.listen
    try:
        model = load_model(resolve_vosk(listen.model))
    except ModelError as exc:
        if settings.listen.enabled:
            raise
        log.warning("speech to text is off (Wyoming's asr, the console's push-to-talk); understanding is on: %s", exc)
        return None, None
    language = listen.model if listen.model in NAMES else "en"
    transcriber = (Transcriber(model, phrase_list(registry) if listen.phrases else None, listen.model, language)
                   if wyoming_asr or web_asr else None)
    return (microphone(listen, registry, model) if listen.enabled else None), transcriber


def with_cli(settings: Settings, devices: str | None, model: str | None, threads: int | None) -> Settings:
    """Command-line options win over the file and the environment."""
    return replace(settings, devices=devices or settings.devices, model=model or settings.model,
                   threads=threads or settings.threads)
