"""The promise that nothing unchecked moves a device, kept at each layer that could break it alone.

A command is checked by the schema and the registry where it is made (the engine, Home Assistant's
commands, the console), and the GPIO bank refuses on its own what the device type cannot take, so a
single missed check never reaches a pin. Each test here fails when one of those checks is removed
(tests/mutations/safety.toml lists the one-line breakages).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpiozero import Device as GpioDevice
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edgebrain.app.service import Service
from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command, check
from edgebrain.devices.gpio import GpioBank
from edgebrain.devices.registry import Device, Registry
from edgebrain.understand.engine import Understander
from edgebrain.understand.model.decoder import Decoded
from edgebrain.understand.model.grammar import Line
from tests.broker import Seen, service_settings
from tests.fakes import ScriptedBackend

HOME = Registry([
    Device("humidifier", "humidifier", "Humidifier", room="bedroom", gpio={"pin": 5, "kind": "pwm"}),
    Device("fan", "fan", "Fan", room="bedroom", gpio={"pin": 6, "kind": "pwm"}),
    Device("plug", "switch", "Plug", room="kitchen", gpio={"pin": 13, "kind": "relay"}),
    Device("ac", "ac", "Air conditioner", room="bedroom", mqtt={"topic": "home/ac/set"}),
])


# -- the schema and registry check itself -------------------------------------------------------------

@pytest.mark.parametrize(("command", "accepted"), [
    (Command("ac", "set", 16), True), (Command("ac", "set", 30), True),
    (Command("ac", "set", 15), False), (Command("ac", "set", 31), False),
    (Command("humidifier", "set", 30), True), (Command("humidifier", "set", 80), True),
    (Command("humidifier", "set", 29), False), (Command("humidifier", "set", 81), False),
    (Command("fan", "set", 0), True), (Command("fan", "set", 100), True), (Command("fan", "set", 101), False),
    (Command("plug", "set", 50), False), (Command("plug", "open"), False), (Command("ac", "set"), False),
    (Command("ac", "on", None, "24:00"), False), (Command("ac", "on", None, "23:59"), True),
    (Command("oven", "on"), False),
])
def test_the_check_takes_each_range_to_its_ends_and_no_further(command, accepted):
    for attempt in (command, command.to_dict()):  # the fast path for Commands and the full one for JSON
        if accepted:
            assert check(attempt, HOME) == command
        else:
            with pytest.raises(CommandError):
                check(attempt, HOME)


# -- the engine ---------------------------------------------------------------------------------------

class DecoderOf:
    """Our decoder interface answering fixed lines (with their times), as a grammar gone wrong would."""

    def __init__(self, *lines: tuple[Line, str | None]):
        self.lines = lines

    def decode(self, *_args: object, **_kwargs: object) -> Decoded:
        return Decoded(self.lines, 0, 0)


@pytest.mark.parametrize(("line", "at", "why"), [
    (Line("ac", "set", 45), None, "45 is greater than the maximum of 30"),
    (Line("fan", "set", 101), None, "101 is greater than the maximum of 100"),
    (Line("ac", "on"), "24:00", "'24:00' does not match"),
])
def test_the_engine_never_returns_a_command_that_fails_the_check(line, at, why):
    understander = Understander(HOME, ScriptedBackend({}))
    understander.decoder = DecoderOf((Line("plug", "on"), None), (line, at))  # type: ignore[assignment]
    result = understander.understand("turn on the plug", "12:00")
    assert result.commands == (Command("plug", "on"),)
    assert len(result.rejected) == 1 and why in result.rejected[0], result.rejected


# -- the GPIO bank, whoever asks ----------------------------------------------------------------------

@pytest.fixture()
def bank():  # type: ignore[no-untyped-def]
    factory = MockFactory(pin_class=MockPWMPin)
    gpio = GpioBank(HOME, factory)
    yield gpio, factory
    gpio.close()


@pytest.mark.parametrize("command", [
    Command("humidifier", "set", 10), Command("humidifier", "set", 81), Command("humidifier", "set"),
    Command("fan", "set", 150), Command("fan", "set", -1), Command("plug", "set", 50), Command("plug", "open"),
    Command("fan", "open"), Command("humidifier", "close"),
])
def test_the_gpio_bank_refuses_what_the_type_cannot_take_and_leaves_the_pin(bank, command):
    gpio, factory = bank
    gpio.apply(Command(command.device, "on"))
    pin = factory.pin({"humidifier": 5, "fan": 6, "plug": 13}[command.device])
    before = list(pin.states)
    with pytest.raises(CommandError, match=command.device):
        gpio.apply(command)
    assert pin.states == before


def test_the_gpio_bank_refuses_a_command_for_another_device(bank):
    gpio, factory = bank
    with pytest.raises(CommandError, match="reached this pin"):
        gpio.outputs["fan"].apply(Command("humidifier", "set", 50))
    assert [s.state for s in factory.pin(6).states] == [0]


def test_the_gpio_bank_sets_the_ends_of_a_range_and_steps_inside_it(bank):
    gpio, factory = bank
    for command in (Command("humidifier", "set", 80), Command("humidifier", "increase"),
                    Command("humidifier", "set", 30), Command("humidifier", "decrease"), Command("humidifier", "off"),
                    Command("humidifier", "increase")):
        gpio.apply(command)
    # 80, a step up stays at 80, 30, a step down stays at 30, off, a step up from off starts at the bottom.
    assert [round(s.state, 2) for s in factory.pin(5).states] == [0, 0.8, 0.3, 0, 0.3]


# -- Home Assistant's commands for GPIO devices --------------------------------------------------------

def _service(tmp_path: Path, broker) -> Service:  # type: ignore[no-untyped-def]
    """A service on the test broker whose GPIO devices are on gpiozero's mock pins (conftest.py)."""
    service = Service(service_settings(tmp_path / "state", broker.port), HOME, Understander(HOME, ScriptedBackend({})))
    service.start()
    assert service.mqtt is not None and service.mqtt.wait_connected(10)
    return service


@pytest.mark.parametrize(("topic", "payload", "message"), [
    ("eb/humidifier/humidity/set", "10", "device 'humidifier' (humidifier): value: 10 is less than the minimum of 30"),
    ("eb/fan/percentage/set", "150", "device 'fan' (fan): value: 150 is greater than the maximum of 100"),
    ("eb/plug/set", "OPEN", "device 'plug' (switch): action: 'open' is not one of ['on', 'off', 'toggle']"),
])
def test_home_assistant_commands_are_checked_like_any_other(tmp_path: Path, broker, watcher, topic, payload,
                                                            message):
    service = _service(tmp_path, broker)
    try:
        device = topic.split("/")[1]
        pin = GpioDevice.pin_factory.pin({"humidifier": 5, "fan": 6, "plug": 13}[device])
        before = list(pin.states)
        watcher.publish(topic, payload)
        # The refusal is the event to wait for; then a good command to the same device proves the link
        # still serves it, and nothing moved in between.
        error = json.loads(watcher.wait_for("eb/error")[0].payload)
        assert error["code"] == "rejected" and error["message"].startswith(message), error
        assert pin.states == before
        states = len(watcher.on(f"eb/{device}/state"))  # the initial OFF, by now: the error came after it
        watcher.publish(f"eb/{device}/set", "ON")
        last = watcher.wait_for(f"eb/{device}/state", states + 1)[-1]
        assert (last.topic, json.loads(last.payload)["state"], last.qos, last.retain) == (
            f"eb/{device}/state", "ON", 1, True)
        assert pin.state > 0
    finally:
        service.close()


def test_a_gpio_state_is_published_exactly(tmp_path: Path, broker, watcher):
    service = _service(tmp_path, broker)
    try:
        watcher.publish("eb/humidifier/humidity/set", "55")
        states = watcher.wait_for("eb/humidifier/state", 2)
        assert states[-1] == Seen("eb/humidifier/state", b'{"state":"ON","level":55,"humidity":55}', 1, True)
    finally:
        service.close()
