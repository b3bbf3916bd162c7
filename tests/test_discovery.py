"""Home Assistant discovery payloads against the fields Home Assistant documents for each entity, and
Home Assistant's command payloads read back into commands."""

from __future__ import annotations

import json

import pytest

from edgebrain import __version__
from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command
from edgebrain.devices.registry import Device
from edgebrain.homeassistant.discovery import command_from_ha, discovery_messages, node_id

# The fields each entity type may carry, and the ones it requires, from Home Assistant's MQTT
# integration docs (home-assistant.io/integrations/<type>.mqtt/: light with schema json, switch, fan,
# humidifier, climate, text, sensor, binary_sensor; and /integrations/mqtt/ for the device and
# origin blocks), for the versions docs/home-assistant.md supports: 2024.4 to 2025.4, the two checked
# with a real Home Assistant by bench/ha/check.py.
COMMON = {"name", "unique_id", "availability_topic", "payload_available", "payload_not_available", "device",
          "origin", "qos", "icon"}
DOCUMENTED = {
    "light": ({"command_topic"}, {"schema", "state_topic", "brightness", "brightness_scale",
                                   "supported_color_modes"}),
    "switch": ({"command_topic"}, {"state_topic", "payload_on", "payload_off", "state_on", "state_off",
                                    "value_template"}),
    "fan": ({"command_topic"}, {"state_topic", "payload_on", "payload_off", "state_value_template",
                                 "percentage_command_topic", "percentage_state_topic", "percentage_value_template"}),
    "humidifier": ({"command_topic", "target_humidity_command_topic"},
                   {"state_topic", "payload_on", "payload_off", "state_value_template", "device_class",
                    "target_humidity_state_topic", "target_humidity_state_template", "min_humidity",
                    "max_humidity"}),
    "climate": (set(), {"mode_command_topic", "mode_state_topic", "mode_state_template", "modes",
                        "power_command_topic", "payload_on", "payload_off"}),
    "text": ({"command_topic"}, {"mode", "min", "max"}),
    "sensor": ({"state_topic"}, {"value_template", "json_attributes_topic"}),
    "binary_sensor": ({"state_topic"}, {"payload_on", "payload_off", "value_template", "device_class"}),
}
# The values those docs allow where a field takes one of a set (or a range).
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "model_id", "sw_version",
               "hw_version", "serial_number", "suggested_area", "via_device", "configuration_url"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
CLIMATE_MODES = {"auto", "off", "cool", "heat", "dry", "fan_only", "heat_cool"}
COLOR_MODES = {"onoff", "brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white"}
DEVICES = [
    Device("lamp", "light", "Lamp", "bedroom", gpio={"pin": 17, "kind": "pwm"}),
    Device("plug", "switch", "Plug", gpio={"pin": 22}),
    Device("fan", "fan", "Fan", gpio={"pin": 18, "kind": "pwm"}),
    Device("mist", "humidifier", "Humidifier", gpio={"pin": 23, "kind": "pwm"}),
    Device("diffuser", "humidifier", "Diffuser", gpio={"pin": 25}),  # a relay: no target humidity
    Device("ac", "ac", "AC", gpio={"pin": 24}),
    Device("tv", "switch", "TV", mqtt={"topic": "tv/set"}),  # not driven over GPIO: not announced
]


def messages(listening=False):
    return {topic: json.loads(payload) for topic, payload in discovery_messages(DEVICES, "eb", "homeassistant",
                                                                                 node_id("edgebrain-pi.lan"),
                                                                                 listening)}


def test_every_gpio_device_and_the_command_entities_are_announced():
    assert sorted(messages()) == [
        "homeassistant/climate/edgebrain-pi_lan/ac/config",
        "homeassistant/fan/edgebrain-pi_lan/fan/config",
        "homeassistant/humidifier/edgebrain-pi_lan/mist/config",
        "homeassistant/light/edgebrain-pi_lan/lamp/config",
        "homeassistant/sensor/edgebrain-pi_lan/last_result/config",
        "homeassistant/switch/edgebrain-pi_lan/diffuser/config",
        "homeassistant/switch/edgebrain-pi_lan/plug/config",
        "homeassistant/text/edgebrain-pi_lan/command/config",
    ]


def test_a_microphone_adds_the_listening_sensor():
    added = messages(listening=True).keys() - messages().keys()
    assert added == {"homeassistant/binary_sensor/edgebrain-pi_lan/listening/config"}
    sensor = messages(listening=True)["homeassistant/binary_sensor/edgebrain-pi_lan/listening/config"]
    assert (sensor["state_topic"], sensor["payload_on"], sensor["payload_off"]) == ("eb/listening", "ON", "OFF")
    assert sensor["unique_id"] == "edgebrain-pi_lan_listening"


def test_payloads_use_only_documented_fields_with_documented_values():
    for topic, payload in messages(listening=True).items():
        component = topic.split("/")[1]
        required, optional = DOCUMENTED[component]
        assert required <= payload.keys(), topic
        assert payload.keys() <= COMMON | required | optional, (topic, payload.keys() - COMMON - required - optional)
        assert payload["device"].keys() <= DEVICE_KEYS and payload["origin"].keys() <= ORIGIN_KEYS, topic
        assert payload["qos"] in (0, 1, 2) and payload["availability_topic"] == "eb/status"
        for key, value in payload.items():
            if key.endswith("command_topic"):
                assert value.startswith("eb/"), (topic, key)


def test_each_entity_type_has_the_values_home_assistant_reads():
    found = messages()
    humidifier = found["homeassistant/humidifier/edgebrain-pi_lan/mist/config"]
    # The humidifier's slider is the schema's range for set, and its commands arrive on humidity/set.
    assert {k: humidifier[k] for k in ("device_class", "min_humidity", "max_humidity",
                                       "target_humidity_command_topic")} == {
        "device_class": "humidifier", "min_humidity": 30, "max_humidity": 80,
        "target_humidity_command_topic": "eb/mist/humidity/set"}
    diffuser = found["homeassistant/switch/edgebrain-pi_lan/diffuser/config"]  # a relay humidifier
    assert (diffuser["command_topic"], diffuser["payload_on"]) == ("eb/diffuser/set", "ON")
    climate = found["homeassistant/climate/edgebrain-pi_lan/ac/config"]
    assert climate["modes"] == ["off", "cool"] and set(climate["modes"]) <= CLIMATE_MODES
    assert (climate["mode_command_topic"], climate["power_command_topic"]) == ("eb/ac/mode/set", "eb/ac/set")
    lamp = found["homeassistant/light/edgebrain-pi_lan/lamp/config"]
    assert lamp["supported_color_modes"] == ["brightness"] and set(lamp["supported_color_modes"]) <= COLOR_MODES
    assert lamp["device"] == {"identifiers": ["edgebrain-pi_lan_lamp"], "name": "Lamp", "manufacturer": "edgebrain",
                              "model": "GPIO pwm", "sw_version": __version__, "suggested_area": "Bedroom",
                              "via_device": "edgebrain-pi_lan"}
    assert lamp["name"] is None  # the entity is the device: Home Assistant shows "Lamp"
    plug = found["homeassistant/switch/edgebrain-pi_lan/plug/config"]
    assert (plug["payload_on"], plug["payload_off"], plug["state_on"], plug["state_off"]) == ("ON", "OFF", "ON", "OFF")
    assert "suggested_area" not in plug["device"]  # a device without a room suggests none
    text = found["homeassistant/text/edgebrain-pi_lan/command/config"]
    assert (text["mode"], text["min"], text["max"]) == ("text", 1, 255)
    hub = text["device"]
    assert hub == {"identifiers": ["edgebrain-pi_lan"], "name": "edgebrain", "manufacturer": "edgebrain",
                   "model": "offline voice and text control", "sw_version": __version__}


def test_entities_point_at_the_topics_edgebrain_serves():
    found = messages()
    lamp = found["homeassistant/light/edgebrain-pi_lan/lamp/config"]
    assert (lamp["schema"], lamp["command_topic"], lamp["state_topic"]) == ("json", "eb/lamp/set", "eb/lamp/state")
    assert lamp["brightness_scale"] == 100 and lamp["supported_color_modes"] == ["brightness"]
    assert lamp["device"]["suggested_area"] == "Bedroom"
    fan = found["homeassistant/fan/edgebrain-pi_lan/fan/config"]
    assert fan["percentage_command_topic"] == "eb/fan/percentage/set"
    text = found["homeassistant/text/edgebrain-pi_lan/command/config"]
    assert (text["command_topic"], text["name"]) == ("eb/text", "Command")
    sensor = found["homeassistant/sensor/edgebrain-pi_lan/last_result/config"]
    assert sensor["state_topic"] == sensor["json_attributes_topic"] == "eb/result"
    assert len({p["unique_id"] for p in found.values()}) == len(found)


@pytest.mark.parametrize(("device", "sub", "payload", "command"), [
    ("lamp", "set", b'{"state":"ON"}', Command("lamp", "on")),
    ("lamp", "set", b'{"state":"ON","brightness":40}', Command("lamp", "set", 40)),
    ("lamp", "set", b'{"state":"OFF"}', Command("lamp", "off")),
    ("plug", "set", b"ON", Command("plug", "on")),
    ("plug", "set", b"OFF", Command("plug", "off")),
    ("fan", "percentage/set", b"70", Command("fan", "set", 70)),
    ("fan", "percentage/set", b"0", Command("fan", "off")),
    ("mist", "humidity/set", b"55", Command("mist", "set", 55)),
    ("mist", "humidity/set", b"55.4", Command("mist", "set", 55)),
    ("ac", "mode/set", b"cool", Command("ac", "on")),
    ("ac", "mode/set", b"off", Command("ac", "off")),
])
def test_home_assistant_commands(device, sub, payload, command):
    found = next(d for d in DEVICES if d.id == device)
    assert command_from_ha(found, sub, payload) == command


@pytest.mark.parametrize(("sub", "payload", "needle"), [
    ("set", b"EXPLODE", "unknown command payload"), ("set", b"{oops", "malformed JSON"),
    ("percentage/set", b"lots", "needs a number"), ("other/set", b"ON", "no command topic"),
])
def test_bad_home_assistant_commands(sub, payload, needle):
    with pytest.raises(CommandError, match=needle):
        command_from_ha(DEVICES[0], sub, payload)


def test_the_hub_comes_first_and_every_device_is_linked_to_it():
    messages_in_order = discovery_messages(DEVICES, "eb", "homeassistant", "node")
    topics = [topic for topic, _ in messages_in_order]
    assert topics[:2] == ["homeassistant/text/node/command/config", "homeassistant/sensor/node/last_result/config"]
    hub = json.loads(messages_in_order[0][1])["device"]["identifiers"]
    for _, payload in messages_in_order[2:]:
        assert json.loads(payload)["device"]["via_device"] in hub
    names = {json.loads(p)["name"] for _, p in messages_in_order[:2]}
    assert names == {"Command", "Last result"}  # Home Assistant shows "edgebrain Command"


@pytest.mark.parametrize(("device", "field", "template_key"), [
    ("lamp", "brightness", None),  # the JSON light schema reads brightness (scale 100) by itself
    ("fan", "percentage", "percentage_value_template"),
])
def test_state_messages_carry_the_field_each_entity_reads(device, field, template_key):
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from edgebrain.devices.gpio import GpioBank
    from edgebrain.devices.registry import Registry

    bank = GpioBank(Registry([d for d in DEVICES if d.id == device]), MockFactory(pin_class=MockPWMPin))
    try:
        state = bank.apply(Command(device, "set", 40)).to_dict()
    finally:
        bank.close()
    assert state == {"state": "ON", "level": 40, field: 40}
    entity = next(p for t, p in messages().items() if t.endswith(f"/{device}/config"))
    if template_key:
        assert entity[template_key] == "{{ value_json." + field + " }}"
    else:
        assert entity["brightness"] is True and entity["brightness_scale"] == 100


def test_a_humidifier_keeps_its_target_humidity_in_its_range_while_off():
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from edgebrain.devices.gpio import GpioBank
    from edgebrain.devices.registry import Registry

    bank = GpioBank(Registry([d for d in DEVICES if d.id == "mist"]), MockFactory(pin_class=MockPWMPin))
    try:
        # Home Assistant refuses a target outside min/max_humidity ("'0' is not a valid target humidity").
        assert bank.apply(Command("mist", "on")).to_dict() == {"state": "ON", "level": 100, "humidity": 80}
        assert bank.apply(Command("mist", "set", 55)).to_dict() == {"state": "ON", "level": 55, "humidity": 55}
        assert bank.apply(Command("mist", "off")).to_dict() == {"state": "OFF", "level": 0, "humidity": 55}
    finally:
        bank.close()
