"""edgebrain as a Wyoming service: the real server on a free port, talked to with the wyoming package's
own AsyncTcpClient; the real broker; the real Vosk model (Korean) for speech to text."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from dataclasses import replace

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info

from edgebrain.listen.audio import read_wav
from edgebrain.listen.recognizer import load_model
from edgebrain.listen.transcriber import Transcriber
from edgebrain.listen.voskmodel import resolve_vosk
from edgebrain.service import Service
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
    assert NotHandled.from_event(event).text == "没能做到：the value 1000 is out of range: bedroom_ac takes 16-30。"
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
    assert len(watcher.wait_for("home/#", 2)) >= 2


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


@pytest.mark.parametrize(("raw", "code"), [
    (b'{"type": "no-such-thing"}\n', "unknown-event"),
    (b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 4}\n'
     b"\x00\x00\x00\x00", "no-audio-start"),
    (b"this is not json\n", "bad-event"),
    (b'{"type": "audio-chunk", "payload_length": 99999999}\n', "bad-event"),
    (b'{"type": "transcript", "data_length": 5}\n[1,2]', "bad-event"),
])
def test_bad_events_get_an_error_and_the_service_goes_on(served, watcher, raw, code):
    with socket.create_connection(("127.0.0.1", served), timeout=30) as sock:
        sock.sendall(raw)
        stream = sock.makefile("rb")
        header = json.loads(stream.readline())
        data = {**header.get("data", {}), **json.loads(stream.read(header.get("data_length", 0)) or b"{}")}
    assert (header["type"], data["code"]) == ("error", code)
    (event,) = asyncio.run(ask(served, Transcript("turn on the kitchen light").event()))
    assert Handled.is_type(event.type)


def test_an_error_event_names_its_code(served):
    (event,) = asyncio.run(ask(served, Event(type="audio-stop")))
    assert Error.from_event(event).code == "no-audio-start"


@pytest.mark.model
def test_the_wyoming_command_serves_until_stopped(cli_env, tmp_path):
    import signal
    import sys

    port = free_port()
    env = dict(cli_env, EDGEBRAIN_STATE_DIR=str(tmp_path), EDGEBRAIN_WYOMING__ASR="false")
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
        assert Info.from_event(event).asr == []  # wyoming.asr off: handle only
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    assert daemon.returncode == 0
    assert b"would send" in out  # the embedded defaults are a dry run


def test_the_service_is_announced_over_zeroconf_and_withdrawn_when_it_stops():
    from zeroconf import Zeroconf

    from edgebrain.config import WyomingSettings
    from edgebrain.wyoming_server import Announcement, WyomingServer

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
    from edgebrain.config import WyomingSettings
    from edgebrain.errors import ConfigError
    from edgebrain.wyoming_server import WyomingServer

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
        assert time.monotonic() - started < 2
