"""edgebrain as a Wyoming service for Home Assistant's Assist: ``handle`` (a transcript in, understood,
checked and routed as ``<prefix>/text`` is, ``handled`` or ``not-handled`` with a reply out) and
``asr`` (audio in, a transcript out, by the same Vosk recognizer as the microphone).

The server runs an asyncio loop in a thread of its own; each connection is served alone, and
recognition runs in worker threads, so a slow or broken client never holds up another.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, HandleModel, HandleProgram, Info
from wyoming.server import AsyncEventHandler, AsyncServer

from edgebrain import __version__
from edgebrain.base.config import WyomingSettings
from edgebrain.base.errors import InputError
from edgebrain.core.messages import Request
from edgebrain.listen.transcriber import Stream, Transcriber
from edgebrain.transports.aiothread import LoopThread
from edgebrain.transports.asking import ask
from edgebrain.transports.wyoming_events import BadData, BadEvent, read_event

log = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="edgebrain", url="https://github.com/edgebrain/edgebrain")
DONE = ("routed", "scheduled", "answered", "ask")  # what Assist hears as handled


def info(transcriber: Transcriber | None) -> Info:
    """What this service offers, for ``describe``."""
    handle = HandleProgram(name="edgebrain", attribution=ATTRIBUTION, installed=True, version=__version__,
                           description="offline understanding of home control requests, English and Chinese",
                           models=[HandleModel(name="edgebrain", attribution=ATTRIBUTION, installed=True,
                                               description="registry grammar over a local Qwen model",
                                               version=__version__, languages=["en", "zh"])],
                           supports_home_control=True)
    asr = [] if transcriber is None else [AsrProgram(
        name="edgebrain-vosk", attribution=ATTRIBUTION, installed=True, version=__version__,
        description="Vosk, biased to the registry's words",
        models=[AsrModel(name=transcriber.name, attribution=Attribution("Alpha Cephei", "https://alphacephei.com"),
                         installed=True, description=transcriber.name, version=None,
                         languages=[transcriber.language])])]
    return Info(asr=asr, handle=[handle])


class Connection(AsyncEventHandler):
    """One client: its events in order, answered on its own writer (the wyoming package's handler, read
    with limits)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: WyomingServer):
        super().__init__(reader, writer)
        self.server = server
        self._stream: Stream | None = None
        self._converter = AudioChunkConverter(rate=16000, width=2, channels=1)

    async def run(self) -> None:
        """Serve until the client leaves or sends something that is not an event."""
        try:
            while True:
                try:
                    event = await read_event(self.reader)
                except BadData as exc:  # read to its end: the next event can still be served
                    log.warning("wyoming client sent bad event data: %s", exc)
                    await self.send(Error(text=str(exc), code="bad-event").event())
                    continue
                if event is None:
                    break
                try:
                    await self.handle_event(event)
                except Exception as exc:  # one bad event never ends the service
                    log.exception("wyoming event %s failed", event.type)
                    await self.send(Error(text=f"{event.type} failed: {exc}", code="internal").event())
        except BadEvent as exc:
            log.warning("wyoming client sent a bad event: %s", exc)
            await self.send(Error(text=str(exc), code="bad-event").event())
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # a reader that breaks still answers, rather than dropping the client unheard
            log.exception("reading a wyoming event failed")
            await self.send(Error(text=f"reading the event failed: {exc}", code="internal").event())
        finally:
            self.writer.close()

    async def send(self, event: Event) -> None:
        """Write one event; a client that is gone is no error."""
        try:
            await self.write_event(event)
        except (ConnectionError, RuntimeError):
            log.info("wyoming client left before its answer")

    async def handle_event(self, event: Event) -> bool:
        """Answer one event; the connection goes on."""
        await self._answer(event)
        return True

    async def _answer(self, event: Event) -> None:
        if Describe.is_type(event.type):
            await self.send(self.server.info.event())
        elif Transcript.is_type(event.type):
            text = event.data.get("text")
            if not isinstance(text, str):  # a client's mistake, not ours: no "internal" error for it
                await self.send(Error(text='transcript needs "text", a string', code="bad-event").event())
            else:
                await self.send(await self.server.understand(text, event.data.get("context")))
        elif Transcribe.is_type(event.type):
            if self.server.transcriber is None:
                await self.send(Error(text="speech to text is off here", code="no-asr").event())
        elif AudioStart.is_type(event.type):
            transcriber = self.server.transcriber
            if transcriber is None:
                await self.send(Error(text="speech to text is off here", code="no-asr").event())
            else:
                self._stream = await asyncio.to_thread(transcriber.stream)
        elif AudioChunk.is_type(event.type):
            await self._chunk(AudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            await self._stop()
        else:
            await self.send(Error(text=f"unknown event type {event.type[:40]!r}", code="unknown-event").event())

    async def _chunk(self, chunk: AudioChunk) -> None:
        if self._stream is None:
            await self.send(Error(text="audio-chunk without audio-start", code="no-audio-start").event())
            return
        await asyncio.to_thread(self._stream.feed, self._converter.convert(chunk).audio)

    async def _stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            await self.send(Error(text="audio-stop without audio-start", code="no-audio-start").event())
            return
        text = await asyncio.to_thread(stream.text)
        transcriber = self.server.transcriber
        await self.send(Transcript(text=text, language=transcriber.language if transcriber else None).event())


class WyomingServer:
    """The Wyoming service: requests go to ``submit`` (the inbox) like any other transport's."""

    def __init__(self, settings: WyomingSettings, transcriber: Transcriber | None, submit: Callable[[Request], None]):
        """``transcriber`` None: no ``asr`` (speech to text), only ``handle``."""
        self.settings = settings
        self.transcriber = transcriber
        self.submit = submit
        self.info = info(transcriber)
        self._server: AsyncServer | None = None
        self._thread = LoopThread("wyoming")
        self._announcement: Announcement | None = None

    def start(self) -> None:
        """Serve in a thread of its own; ConfigError when the address cannot be served."""
        self._thread.start(self._setup, f"wyoming.uri {self.settings.uri}")

    def stop(self) -> None:
        """Withdraw the announcement, close every connection and the server; safe to call twice."""
        self._thread.stop(self._teardown)

    async def _setup(self) -> None:
        self._server = AsyncServer.from_uri(self.settings.uri)
        await self._server.start(self._connection)
        port = urlparse(self.settings.uri).port
        if self.settings.zeroconf and port is not None:  # a unix socket is not announced
            self._announcement = Announcement(port, f"edgebrain-{socket.gethostname()}")
            await self._announcement.start()
        log.info("serving Wyoming on %s", self.settings.uri)

    async def _teardown(self) -> None:
        if self._announcement is not None:
            await self._announcement.stop()
        if self._server is not None:
            await self._server.stop()

    def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Any:
        return Connection(reader, writer, self)

    async def understand(self, text: str, context: Any = None) -> Event:
        """``handled`` or ``not-handled`` for one transcript, after the inbox has worked it. Its ``context``
        (Home Assistant's) names the conversation (``conversation_id``) and the satellite it came from
        (``satellite_id``, else ``device_id``): follow-ups and the satellite's room come from them."""
        context = context if isinstance(context, dict) else {}
        session, site = (_context_str(context, k) for k in ("conversation_id", "satellite_id"))
        site = site or _context_str(context, "device_id")
        try:
            result = await ask(self.submit, text, "wyoming", session=session, site=site)
        except InputError as exc:
            return NotHandled(text=str(exc)).event()
        except TimeoutError:
            return NotHandled(text="edgebrain took too long to answer").event()
        if result is None:
            return NotHandled(text="edgebrain could not take this request now; try again").event()
        reply = Handled if result.status in DONE else NotHandled
        return reply(text=result.reply, context=context or None).event()


def _context_str(context: dict[str, Any], key: str) -> str | None:
    """A short string of Home Assistant's context, or None (a client may send anything there)."""
    value = context.get(key)
    return str(value)[:128] if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None


class Announcement:
    """The service on zeroconf (``_wyoming._tcp.local.``, as the wyoming package announces it), withdrawn
    when the server stops."""

    SERVICE = "_wyoming._tcp.local."

    def __init__(self, port: int, name: str):
        self.port = port
        self.name = name
        self._zeroconf: Any = None

    async def start(self) -> None:
        """Register; a machine with no network for multicast serves unannounced."""
        from zeroconf import Error as ZeroconfError
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

        try:
            host = _local_address()
            self._zeroconf = AsyncZeroconf()
            # Two boards with one host name: the second gets a new name instead of failing.
            await self._zeroconf.async_register_service(AsyncServiceInfo(
                self.SERVICE, f"{self.name}.{self.SERVICE}", addresses=[socket.inet_aton(host)], port=self.port),
                allow_name_change=True)
            log.info("announced %s on port %d over zeroconf", self.name, self.port)
        except (OSError, ZeroconfError) as exc:
            log.warning("cannot announce the Wyoming service over zeroconf: %s", exc)

    async def stop(self) -> None:
        """Withdraw the announcement."""
        if self._zeroconf is not None:
            await self._zeroconf.async_unregister_all_services()
            await self._zeroconf.async_close()


def _local_address() -> str:
    """The address other machines reach this one at (the route towards the mDNS group)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("224.0.0.251", 5353))
        return str(probe.getsockname()[0])
