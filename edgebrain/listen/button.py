"""Push-to-talk and a listening light on GPIO pins (gpiozero; its MockFactory in tests)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from edgebrain.listen.audio import Block

log = logging.getLogger(__name__)

# What the light shows.
IDLE, LISTENING, THINKING = "idle", "listening", "thinking"


class PushToTalk:
    """A button that opens the microphone: for as long as it is held (``hold``), or for one request."""

    def __init__(self, pin: int, hold: bool, factory: Any = None):
        import gpiozero

        self._button = gpiozero.Button(pin, pin_factory=factory)
        self._pressed = threading.Event()
        # Set when a held button is let go: the utterance ends at once, without waiting for silence.
        self.released: threading.Event | None = threading.Event() if hold else None
        self._button.when_pressed = self._on_press
        self._button.when_released = self._on_release

    def _on_press(self) -> None:
        if self.released is not None:
            self.released.clear()
        self._pressed.set()

    def _on_release(self) -> None:
        if self.released is not None:
            self.released.set()

    def wait(self, blocks: Iterator[Block], stop: threading.Event | None = None) -> bool:
        """Drop audio until the button is pressed (True), or the audio ends or ``stop`` is set (False)."""
        self._pressed.clear()  # a press during the request before does not open the next one
        for _ in blocks:
            if stop is not None and stop.is_set():
                return False
            if self._pressed.is_set():
                self._pressed.clear()
                return True
        return False

    def close(self) -> None:
        """Release the pin."""
        self._button.close()


class Indicator:
    """A light for the listening state: on while listening, blinking (or pulsing) while thinking."""

    def __init__(self, pin: int, pwm: bool, factory: Any = None):
        import gpiozero

        self.pwm = pwm
        self._led: Any = (gpiozero.PWMLED if pwm else gpiozero.LED)(pin, pin_factory=factory)

    def show(self, state: str) -> None:
        """Show ``state``: idle, listening or thinking."""
        if state == LISTENING:
            self._led.on()
        elif state == THINKING:
            if self.pwm:
                self._led.pulse(fade_in_time=0.25, fade_out_time=0.25)
            else:
                self._led.blink(on_time=0.15, off_time=0.15)
        else:
            self._led.off()

    def close(self) -> None:
        """Release the pin."""
        self._led.close()
