"""Device payloads (JSON and zigbee2mqtt), GPIO outputs on gpiozero's MockFactory, and the router."""

from __future__ import annotations

import io

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edgebrain.base.errors import CommandError, ConfigError
from edgebrain.devices.command import Command
from edgebrain.devices.gpio import GpioBank
from edgebrain.devices.payloads import mqtt_payload
from edgebrain.devices.registry import Device, Registry
from edgebrain.devices.router import Router
from tests.fakes import Recorder


@pytest.mark.parametrize(("device", "command", "payload"), [
    ("kitchen_light", Command("kitchen_light", "on"), '{"state":"ON"}'),
    ("kitchen_light", Command("kitchen_light", "toggle"), '{"state":"TOGGLE"}'),
    ("kitchen_light", Command("kitchen_light", "set", 50), '{"brightness":127}'),
    ("kitchen_light", Command("kitchen_light", "set", 100), '{"brightness":254}'),
    ("kitchen_light", Command("kitchen_light", "increase"), '{"brightness_step":51}'),
    ("kitchen_light", Command("kitchen_light", "decrease"), '{"brightness_step":-51}'),
    ("living_room_curtains", Command("living_room_curtains", "open"), '{"state":"OPEN"}'),
    ("living_room_curtains", Command("living_room_curtains", "close"), '{"state":"CLOSE"}'),
    ("living_room_curtains", Command("living_room_curtains", "set", 30), '{"position":30}'),
    ("living_room_ac", Command("living_room_ac", "set", 24),
     '{"device":"living_room_ac","action":"set","value":24}'),
    ("living_room_humidifier", Command("living_room_humidifier", "on", None, "20:00"),
     '{"device":"living_room_humidifier","action":"on"}'),
])
def test_device_payloads(registry, device, command, payload):
    assert mqtt_payload(registry.get(device), command) == payload


def test_zigbee2mqtt_is_refused_where_it_has_no_payloads():
    ac = Device("ac", "ac", "AC", mqtt={"topic": "x/set", "format": "zigbee2mqtt"})
    with pytest.raises(ConfigError, match="zigbee2mqtt format covers"):
        Router(Registry([ac]), prefix="eb", dry_run=True)


def gpio_registry() -> Registry:
    return Registry([
        Device("lamp", "light", "Lamp", gpio={"pin": 17, "kind": "pwm"}),
        Device("plug", "switch", "Plug", gpio={"pin": 22, "kind": "relay", "active_high": False}),
        Device("led", "light", "LED", gpio={"pin": 27, "kind": "led"}),
    ])


def test_gpio_pin_sequences():
    factory = MockFactory(pin_class=MockPWMPin)
    bank = GpioBank(gpio_registry(), factory)
    lamp_pin, plug_pin = factory.pin(17), factory.pin(22)
    assert isinstance(lamp_pin, MockPWMPin)
    for command in (Command("lamp", "on"), Command("lamp", "set", 40), Command("lamp", "decrease"),
                    Command("lamp", "off"), Command("lamp", "on"), Command("lamp", "increase")):
        bank.apply(command)
    # on = full, set 40 %, a step down, off, on again at the last level, a step up.
    assert [round(s.state, 2) for s in lamp_pin.states] == [0, 1.0, 0.4, 0.2, 0, 0.2, 0.4]
    bank.apply(Command("plug", "on"))
    bank.apply(Command("plug", "toggle"))
    # Active low: set up off (pin high), on drives the pin low, toggled off drives it high again.
    assert [bool(s.state) for s in plug_pin.states[1:]] == [True, False, True]
    assert bank.apply(Command("plug", "toggle")).on
    with pytest.raises(CommandError, match="can only switch on and off"):
        bank.apply(Command("led", "set", 50))
    bank.close()


def test_gpio_setup_errors_are_clear():
    with pytest.raises(ConfigError, match="needs a device type whose set is a percentage"):
        GpioBank(Registry([Device("ac", "ac", "AC", gpio={"pin": 5, "kind": "pwm"})]),
                 MockFactory(pin_class=MockPWMPin))
    with pytest.raises(ConfigError, match="cannot be switched"):
        GpioBank(Registry([Device("c", "cover", "Curtain", gpio={"pin": 6})]), MockFactory(pin_class=MockPWMPin))


def test_router_sends_to_mqtt_and_gpio_and_publishes_state(registry):
    recorder = Recorder()
    bank = GpioBank(registry, MockFactory(pin_class=MockPWMPin))
    router = Router(registry, publisher=recorder, gpio=bank, prefix="eb")
    router.route(Command("kitchen_light", "set", 50))
    router.route(Command("bedroom_ac", "on"))
    router.route(Command("bedroom_light", "set", 30))
    assert recorder.sent == [
        ("home/kitchen/light/set", '{"brightness":127}', 1, False),
        ("home/bedroom/ac/set", '{"device":"bedroom_ac","action":"on"}', 1, False),
        ("eb/bedroom_light/state", '{"state":"ON","level":30,"brightness":30}', 1, True),
    ]
    bank.close()


def test_dry_run_prints_instead(registry):
    console = io.StringIO()
    router = Router(registry, prefix="eb", dry_run=True, console=console)
    delivery = router.route(Command("kitchen_light", "on"))
    assert delivery.via == "console"
    assert console.getvalue() == '  would send {"state":"ON"} to home/kitchen/light/set (kitchen_light)\n'


def test_routes_must_be_servable(registry):
    with pytest.raises(ConfigError, match=r"mqtt\.enabled is false"):
        Router(registry, publisher=None, gpio=None, prefix="eb")
