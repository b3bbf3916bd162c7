"""zigbee2mqtt's retained device and group lists read into devices, on payloads taken from zigbee2mqtt's own
tests and real installations (tests/data/import/SOURCES.md), and the exact JSON each command becomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command
from edgebrain.devices.found import Skipped
from edgebrain.devices.zigbee2mqtt import read_zigbee2mqtt, zigbee2mqtt_set

DATA = Path(__file__).parent / "data" / "import"
DEVICES = (DATA / "z2m_bridge_devices.json").read_bytes()
GROUPS = (DATA / "z2m_bridge_groups.json").read_bytes()


@pytest.fixture(scope="module")
def imported():  # type: ignore[no-untyped-def]
    return read_zigbee2mqtt(DEVICES, GROUPS)


def _device(imported, key):  # type: ignore[no-untyped-def]
    (found,) = [f for f in imported.found if f.key == key]
    return found.device


def test_every_commandable_expose_becomes_a_device_of_its_type(imported):
    assert [(f.key, f.device.id, f.device.type, f.device.name) for f in imported.found if not f.device.members] == [
        ("bulb", "bulb", "light", "bulb"),
        ("bulb_color_2", "bulb_color_2", "light", "bulb color 2"),
        ("power_plug", "power_plug", "switch", "power plug"),
        ("fan#light", "fan_light", "light", "fan light"),  # one device, two parts: a light and a fan
        ("fan#fan", "fan", "fan", "fan"),
        ("living_room/ceiling", "ceiling", "light", "ceiling"),  # the path is its room (below)
        ("Kitchen Light", "kitchen_light", "light", "Kitchen Light"),
        ("bedroom/lamp", "lamp", "light", "lamp"),
        ("Window shutter", "window_shutter", "cover", "Window shutter"),
        ("Moes thermo", "moes_thermo", "ac", "Moes thermo"),
        ("Moes switch double#l1", "moes_switch_double_l1", "switch", "Moes switch double l1"),
        ("Moes switch double#l2", "moes_switch_double_l2", "switch", "Moes switch double l2"),
        ("hue1", "hue1", "light", "hue1"),
        ("hue_back_tv", "hue_back_tv", "light", "hue back tv"),
        ("0x0017880103d55d65", "d_0x0017880103d55d65", "light", "0x0017880103d55d65"),
    ]
    assert all(f.device.source == "zigbee2mqtt" and f.device.room is None and f.device.aliases == ()
               for f in imported.found)


def test_what_is_not_a_commandable_device_is_skipped_with_its_reason(imported):
    assert imported.skipped == (
        Skipped("Coordinator", "the coordinator"),
        Skipped("weather_sensor", "nothing to command: no light, switch, cover, climate or fan it can set"),
        Skipped("0x0017880104e45518", "not supported by zigbee2mqtt"),
        Skipped("livingroom/window", "disabled in zigbee2mqtt"),
        Skipped("default_bind_group", "group: a group without imported members"),
    )


def test_a_group_is_a_target_of_its_own_commanded_and_heard_on_its_own_topic(imported):
    groups = {f.key: f for f in imported.found if f.device.members}
    assert sorted(groups) == ["Switches", "all_lights", "hue lights", "living_room"]
    hue = groups["hue lights"]
    assert (hue.device.id, hue.device.type, hue.device.room) == ("hue_lights", "light", None)
    assert hue.device.members == ("hue1", "hue_back_tv", "d_0x0017880103d55d65")
    assert hue.device.mqtt["topic"] == "zigbee2mqtt/hue lights/set" and hue.state_topic == "zigbee2mqtt/hue lights"
    assert "get_topic" not in hue.device.mqtt  # zigbee2mqtt answers /get for devices, not groups
    assert zigbee2mqtt_set(hue.device, Command("hue_lights", "on")) == {"state": "ON"}
    assert zigbee2mqtt_set(hue.device, Command("hue_lights", "set", 50)) == {"brightness": 127}
    # Both endpoints of one switch in a group: two members, one type.
    assert groups["Switches"].device.members == ("moes_switch_double_l1", "moes_switch_double_l2")


def test_a_group_of_mixed_kinds_is_skipped_with_its_reason():
    mixed = json.dumps([{"friendly_name": "den", "id": 3, "members": [
        {"ieee_address": "0x0017880104292f0a", "endpoint": 11},  # a light (hue1)
        {"ieee_address": "0x0017880104e45524", "endpoint": 1}]}]).encode()  # ... and a plug
    result = read_zigbee2mqtt(DEVICES, mixed)
    assert not [f for f in result.found if f.device.members]
    assert Skipped("den", "group: a group of light and switch: one command cannot suit them all") in result.skipped


def test_rooms_are_suggested_by_the_friendly_name_groups_and_description(imported):
    rooms = {f.key: f.rooms for f in imported.found}
    assert rooms["living_room/ceiling"] == (
        ("living room", "friendly name 'living_room/ceiling'"),
        ("all lights", "zigbee2mqtt group 'all_lights'"),
        ("living room", "zigbee2mqtt group 'living_room'"))
    assert rooms["bulb_color_2"] == (("living room", "zigbee2mqtt group 'living_room'"),)
    # Endpoints 1 and 2 of one device in one group: the group is one suggestion.
    assert rooms["Moes switch double#l1"] == (("switches", "zigbee2mqtt group 'Switches'"),)
    assert rooms["bulb"] == (("this is my bulb", "description"),)


def test_why_says_how_type_and_route_were_chosen(imported):
    found = {f.key: f for f in imported.found}
    assert found["Moes thermo"].why == (
        "type ac: a thermostat; set writes current_heating_setpoint (the device takes 5-45 °C)",
        "on is system_mode heat, off is off", "commands on zigbee2mqtt/Moes thermo/set")
    assert found["0x0017880103d55d65"].why[-2] == \
        "named by its IEEE address: give it a name people say in the overlay"
    assert found["living_room/ceiling"].state_topic == "zigbee2mqtt/living_room/ceiling"


@pytest.mark.parametrize(("key", "action", "value", "payload"), [
    ("bulb", "on", None, {"state": "ON"}),
    ("bulb", "toggle", None, {"state": "TOGGLE"}),
    ("bulb", "set", 50, {"brightness": 127}),  # 50 % of zigbee2mqtt's 0-254
    ("bulb", "set", 100, {"brightness": 254}),
    ("bulb", "increase", None, {"brightness_step": 51}),
    ("bulb", "decrease", None, {"brightness_step": -51}),
    ("Window shutter", "open", None, {"state": "OPEN"}),
    ("Window shutter", "close", None, {"state": "CLOSE"}),
    ("Window shutter", "set", 30, {"position": 30}),
    ("Moes thermo", "on", None, {"system_mode": "heat"}),
    ("Moes thermo", "off", None, {"system_mode": "off"}),
    ("Moes thermo", "set", 22, {"current_heating_setpoint": 22}),
    ("fan#fan", "on", None, {"fan_state": "ON"}),
    ("fan#fan", "set", 10, {"fan_mode": "low"}),
    ("fan#fan", "set", 50, {"fan_mode": "medium"}),
    ("fan#fan", "set", 90, {"fan_mode": "high"}),
    ("Moes switch double#l2", "off", None, {"state_l2": "OFF"}),
    ("power_plug", "toggle", None, {"state": "TOGGLE"}),
])
def test_each_command_becomes_zigbee2mqtts_own_json(imported, key, action, value, payload):
    device = _device(imported, key)
    assert zigbee2mqtt_set(device, Command(device.id, action, value)) == payload
    assert device.mqtt["topic"] == f"zigbee2mqtt/{key.split('#')[0]}/set"


@pytest.mark.parametrize(("key", "action"), [("Moes thermo", "increase"), ("Window shutter", "toggle"),
                                             ("fan#fan", "increase")])
def test_an_action_the_device_does_not_announce_is_refused(imported, key, action):
    device = _device(imported, key)
    with pytest.raises(CommandError, match=f"zigbee2mqtt does not announce a way to {action} this"):
        zigbee2mqtt_set(device, Command(device.id, action))


def _entry(name: str, **extra: object) -> dict[str, object]:
    plug = json.loads(DEVICES)[3]  # the plug of zigbee2mqtt's own test
    return {**plug, "friendly_name": name, **extra}


@pytest.mark.parametrize(("payload", "reason"), [
    (b"not json", "zigbee2mqtt/bridge/devices is not JSON text"),
    (b'{"devices": []}', "zigbee2mqtt/bridge/devices is a JSON dict, not a list"),
    (b"\xff\xfe", "zigbee2mqtt/bridge/devices is not JSON text"),
    (b"[" + b" " * (9 * 1024 * 1024) + b"]", "over the 8,388,608 read"),
    (None, "no retained zigbee2mqtt/bridge/devices on the broker"),
])
def test_a_list_that_cannot_be_read_is_one_skip(payload, reason):
    result = read_zigbee2mqtt(payload, None)
    assert result.found == () and len(result.skipped) == 1 and reason in result.skipped[0].reason


def test_hostile_entries_are_skipped_and_the_rest_imported():
    entries = [
        _entry("kitchen/+/plug"), _entry("hall#"), _entry("bad\x00name"), _entry("/lead"), "a string",
        {"friendly_name": 7}, _entry("odd", definition={"exposes": "switch"}),
        _entry("odder", definition={"exposes": [{"type": "switch", "features": 5}]}),
        _entry("good plug"),
    ]
    plug = {"ieee_address": json.loads(DEVICES)[3]["ieee_address"], "endpoint": 1}
    groups = [{"friendly_name": "x", "members": 3}, {"friendly_name": "den/#", "members": [plug]}, "a string",
              {"friendly_name": "plugs", "members": [plug, plug, "odd"]}]
    result = read_zigbee2mqtt(json.dumps(entries).encode(), json.dumps(groups).encode())
    assert [f.device.id for f in result.found] == ["good_plug", "plugs"]
    assert [s.key for s in result.skipped] == ["kitchen/+/plug", "hall#", "bad\x00name", "/lead", "?", "7", "odd",
                                               "odder", "x", "den/#"]
    assert "cannot be part of a topic" in result.skipped[0].reason
    assert "cannot be part of a topic" in result.skipped[-1].reason


def test_ids_stay_unique_against_the_yaml_devices():
    result = read_zigbee2mqtt(json.dumps([_entry("Kitchen Light"), _entry("kitchen-light")]).encode(), None,
                              taken=["kitchen_light"])
    assert [f.device.id for f in result.found] == ["kitchen_light_2", "kitchen_light_3"]


def test_only_features_zigbee2mqtt_marks_settable_are_commanded():
    bulb = json.loads(DEVICES)[1]  # zigbee2mqtt's own test bulb: state and brightness with access 7
    light = next(e for e in bulb["definition"]["exposes"] if e["type"] == "light")

    def with_access(name: str, state: int, brightness: int) -> dict[str, object]:
        features = [{**f, "access": state if f["name"] == "state" else brightness if f["name"] == "brightness"
                     else f["access"]} for f in light["features"]]
        return {**bulb, "friendly_name": name, "definition": {**bulb["definition"],
                                                              "exposes": [{**light, "features": features}]}}

    result = read_zigbee2mqtt(json.dumps([with_access("dim only read", 7, 1),  # brightness is only published
                                          with_access("read only", 1, 1)]).encode(), None)
    assert [(f.key, f.device.type) for f in result.found] == [("dim only read", "switch")]
    assert result.skipped == (Skipped("read only",
                                      "nothing to command: no light, switch, cover, climate or fan it can set"),)


def test_a_name_without_latin_letters_gets_an_id_from_its_type():
    entries = [_entry("次卧2/咖啡机"), _entry("客厅/插座")]
    result = read_zigbee2mqtt(json.dumps(entries).encode(), None)
    assert [(f.device.id, f.device.name, f.rooms[0][0]) for f in result.found] == [
        ("switch", "咖啡机", "次卧2"), ("switch_2", "插座", "客厅")]
