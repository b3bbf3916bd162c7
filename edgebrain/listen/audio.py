"""Audio in: WAV files and the microphone, as 16 kHz mono 16-bit PCM blocks for Vosk.

Every source is an ``AudioSource``: an iterator of ``Block`` s stamped with the wall-clock time their
last sample was captured (or read), so latency can be measured from the end of speech.
"""

from __future__ import annotations

import logging
import queue
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edgebrain.base.errors import ConfigError, InputError

log = logging.getLogger(__name__)

RATE = 16000
BLOCK_S = 0.1


@dataclass(frozen=True)
class Block:
    """PCM int16 mono at 16 kHz, and when its last sample was captured (time.monotonic())."""

    pcm: bytes
    captured: float

    @property
    def seconds(self) -> float:
        """Duration of the block."""
        return len(self.pcm) / 2 / RATE


class AudioSource(Protocol):
    """Anything that yields PCM blocks until it is closed or runs out."""

    def blocks(self) -> Iterator[Block]:
        """Blocks in capture order."""

    def close(self) -> None:
        """Stop capturing; blocks() ends."""


def to_mono_16k(samples: npt.NDArray[Any], rate: int) -> npt.NDArray[np.int16]:
    """Mix (frames, channels) float samples in [-1, 1] down to mono and resample to 16 kHz int16."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = mono.astype(np.float64)
    if rate != RATE and len(mono):
        if rate > RATE:
            # Low-pass below the new Nyquist first (windowed sinc), or high frequencies fold into speech.
            cutoff = RATE / 2 / rate * 0.9
            taps = np.arange(-32, 33)
            kernel = np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
            mono = np.convolve(mono, kernel / kernel.sum(), mode="same")
        count = round(len(mono) * RATE / rate)
        mono = np.interp(np.arange(count) * rate / RATE, np.arange(len(mono)), mono)
    return np.asarray(np.clip(mono * 32767.0, -32768, 32767), dtype=np.int16)


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    """A PCM WAV file of any rate, width and channel count as 16 kHz mono int16."""
    try:
        with wave.open(str(path), "rb") as handle:
            rate, channels, width = handle.getframerate(), handle.getnchannels(), handle.getsampwidth()
            raw = handle.readframes(handle.getnframes())
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except (wave.Error, EOFError) as exc:
        raise InputError(f"{path}: not a PCM WAV file ({exc}); convert it with `sox {path.name} -b 16 out.wav`") \
            from exc
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128) / 128
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768
    elif width == 3:
        padded = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        as_int = (padded[:, 0].astype(np.int32) | (padded[:, 1].astype(np.int32) << 8)
                  | (padded[:, 2].astype(np.int32) << 16))
        data = np.where(as_int >= 1 << 23, as_int - (1 << 24), as_int).astype(np.float64) / (1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float64) / (1 << 31)
    else:  # pragma: no cover - wave refuses other widths
        raise InputError(f"{path}: {width * 8}-bit samples are not supported")
    return to_mono_16k(data.reshape(-1, channels), rate)


class PcmSource:
    """Blocks from PCM already in memory; paced like a microphone when ``realtime``."""

    def __init__(self, pcm: npt.NDArray[np.int16], realtime: bool = False, tail_s: float = 1.0):
        # Trailing silence lets the recognizer's own endpointing close the last utterance.
        self.pcm = np.concatenate([pcm, np.zeros(int(tail_s * RATE), dtype=np.int16)])
        self.realtime = realtime
        self._closed = False

    def blocks(self) -> Iterator[Block]:
        """The PCM in 0.1 s blocks."""
        size = int(BLOCK_S * RATE)
        started = time.monotonic()
        for index, offset in enumerate(range(0, len(self.pcm), size)):
            if self._closed:
                return
            if self.realtime:
                time.sleep(max(0.0, started + (index + 1) * BLOCK_S - time.monotonic()))
            yield Block(self.pcm[offset:offset + size].tobytes(), time.monotonic())

    def close(self) -> None:
        """Stop early."""
        self._closed = True


class WavSource(PcmSource):
    """A WAV file, converted to 16 kHz mono."""

    def __init__(self, path: Path, realtime: bool = False):
        super().__init__(read_wav(path), realtime)


def _sounddevice() -> Any:
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
        raise ConfigError(f"the microphone needs sounddevice and PortAudio ({exc}); "
                          "install them with `apt-get install libportaudio2` and `pip install sounddevice`") from exc
    return sounddevice


def list_devices() -> list[dict[str, Any]]:
    """Audio input devices: index, name, channels, default sample rate."""
    devices = _sounddevice().query_devices()
    return [{"index": i, "name": d["name"], "channels": d["max_input_channels"],
             "rate": int(d["default_samplerate"])} for i, d in enumerate(devices) if d["max_input_channels"] > 0]


def input_device(device: str | int | None = None) -> dict[str, Any]:
    """The input device that ``device`` (an index, or words of its name; None: the default) names."""
    sd = _sounddevice()
    try:
        return dict(sd.query_devices(device, "input"))
    except (ValueError, sd.PortAudioError) as exc:
        raise ConfigError(f"no audio input device {device!r}: {exc} (see `edgebrain listen --list-devices`)") \
            from exc


class MicSource:
    """The microphone through sounddevice (PortAudio), resampled to 16 kHz mono."""

    def __init__(self, device: str | int | None = None):
        sd = _sounddevice()
        info = input_device(device)
        self.rate = int(info["default_samplerate"])
        self._queue: queue.Queue[Block | None] = queue.Queue(maxsize=100)
        self._stream = sd.InputStream(device=device, channels=1, samplerate=self.rate, dtype="float32",
                                      blocksize=int(self.rate * BLOCK_S), callback=self._callback)
        self._stream.start()
        log.info("microphone %s at %d Hz", info["name"], self.rate)

    def _callback(self, data: npt.NDArray[np.float32], frames: int, when: Any, status: Any) -> None:
        if status:
            log.debug("audio status: %s", status)
        block = Block(to_mono_16k(data.copy(), self.rate).tobytes(), time.monotonic())
        try:
            self._queue.put_nowait(block)
        except queue.Full:  # the recognizer fell behind; dropping is better than unbounded memory
            log.warning("audio block dropped: recognition is behind")

    def blocks(self) -> Iterator[Block]:
        """Captured blocks until close()."""
        while (block := self._queue.get()) is not None:
            yield block

    def close(self) -> None:
        """Stop the stream."""
        self._stream.stop()
        self._stream.close()
        self._queue.put(None)
