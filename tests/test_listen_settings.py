"""listen.* from a configuration file to the microphone the daemon builds from it (listen/speech.py's
``microphone``): the mode that is actually used (a wake phrase, a push-to-talk button, always), the
button and light pins, and the recognizer's options. The real Vosk model (Korean) hears espeak-ng
speech; the pins are gpiozero's MockFactory (the default pin factory in the tests); what the microphone
hands on goes to an in-memory inbox and publisher of our own."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import yaml

from edgebrain.base.config import ListenSettings, load_settings
from edgebrain.core.messages import Request, Result
from edgebrain.devices.registry import Device, Registry
from edgebrain.listen.audio import read_wav
from edgebrain.listen.button import PushToTalk
from edgebrain.listen.recognizer import load_model
from edgebrain.listen.speech import Microphone, SpeechInput, microphone
from edgebrain.listen.voskmodel import resolve_vosk
from edgebrain.listen.wake import WakeWord
from tests.broker import until
from tests.fakes import Recorder, Room

# The Korean model hears espeak-ng's Korean as said only when biased to these words (listen.phrases).
HOME = Registry([Device("hall_light", "light", "Hall light", "hallway", ("안녕하세요",),
                        mqtt={"topic": "home/hall/light/set"})])
REQUEST, WAKE = "안녕하세요 꺼", "감사합니다"

Pcm = npt.NDArray[np.int16]


@pytest.fixture(scope="module")
def model() -> Any:
    return load_model(resolve_vosk("ko"))


@pytest.fixture(scope="module")
def said(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pcm]:
    """The request and the wake phrase, spoken by espeak-ng, as 16 kHz PCM."""
    folder = tmp_path_factory.mktemp("said")
    spoken = {}
    for text, speed in ((REQUEST, 180), (WAKE, 130)):
        wav = folder / f"{len(spoken)}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-s", str(speed), "-w", str(wav), text], check=True)
        spoken[text] = read_wav(wav)
    return spoken


def listen_settings(tmp_path: Path, **listen: Any) -> ListenSettings:
    """The listen settings as load_settings reads them from a configuration file with ``listen``."""
    path = tmp_path / "edgebrain.yaml"
    path.write_text(yaml.safe_dump({"listen": {"enabled": True, "model": "ko", "phrases": True,
                                               "wake_phrases": [WAKE], **listen}}, allow_unicode=True),
                    encoding="utf-8")
    return load_settings(path, environ={}).listen


def hear(built: Microphone, room: Room) -> list[dict[str, Any]]:
    """Run the microphone the settings built over ``room`` until the room is done; the transcripts it
    handed on (each also submitted as a request)."""
    submitted: list[str] = []
    published = Recorder()

    def submit(request: Request) -> None:
        submitted.append(request.text)
        assert request.answer is not None
        request.answer(Result(request.id, request.text))
        request.done()

    speech = SpeechInput(replace(built, open_source=lambda: room), submit, published.publish, "eb")
    speech.start()
    until(lambda: not speech.open, 120, lambda: "the room to finish speaking")
    transcripts = [json.loads(p) for p in published.on("eb/transcript")]
    assert [t["text"] for t in transcripts] == submitted
    return transcripts


def test_mode_always_takes_every_utterance_with_the_configured_end_rules(tmp_path, model, said):
    settings = listen_settings(tmp_path, mode="always", stable_ms=0, silence_ms=400)
    built = microphone(settings, HOME, model)
    assert built.gate is None and built.indicator is None
    assert (built.listener.silence_s, built.listener.stable_s) == (0.4, None)
    heard = hear(built, Room(said[REQUEST], 1.5, said[REQUEST], 1.5))
    # stable_ms 0 is no early action, and 400 ms of silence ends the utterance before Vosk's endpoint.
    assert [(t["text"], t["ended_by"]) for t in heard] == [(REQUEST, "silence")] * 2


def test_mode_wake_takes_only_the_request_after_the_wake_phrase(tmp_path, model, said):
    settings = listen_settings(tmp_path, mode="wake", session_s=8)
    built = microphone(settings, HOME, model)
    assert isinstance(built.gate, WakeWord) and built.gate.phrases == (WAKE,) and built.session_s == 8.0
    assert (built.listener.silence_s, built.listener.stable_s) == (0.8, 0.3)  # the defaults
    heard = hear(built, Room(said[REQUEST], 2.0, said[WAKE], 1.5, said[REQUEST], 2.0, said[REQUEST], 2.0))
    # Before the wake phrase nothing; after it one request (acted on early: stable_ms 300); then nothing.
    assert [(t["text"], t["ended_by"]) for t in heard] == [(REQUEST, "stable")]


def test_mode_button_takes_only_the_request_after_a_press_on_its_pin(tmp_path, model, said):
    settings = listen_settings(tmp_path, mode="button", button={"pin": 5, "hold": False}, led={"pin": 6},
                               stable_ms=0)
    built = microphone(settings, HOME, model)
    try:
        assert isinstance(built.gate, PushToTalk) and built.gate.released is None  # hold: false, one request
        from gpiozero import Device

        factory = Device.pin_factory
        assert factory is not None

        def press_before_the_second(index: int) -> None:
            if index == 2:  # pin 5, pulled up, goes low while pressed
                factory.pin(5).drive_low()
                factory.pin(5).drive_high()

        heard = hear(built, Room(said[REQUEST], 2.0, said[REQUEST], 2.0, 1.0, before_each=press_before_the_second))
        assert [(t["text"], t["ended_by"]) for t in heard] == [(REQUEST, "endpoint")]
        states = [bool(s.state) for s in factory.pin(6).states]
        assert True in states and states[-1] is False  # the light on pin 6 was lit while listening, then dark
    finally:
        for part in (built.gate, built.indicator):
            if part is not None:
                part.close()
