"""edgebrain as a Wyoming service: the real server on a free port, talked to with the wyoming package's
own AsyncTcpClient; the real broker; the real Vosk model (Korean) for speech to text."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, BinaryIO

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info

from edgebrain.app.service import Service
from edgebrain.core.messages import Request, Result
from edgebrain.listen.audio import read_wav
from edgebrain.listen.recognizer import load_model
from edgebrain.listen.transcriber import Stream, Transcriber
from edgebrain.listen.voskmodel import resolve_vosk
from edgebrain.understand.engine import Understander
from tests.broker import free_port, service_settings
from tests.fakes import ScriptedBackend


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber(load_model(resolve_vosk("ko")), ["안녕하세요", "감사합니다"], "ko", "ko")


@pytest.fixture()
def served(tmp_path, broker, registry, transcriber):
    port = free_port()
    settings = service_settings(tmp_path, broker.port, client_id=f"eb-wy-{time.monotonic_ns()}")
    settings = replace(settings, wyoming=replace(settings.wyoming, enabled=True, uri=f"tcp://127.0.0.1:{port}",
                                                 zeroconf=False))
    without_gpio = type(registry)([d for d in registry if not d.gpio])
    reader = Understander(without_gpio, ScriptedBackend({"tell me a joke": "- none"}))
    service = Service(settings, without_gpio, reader, transcriber=transcriber)
    service.start()
    assert service.mqtt is not None and service.mqtt.wait_connected(10)
    yield port
    service.close()


async def ask(port: int, *events: Event, answers: int = 1) -> list[Event]:
    client = AsyncTcpClient("127.0.0.1", port)
    await client.connect()
    try:
        for event in events:
            await client.write_event(event)
        got = []
        for _ in range(answers):
            event = await asyncio.wait_for(client.read_event(), 30)
            assert event is not None
            got.append(event)
        return got
    finally:
        await client.disconnect()


def test_describe_says_what_it_offers(served):
    (event,) = asyncio.run(ask(served, Describe().event()))
    info = Info.from_event(event)
    (handle,) = info.handle
    assert handle.name == "edgebrain" and handle.supports_home_control
    assert handle.models[0].languages == ["en", "zh"]
    (asr,) = info.asr
    assert asr.models[0].languages == ["ko"] and asr.models[0].name == "ko"


def test_a_transcript_is_handled_and_routed(served, watcher):
    (event,) = asyncio.run(ask(served, Transcript("turn on the kitchen light").event()))
    assert Handled.is_type(event.type) and Handled.from_event(event).text == "Turned on the kitchen light."
    assert watcher.wait_for("home/kitchen/light/set")[0].payload == b'{"state":"ON"}'
    result = json.loads(watcher.wait_for("eb/result")[0].payload)
    assert (result["status"], result["reply"]) == ("routed", "Turned on the kitchen light.")
    (event,) = asyncio.run(ask(served, Transcript("把卧室空调调到一千度").event()))
    assert NotHandled.is_type(event.type)
    assert NotHandled.from_event(event).text == "没能做到：1000超出了范围（可以设16到30）。"  # wholly Chinese
    (event,) = asyncio.run(ask(served, Transcript("tell me a joke").event()))
    assert NotHandled.from_event(event).text == "Nothing to do: that is not a request for a device here."


def test_two_clients_at_once_and_a_silent_one_blocks_nobody(served, watcher):
    async def both() -> list[list[Event]]:
        idle = socket.create_connection(("127.0.0.1", served))  # connects and says nothing
        try:
            return await asyncio.gather(ask(served, Transcript("turn off the kitchen light").event()),
                                        ask(served, Transcript("turn on the AC").event()))
        finally:
            idle.close()

    first, second = asyncio.run(both())
    assert Handled.is_type(first[0].type) and Handled.is_type(second[0].type)
    watcher.wait_for("home/#", 3)
    watcher.flush()  # anything more the two requests sent has arrived by now
    assert sorted((s.topic, s.payload) for s in watcher.on("home/#")) == [  # "the AC": both of them
        ("home/bedroom/ac/set", b'{"device":"bedroom_ac","action":"on"}'),
        ("home/kitchen/light/set", b'{"state":"OFF"}'),
        ("home/living_room/ac/set", b'{"device":"living_room_ac","action":"on"}')]


def test_speech_to_text_with_audio_in_any_format(served, tmp_path):
    wav = tmp_path / "hello.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "130", "-w", str(wav), "안녕하세요"], check=True)
    pcm = read_wav(wav)  # 16 kHz mono: sent as 48 kHz stereo to exercise the conversion
    stereo = AudioChunk(rate=16000, width=2, channels=1, audio=pcm.tobytes())
    from wyoming.audio import AudioChunkConverter

    loud = AudioChunkConverter(rate=48000, width=2, channels=2).convert(stereo)
    chunks = [AudioChunk(rate=48000, width=2, channels=2, audio=loud.audio[i:i + 19200])
              for i in range(0, len(loud.audio), 19200)]
    events = [Transcribe(language="ko").event(), AudioStart(rate=48000, width=2, channels=2).event(),
              *(c.event() for c in chunks), AudioStop().event()]
    (event,) = asyncio.run(ask(served, *events))
    assert Transcript.is_type(event.type) and Transcript.from_event(event).text == "안녕하세요"


def read_raw(stream: BinaryIO) -> tuple[str, dict[str, Any]] | None:
    """One event from a socket's byte stream, as its type and data; None when the server closed it."""
    line = stream.readline()
    if not line:
        return None
    header = json.loads(line)
    data = {**header.get("data", {}), **json.loads(stream.read(header.get("data_length", 0)) or b"{}")}
    stream.read(header.get("payload_length", 0))
    return header["type"], data


KITCHEN_ON = b'{"type": "transcript", "data": {"text": "turn on the kitchen light"}}\n'


@pytest.mark.parametrize(("raw", "code", "goes_on"), [
    (b'{"type": "no-such-thing"}\n', "unknown-event", True),
    (b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 4}\n'
     b"\x00\x00\x00\x00", "no-audio-start", True),
    (b'{"type": "transcript", "data_length": 5}\n[1,2]', "bad-event", True),
    (b"this is not json\n", "bad-event", False),
    (b'{"type": "audio-chunk", "payload_length": 99999999}\n', "bad-event", False),
    (b'{"type": "transcript", "data_length": -1}\n', "bad-event", False),
])
def test_bad_events_get_an_error_and_the_service_goes_on(served, watcher, raw, code, goes_on):
    with socket.create_connection(("127.0.0.1", served), timeout=30) as sock:
        # Nothing follows an event that ends the connection: unread bytes would make its close a reset.
        sock.sendall(raw + (KITCHEN_ON if goes_on else b""))
        stream = sock.makefile("rb")
        error = read_raw(stream)
        after = read_raw(stream)
    assert error is not None and (error[0], error[1]["code"]) == ("error", code)
    # A bad event the server could read to its end leaves the connection serving; anything else ends it
    # (the docs: "not an event, or over a limit": the connection is closed).
    assert after == (("handled", {"text": "Turned on the kitchen light."}) if goes_on else None)
    (event,) = asyncio.run(ask(served, Transcript("turn off the kitchen light").event()))
    assert Handled.from_event(event).text == "Turned off the kitchen light."


BAD_DATA = [
    b'{"type": "transcript", "data": [1, 2]}\n',  # data that is not a JSON object: a list,
    b'{"type": "transcript", "data": "turn on the kitchen light"}\n',  # a string,
    b'{"type": "transcript", "data": 7}\n',  # a number,
    b'{"type": "describe", "data": []}\n',  # and the empty ones, which are no more an object, even for
    b'{"type": "describe", "data": ""}\n',  # an event that needs no data
    b'{"type": "describe", "data": 0}\n',
    b'{"type": "describe", "data": false}\n',
    b'{"type": "audio-chunk", "data": [16000], "payload_length": 4}\n\x01\x02\x03\x04',  # payload skipped
    b'{"type": "transcript", "data_length": 5}\n[1,2]',  # the same after the header line
    b'{"type": "transcript", "data_length": 11}\n"some text"',
    b'{"type": "transcript", "data_length": 1}\n7',
    b'{"type": "transcript", "data_length": 4}\nnull',
    b'{"type": "transcript", "data_length": 7}\n{"text"',  # not JSON at all
    b'{"type": "transcript", "data_length": 2}\n\xff\xfe',  # not UTF-8
    b'{"type": "transcript", "data": null}\n',  # null is no data: a transcript without its text
    b'{"type": "transcript", "data": {"text": null}}\n',  # a text that is not a string
    b'{"type": "transcript", "data": {"text": ["turn on the kitchen light"]}}\n',
    b'{"type": "transcript", "data": {"text": 7}}\n',
    b'{"type": "transcript", "data": {"text": {"text": "turn on the kitchen light"}}}\n',
]


def test_event_data_that_is_not_an_object_gets_an_error_and_the_same_connection_goes_on(served, watcher):
    with socket.create_connection(("127.0.0.1", served), timeout=30) as sock:
        stream = sock.makefile("rb")
        for raw in BAD_DATA:
            sock.sendall(raw + b'{"type": "describe"}\n')
            error, info = read_raw(stream), read_raw(stream)
            assert error is not None and (error[0], error[1]["code"]) == ("error", "bad-event"), raw
            assert info is not None and info[0] == "info", raw  # the next event, on the same connection
        sock.sendall(KITCHEN_ON)
        assert read_raw(stream) == ("handled", {"text": "Turned on the kitchen light."})
    watcher.wait_for("eb/result")
    watcher.flush()  # every result the bad events could have made is in by now: there is none
    assert [json.loads(s.payload)["text"] for s in watcher.on("eb/result")] == ["turn on the kitchen light"]
    assert [(s.topic, s.payload) for s in watcher.on("home/#")] == [("home/kitchen/light/set", b'{"state":"ON"}')]


def test_an_error_event_names_its_code(served):
    (event,) = asyncio.run(ask(served, Event(type="audio-stop")))
    assert Error.from_event(event).code == "no-audio-start"


class BreakingInbox:
    """Our inbox interface (``submit``), in memory: it breaks on a request that says "break", and answers
    the others as routed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def submit(self, request: Request) -> None:
        self.texts.append(request.text)
        if request.text == "break":
            raise RuntimeError("the inbox broke")
        assert request.answer is not None
        request.answer(Result(request.id, request.text, routed=1, reply=f"Did {request.text}."))
        request.done()


class BreakingTranscriber:
    """Our Transcriber interface, in memory: its streams cannot be opened."""

    name, language = "broken", "en"

    def stream(self) -> Stream:
        raise OSError("the recognizer broke")


@pytest.fixture()
def breaking() -> Iterator[tuple[int, BreakingInbox]]:
    """A Wyoming server of its own over the breaking inbox and transcriber; its port and the inbox."""
    from edgebrain.base.config import WyomingSettings
    from edgebrain.transports.wyoming_server import WyomingServer

    port, inbox = free_port(), BreakingInbox()
    server = WyomingServer(WyomingSettings(True, f"tcp://127.0.0.1:{port}", False, True),
                           BreakingTranscriber(), inbox.submit)  # type: ignore[arg-type]
    server.start()
    try:
        yield port, inbox
    finally:
        server.stop()


def test_an_unexpected_failure_is_an_internal_error_and_the_service_goes_on(breaking):
    port, inbox = breaking
    answers = asyncio.run(ask(port, Transcript("break").event(), Transcript("dim the hall").event(),
                              AudioStart(rate=16000, width=2, channels=1).event(), Describe().event(), answers=4))
    failed, done, no_stream, info = answers
    assert (Error.from_event(failed).code, Error.from_event(failed).text) == ("internal",
                                                                             "transcript failed: the inbox broke")
    assert Handled.from_event(done).text == "Did dim the hall."  # the same connection goes on
    assert (Error.from_event(no_stream).code, Error.from_event(no_stream).text) == (
        "internal", "audio-start failed: the recognizer broke")
    assert Info.from_event(info).asr[0].models[0].name == "broken"
    (event,) = asyncio.run(ask(port, Transcript("open the door").event()))  # and so does the server
    assert Handled.from_event(event).text == "Did open the door."
    assert inbox.texts == ["break", "dim the hall", "open the door"]


@pytest.mark.model
def test_the_wyoming_command_serves_until_stopped(cli_env, tmp_path):
    import signal
    import sys

    port = free_port()
    # The embedded defaults offer asr with the English Vosk model, which an offline board (this one) cannot
    # fetch: the service starts anyway, handle only, and says why once.
    env = dict(cli_env, EDGEBRAIN_STATE_DIR=str(tmp_path), EDGEBRAIN_LISTEN__MODEL="en",
               HOME=str(tmp_path))  # an empty Vosk cache
    daemon = subprocess.Popen([sys.executable, "-m", "edgebrain", "wyoming", "--uri", f"tcp://127.0.0.1:{port}",
                               "--no-zeroconf"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        (event,) = asyncio.run(ask(port, Transcript("turn on the kitchen light").event()))
        assert Handled.from_event(event).text == "Turned on the kitchen light."
        (event,) = asyncio.run(ask(port, Describe().event()))
        assert Info.from_event(event).asr == []  # no Vosk model: handle only
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0
    assert b"would send" in out  # the embedded defaults are a dry run
    warnings = [line for line in err.decode().splitlines() if "speech to text is off" in line]
    assert len(warnings) == 1 and "EDGEBRAIN_LISTEN__MODEL=PATH" in warnings[0], err.decode()
    assert "--vosk-model PATH`" in warnings[0] and "edgebrain listen" in warnings[0]  # options that exist


def test_the_service_is_announced_over_zeroconf_and_withdrawn_when_it_stops():
    from zeroconf import Zeroconf

    from edgebrain.base.config import WyomingSettings
    from edgebrain.transports.wyoming_server import Announcement, WyomingServer

    port = free_port()
    server = WyomingServer(WyomingSettings(True, f"tcp://127.0.0.1:{port}", True, False), None, lambda r: None)
    server.start()
    name = f"edgebrain-{socket.gethostname()}.{Announcement.SERVICE}"
    browser = Zeroconf()
    try:
        info = browser.get_service_info(Announcement.SERVICE, name, timeout=5000)
        assert info is not None and info.port == port
    finally:
        browser.close()
        server.stop()
    fresh = Zeroconf()  # no cache: only a live announcement answers
    try:
        assert fresh.get_service_info(Announcement.SERVICE, name, timeout=2000) is None
    finally:
        fresh.close()


def test_an_address_in_use_is_a_clear_error_and_stopping_after_it_is_safe():
    from edgebrain.base.config import WyomingSettings
    from edgebrain.base.errors import ConfigError
    from edgebrain.transports.wyoming_server import WyomingServer

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = WyomingServer(WyomingSettings(True, f"tcp://127.0.0.1:{port}", False, False), None, lambda r: None)
        with pytest.raises(ConfigError, match=f"wyoming.uri tcp://127.0.0.1:{port}: cannot serve"):
            server.start()
        started = time.monotonic()
        server.stop()
        server.stop()
        assert time.monotonic() - started < 8  # no hang: a stop that waits for a thread gives up after 10 s
