"""Speech you can live with, with the real Vosk model (Korean, espeak-ng speech), a simulated microphone
of our own, gpiozero's MockFactory and a real broker: early action on a whole request, none on a part
of one, never a command twice, the wake phrase, push-to-talk, the listening light and state."""

from __future__ import annotations

import json
import subprocess
import time
from functools import partial

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edgebrain.app.service import Service
from edgebrain.devices.registry import Device, Registry
from edgebrain.listen.audio import read_wav
from edgebrain.listen.button import Indicator, PushToTalk
from edgebrain.listen.recognizer import Heard, Listener, load_model
from edgebrain.listen.speech import Microphone
from edgebrain.listen.voskmodel import resolve_vosk
from edgebrain.listen.wake import WakeWord
from edgebrain.understand.engine import Understander
from edgebrain.understand.words.complete import reads_complete
from tests.broker import service_settings, until
from tests.fakes import Room, ScriptedBackend

TOPIC = "home/hall/light/set"
OFF = {"device": "hall_light", "action": "off"}
# The Korean model hears espeak-ng's Korean poorly; these phrases it hears as said (see the tests).
WORDS = ["안녕하세요", "켜", "꺼", "주세요"]
HOME = Registry([Device("hall_light", "light", "Hall light", "hallway", ("안녕하세요",), mqtt={"topic": TOPIC})])


@pytest.fixture(scope="module")
def model():
    return load_model(resolve_vosk("ko"))


@pytest.fixture(scope="module")
def said(tmp_path_factory):
    """Speech by espeak-ng, as 16 kHz PCM, by text and speed."""
    folder = tmp_path_factory.mktemp("said")

    def speak(text: str, speed: int = 180) -> np.ndarray:
        wav = folder / f"{abs(hash((text, speed)))}.wav"
        if not wav.exists():
            subprocess.run(["espeak-ng", "-v", "ko", "-s", str(speed), "-w", str(wav), text], check=True)
        return read_wav(wav)
    return speak


def listener(model, stable_ms=300):
    return Listener(model, WORDS, 800, stable_ms, partial(reads_complete, HOME))


def hear(tmp_path, broker, watcher, microphone, replies=None):
    """Run the service until the room has said everything and every request is answered; when it
    returns, the watcher has all the service published."""
    settings = service_settings(tmp_path, broker.port, client_id=f"eb-speech-{time.monotonic_ns()}")
    service = Service(settings, HOME, Understander(HOME, ScriptedBackend(replies or {})), microphone=microphone)
    service.start()
    try:
        assert service.mqtt is not None and service.mqtt.wait_connected(10)
        service.speech.start()
        until(lambda: not service.speech.open, 120, lambda: "the room to finish speaking")
        service.drain()
    finally:
        service.close()
    # The service says "offline" last, on its one connection to the broker: once that is in, so is
    # everything it published before.
    until(lambda: [s.payload for s in watcher.on("eb/status")][-1:] == [b"offline"], 30,
          lambda: f"offline on eb/status, got {[s.payload for s in watcher.on('eb/status')]}")


def payloads(watcher, topic):
    return [json.loads(s.payload) if s.payload.startswith(b"{") else s.payload.decode() for s in watcher.on(topic)]


def test_a_whole_request_is_acted_on_before_the_silence_and_only_once(tmp_path, broker, watcher, model, said):
    room = Room(said("안녕하세요 꺼"), 2.0)
    hear(tmp_path, broker, watcher, Microphone(listener(model), lambda: room, False))
    transcripts = payloads(watcher, "eb/transcript")
    assert [(t["text"], t["ended_by"]) for t in transcripts] == [("안녕하세요 꺼", "stable")]
    assert payloads(watcher, TOPIC) == [OFF]
    results = payloads(watcher, "eb/result")
    assert [(r["id"], r["status"]) for r in results] == [(transcripts[0]["id"], "routed")]


def test_part_of_a_request_waits_for_the_end_of_the_utterance(tmp_path, broker, watcher, model, said):
    room = Room(said("안녕하세요", 130), 2.0)
    hear(tmp_path, broker, watcher, Microphone(listener(model), lambda: room, False))
    transcripts = payloads(watcher, "eb/transcript")
    assert [t["text"] for t in transcripts] == ["안녕하세요"] and transcripts[0]["ended_by"] in ("endpoint", "silence")
    # A device named alone is the model's choice, made once, on the whole utterance.
    assert [r["id"] for r in payloads(watcher, "eb/result")] == [transcripts[0]["id"]]


def test_early_action_off_acts_once_at_the_end(tmp_path, broker, watcher, model, said):
    room = Room(said("안녕하세요 꺼"), 2.0)
    early_off = Listener(model, WORDS, 800)  # no stable_ms: the silence decides
    hear(tmp_path, broker, watcher, Microphone(early_off, lambda: room, False))
    assert [t["ended_by"] for t in payloads(watcher, "eb/transcript")] in (["endpoint"], ["silence"])
    assert payloads(watcher, TOPIC) == [OFF]


def test_the_wake_phrase_opens_the_microphone_for_one_request(tmp_path, broker, watcher, model, said):
    request = said("안녕하세요 꺼")
    room = Room(request, 2.0, said("감사합니다", 130), 1.5, request, 2.0, request, 2.0)
    wake = WakeWord(model, ["감사합니다"], WORDS)
    hear(tmp_path, broker, watcher, Microphone(listener(model), lambda: room, False, wake, 8.0))
    assert payloads(watcher, TOPIC) == [OFF]  # the request before the wake phrase and the one
    assert len(payloads(watcher, "eb/transcript")) == 1    # after its one request move nothing
    assert payloads(watcher, "eb/listening") == ["OFF", "ON", "OFF"]
    assert all(s.retain and s.qos == 1 for s in watcher.on("eb/listening"))


def test_a_wake_phrase_the_model_does_not_know_is_refused(model):
    from edgebrain.base.errors import ConfigError

    with pytest.raises(ConfigError, match="wake_phrases"):
        WakeWord(model, ["hey computer"], WORDS)


def test_push_to_talk_and_the_listening_light(tmp_path, broker, watcher, model, said):
    factory = MockFactory(pin_class=MockPWMPin)
    button, light = PushToTalk(5, hold=False, factory=factory), Indicator(6, pwm=False, factory=factory)
    request = said("안녕하세요 꺼")

    def press_before_the_second(index: int) -> None:
        if index == 2:  # the button (pulled up) goes low while pressed, then back
            factory.pin(5).drive_low()
            time.sleep(0.05)
            factory.pin(5).drive_high()

    room = Room(request, 2.0, request, 2.0, 1.0, before_each=press_before_the_second)
    try:
        hear(tmp_path, broker, watcher, Microphone(listener(model), lambda: room, False, button, 8.0, light))
    finally:
        button.close()
    assert payloads(watcher, TOPIC) == [OFF]
    assert payloads(watcher, "eb/listening") == ["OFF", "ON", "OFF"]
    states = [s.state for s in factory.pin(6).states]
    lit = [bool(v) for i, v in enumerate(states) if i == 0 or bool(v) != bool(states[i - 1])]
    assert lit[:2] == [False, True] and lit[-1] is False  # dark, lit while listening (then blinking), dark
    light.close()


def test_ten_minutes_of_listening_do_not_grow_the_process(model, said):
    request, hits = said("안녕하세요 꺼"), []
    room = Room(*([request, 2.0, said("감사합니다", 130), 1.5] * 80))  # 80 x ~6 s: over 8 minutes of audio
    tail = Room(*([request, 2.0] * 40))  # and 40 requests with no wake phrase (about 2 more minutes)
    wake, heard = WakeWord(model, ["감사합니다"], WORDS), listener(model)

    def rss_mib() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 / 2**20

    blocks = (b for source in (room, tail) for b in source.blocks())
    sizes = []
    while wake.wait(blocks):
        heard.run(blocks, lambda h: hits.append(h.ended_by), one=True, timeout_s=8.0)
        sizes.append(rss_mib())
    assert len(sizes) >= 70 and hits.count("stable") >= 70  # the wake phrase opened it, each request acted early
    assert sizes[-1] - sizes[10] < 16, sizes[::10]  # MiB: nothing kept per utterance


def test_a_held_button_ends_the_request_when_let_go(tmp_path, broker, watcher, model, said):
    factory = MockFactory(pin_class=MockPWMPin)
    button = PushToTalk(5, hold=True, factory=factory)
    pin = factory.pin(5)

    def hold_for_the_second(index: int) -> None:
        if index == 2:
            pin.drive_low()  # pressed: held while the request is spoken
        elif index == 3:
            pin.drive_high()  # let go right after the words, long before any silence rule

    room = Room(said("안녕하세요 꺼"), 2.0, said("안녕하세요 꺼"), 0.2, 2.0, before_each=hold_for_the_second)
    try:
        hear(tmp_path, broker, watcher, Microphone(Listener(model, WORDS, 800), lambda: room, False, button, 8.0))
    finally:
        button.close()
    assert [t["ended_by"] for t in payloads(watcher, "eb/transcript")] == ["end"]
    assert payloads(watcher, TOPIC) == [OFF]
    levels = [bool(s.state) for s in pin.states]
    changes = [v for i, v in enumerate(levels) if i == 0 or v != levels[i - 1]]
    assert changes[-3:] == [True, False, True]  # pulled up, pressed (low), let go


class ScriptedListener:
    """Our Listener interface, hearing what it is told: (text, ended_by, utterance) in order."""

    def __init__(self, heard):
        self.heard = heard

    def run(self, blocks, on_heard, on_partial=None, stop=None, *, one=False, timeout_s=None, release=None):
        for text, ended_by, utterance in self.heard:
            on_heard(Heard(text, 0.0, 0.0, ended_by, utterance))


def speak_to(heard, refuse_first=False):
    """Run a SpeechInput over scripted hearing; the requests it submits (a refused one is answered never)."""
    from edgebrain.core.messages import Result
    from edgebrain.listen.speech import SpeechInput

    submitted = []

    def submit(request):
        submitted.append(request)
        if not (refuse_first and len(submitted) == 1):
            request.answer(Result(request.id, request.text))
        request.done()

    speech = SpeechInput(Microphone(ScriptedListener(heard), lambda: Room(), False), submit, None, "eb")
    speech.start()
    speech.stop()
    return submitted


def test_the_final_words_go_on_from_the_early_ones_and_the_same_words_are_not_sent_again():
    same = speak_to([("turn on the kitchen light", "stable", 0), ("turn on the kitchen light", "endpoint", 0)])
    assert [(r.text, r.continues) for r in same] == [("turn on the kitchen light", None)]
    more = speak_to([("turn on the kitchen light", "stable", 0),
                     ("turn on the kitchen light and the fan", "endpoint", 0)])
    assert [r.text for r in more] == ["turn on the kitchen light", "turn on the kitchen light and the fan"]
    assert more[1].continues == more[0].id


def test_an_early_request_refused_as_busy_leaves_the_work_to_the_final_one():
    submitted = speak_to([("turn on the kitchen light", "stable", 0), ("turn on the kitchen light", "endpoint", 0)],
                         refuse_first=True)
    assert [(r.text, r.continues) for r in submitted] == [("turn on the kitchen light", None)] * 2
