"""The daemon's parts, built from the settings: requests from every transport go to one inbox; the
handler understands, checks, routes or schedules them; the scheduler fires timed commands."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from edgebrain.app.health import health, note_registry_changed
from edgebrain.base.config import Settings
from edgebrain.base.errors import ConfigError
from edgebrain.base.identity import forget_taken_over, note_taken_over
from edgebrain.core.conversation import Conversations
from edgebrain.core.handler import CurrentReader, Handler, Reader
from edgebrain.core.history import History
from edgebrain.core.inbox import Inbox
from edgebrain.core.messages import Request
from edgebrain.core.replies import Replies
from edgebrain.core.schedule import Schedule
from edgebrain.core.scheduler import Scheduler
from edgebrain.devices.gpio import GpioBank
from edgebrain.devices.home import Home
from edgebrain.devices.live import LiveImport
from edgebrain.devices.registry import Registry
from edgebrain.devices.router import Router
from edgebrain.devices.sources import Follower
from edgebrain.devices.state import StateBook
from edgebrain.homeassistant.link import HomeAssistantLink
from edgebrain.mqtt.client import MqttClient
from edgebrain.mqtt.outbox import Outgoing
from edgebrain.transports.mqtt_inputs import MqttInputs
from edgebrain.transports.web.auth import check_exposure

if TYPE_CHECKING:
    from edgebrain.listen.speech import Microphone, SpeechInput
    from edgebrain.listen.transcriber import Transcriber
    from edgebrain.transports.web.server import WebConsole
    from edgebrain.transports.wyoming_server import WyomingServer

log = logging.getLogger(__name__)

STUCK_AFTER_S = 20.0  # a request takes seconds; a worker that has not come round for this long is stuck


def _each(*steps: Callable[[], object] | None) -> None:
    """Run every step, even after one fails: a part that cannot stop must not keep the others running."""
    for step in steps:
        if step:
            try:
                step()
            except Exception:
                log.exception("stopping failed in %s", getattr(step, "__qualname__", step))


def schedule_path(settings: Settings) -> Path:
    """The schedule database; a dry run keeps its own, so it never fires the real daemon's jobs."""
    return settings.state_dir / ("schedule-dry-run.db" if settings.dry_run else "schedule.db")


def conversations(settings: Settings, registry: Registry) -> Conversations:
    """The conversations' memory, with the site map (a site in a room no device is in is said at start)."""
    for site, room in settings.sites:
        if room not in registry.rooms:
            log.warning("sites: %r is in room %r, which no device of the registry is in", site, room)
    return Conversations(dict(settings.sites), settings.conversation.expire_s)


class Service:
    """Every part of the daemon, built once from the settings; start() and close() run them."""

    def __init__(self, settings: Settings, registry: Registry, reader: Reader, *, out: TextIO | None = None,
                 microphone: Microphone | None = None, transcriber: Transcriber | None = None,
                 clock: Callable[[], float] = time.time, home: Home | None = None,
                 reread: Callable[[Registry], Reader] | None = None):
        """``transcriber``: speech to text for Wyoming and the web console, when they are on; ``home``: the
        registry's sources, whose imported devices' states are followed; with ``reread`` (the reader for
        another registry) a home that changes on the broker is taken without a restart."""
        self.settings = settings
        self.started_at = time.monotonic()
        prefix = settings.mqtt.prefix
        if settings.web.enabled:  # before any pin or connection is taken
            check_exposure(settings.web.host, settings.web.password)
        gpio = None if settings.dry_run or not any(d.gpio for d in registry) else GpioBank(registry)
        self.mqtt = (MqttClient(settings.mqtt, on_expired=self._expired, on_error=self._mqtt_error)
                     if settings.mqtt.enabled else None)
        self.history = History()
        self.router = Router(registry, publisher=self.mqtt, gpio=gpio, prefix=prefix, dry_run=settings.dry_run,
                             console=out if settings.dry_run else None)
        self.replies = Replies(self.mqtt, prefix, out, self.router, self.history)
        self.follower: Follower | None = None
        self.live: LiveImport | None = None
        home = home if home is not None else Home(registry, (), (), ())
        if self.mqtt is not None:
            # What each MQTT device says of its state, for the console and for questions ("is the light on?").
            self.router.states = StateBook()
            self.follower = Follower(self.mqtt, self.router.states)
            self.follower.follow(home.followed())
        if self.mqtt is not None and settings.registry.imports() and reread is not None:
            self.live = LiveImport(self.mqtt, settings, home,
                                   lambda changed: self.use_home(changed, reread(changed.registry)))
        self.registry_changed_at: float | None = None
        self.schedule = Schedule(schedule_path(settings))
        self.reader = CurrentReader(reader)
        self.conversations = conversations(settings, registry)
        self.handler = Handler(self.reader, self.router, self.schedule, self.replies, clock, self.conversations,
                               settings.conversation.stale_s)
        self.inbox = Inbox(self.handler.handle, self.replies.error, settings.max_queue)
        self.scheduler = Scheduler(self.schedule, self.router, self.replies, settings.grace_s, clock)
        self.microphone = microphone
        self.speech: SpeechInput | None = None
        if microphone is not None:
            from edgebrain.listen.speech import SpeechInput  # speech imports audio libraries: only when listening

            self.speech = SpeechInput(microphone, self.inbox.submit, self._publish_speech, prefix)
        self.wyoming: WyomingServer | None = None
        if settings.wyoming.enabled:
            from edgebrain.transports.wyoming_server import WyomingServer  # the wyoming package: only when serving it

            self.wyoming = WyomingServer(settings.wyoming, transcriber if settings.wyoming.asr else None,
                                         self.inbox.submit)
        self.web: WebConsole | None = None
        if settings.web.enabled:
            from edgebrain.transports.web.actions import Parts
            from edgebrain.transports.web.server import WebConsole  # aiohttp: only when serving the console

            self.web = WebConsole(settings.web, Parts(self.router, self.schedule, self.inbox.submit,
                                                      self.history, self.health,
                                                      transcriber if settings.web.speech else None))
        self.inputs: MqttInputs | None = None
        self.homeassistant: HomeAssistantLink | None = None
        if self.mqtt is not None:
            self.inputs = MqttInputs(self.mqtt, settings.mqtt, settings.max_text_bytes, self.inbox.submit,
                                     self.replies.error, None if self.speech is None else self.speech.command)
            self.homeassistant = HomeAssistantLink(self.mqtt, registry, self.router, prefix,
                                                   settings.ha_prefix if settings.ha_discovery else None,
                                                   self.replies.error, self.speech is not None)

    def start(self) -> None:
        """Subscribe and connect, recover the schedule, open the microphone if asked, and start working."""
        if self.mqtt is not None:
            forget_taken_over(self.settings.state_dir)
            for part in (self.inputs, self.homeassistant, self.live):
                if part is not None:
                    part.subscribe()
            self.mqtt.start()
        self.scheduler.start()
        if self.speech is not None and self.microphone is not None and self.microphone.open_at_start:
            self.speech.start()
        self.inbox.start()
        if self.wyoming is not None:
            self.wyoming.start()
        if self.web is not None:
            self.web.start()

    def stop(self) -> None:
        """Finish the request in hand, then stop every thread and leave the broker."""
        _each(self.live.close if self.live else None,
              self.web.stop if self.web else None, self.wyoming.stop if self.wyoming else None,
              self.speech.stop if self.speech else None,
              self.inbox.stop, self.scheduler.stop, self.mqtt.stop if self.mqtt else None)

    def close(self) -> None:
        """Stop, then release the pins (outputs, button, light) and the schedule database."""
        self.stop()
        indicator = self.microphone.indicator if self.microphone else None
        gate = self.microphone.gate if self.microphone else None
        _each(self.router.gpio.close if self.router.gpio else None, indicator.close if indicator else None,
              getattr(gate, "close", None), self.schedule.close)

    def use_home(self, home: Home, reader: Reader) -> None:
        """Route and understand by a changed home from now on (the old one answered until now); a home
        whose devices cannot all be reached is refused and the one in use kept."""
        try:
            self.router.use(home.registry)
        except ConfigError as exc:
            log.error("kept the registry in use: %s", exc)
            return
        self.reader.reader = reader
        if self.follower is not None:
            self.follower.follow(home.followed())
        self.registry_changed_at = time.time()
        note_registry_changed(self.settings.state_dir, len(home.registry))
        log.info("now %d devices (%d imported)", len(home.registry), len(home.rows))

    def submit(self, request: Request) -> None:
        """Hand a request to the inbox."""
        self.inbox.submit(request)

    def drain(self) -> None:
        """Wait until every queued request is answered."""
        self.inbox.drain()

    @property
    def handled(self) -> int:
        """Requests the inbox has worked."""
        return self.inbox.handled

    def healthy(self, stuck_after_s: float = STUCK_AFTER_S) -> bool:
        """True while the worker and the scheduler run and came round recently."""
        return self.inbox.healthy(stuck_after_s) and self.scheduler.healthy(stuck_after_s)

    def health(self) -> dict[str, str]:
        """What `edgebrain doctor` would look at, as the daemon sees it now."""
        return health(self)

    def _mqtt_error(self, code: str, message: str) -> None:
        self.replies.error(None, code, message)
        if code == "session_taken_over":
            note_taken_over(self.settings.state_dir, self.settings.mqtt.client_id)

    def _expired(self, item: Outgoing) -> None:
        self.replies.expired(item)

    def _publish_speech(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        if self.mqtt is not None:
            self.mqtt.publish(topic, payload, qos=qos, retain=retain, expires=False)
