"""The Home Assistant MQTT discovery importer and the command writer for what it imports: every outcome exact,
on real payloads (tests/data/import/discovery.json, see SOURCES.md) and on small hostile ones."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from edgebrain.base.errors import CommandError
from edgebrain.devices.abbreviations import ABBREVIATIONS, DEVICE_ABBREVIATIONS, ORIGIN_ABBREVIATIONS
from edgebrain.devices.command import Command
from edgebrain.devices.discovery_import import expand, homeassistant_message, read_discovery
from edgebrain.devices.found import Found, Imported, Skipped
from edgebrain.devices.registry import Device
from edgebrain.homeassistant.discovery import discovery_messages

DATA = json.loads((Path(__file__).parent / "data" / "import" / "discovery.json").read_text(encoding="utf-8"))
NOT_A_KIND = "not a kind edgebrain commands (light, switch, fan, cover, climate, humidifier)"
SUPLA = "prefix/supla/devices/my-device-0405ab/channels"


def raw(payload: Any) -> bytes:
    return b"" if payload == "" else json.dumps(payload).encode()


def stream(*numbers: int) -> list[tuple[str, bytes]]:
    """Messages D<n> of discovery.json (all of them, in order, when no number is given)."""
    picked = [DATA[n - 1] for n in numbers] if numbers else DATA
    return [(m["topic"], raw(m["payload"])) for m in picked]


def one(topic: str, payload: Any) -> Imported:
    return read_discovery([(topic, payload if isinstance(payload, bytes) else raw(payload))])


def by_key(imported: Imported) -> dict[str, Found]:
    return {f.key: f for f in imported.found}


# --- the abbreviation tables ---------------------------------------------------------------------------------------

def test_the_tables_are_home_assistants():
    # A digest of home-assistant/core's ABBREVIATIONS as the module cites it: any edit of an entry changes it.
    digest = hashlib.sha256(json.dumps(sorted(ABBREVIATIONS.items())).encode()).hexdigest()
    assert len(ABBREVIATIONS) == 273
    assert digest == "2f0b9d1ea53b94b754f0d7255363b58c19858a5bde38cd69d68c087a17d460fb"
    assert {k: ABBREVIATIONS[k] for k in ("cmps", "p", "o", "uniq_id", "bri_scl", "hum_cmd_t", "pos", "t")} == {
        "cmps": "components", "p": "platform", "o": "origin", "uniq_id": "unique_id", "bri_scl": "brightness_scale",
        "hum_cmd_t": "target_humidity_command_topic", "pos": "reports_position", "t": "topic"}
    assert DEVICE_ABBREVIATIONS == {
        "cns": "connections", "cu": "configuration_url", "ids": "identifiers", "name": "name", "mf": "manufacturer",
        "mdl": "model", "mdl_id": "model_id", "hw": "hw_version", "sw": "sw_version", "sa": "suggested_area",
        "sn": "serial_number"}
    assert ORIGIN_ABBREVIATIONS == {"name": "name", "sw": "sw_version", "url": "support_url"}


# --- expand --------------------------------------------------------------------------------------------------------

def test_expand_does_what_home_assistants_test_discovery_expansion_expects():
    out = expand(DATA[9]["payload"])  # D10: ~ as suffix and prefix, abbreviated availability list, dev.sa
    assert out == {
        "name": "DiscoveryExpansionTest1",
        "state_topic": "test_topic/some/base/topic",
        "command_topic": "some/base/topic/test_topic",
        "availability": [
            {"topic": "some/base/topic/avail_item1", "payload_available": "available",
             "payload_not_available": "not_available"},
            {"topic": "avail_item2/some/base/topic", "payload_available": "available",
             "payload_not_available": "not_available"}],
        "device": {"identifiers": ["5706DF"], "name": "DiscoveryExpansionTest1 Device", "model": "Generic",
                   "hw_version": "rev1", "sw_version": "1.2.3.4", "manufacturer": "None",
                   "suggested_area": "default_area"},
    }


def test_expand_applies_the_base_only_to_topics_and_as_home_assistant_does_at_both_ends():
    out = expand({"~": "sonoff_D3C412/", "cmd_t": "~cmnd/POWER", "avty_t": "~tele/LWT", "stat_t": "~",
                  "json_attr_t": "~/a/~", "val_tpl": "~{{value_json.POWER}}", "name": "~"})
    assert out == {"command_topic": "sonoff_D3C412/cmnd/POWER", "availability_topic": "sonoff_D3C412/tele/LWT",
                   "state_topic": "sonoff_D3C412/", "json_attributes_topic": "~/a/sonoff_D3C412/",
                   "value_template": "~{{value_json.POWER}}", "name": "~"}


def test_expand_writes_out_device_origin_and_components_and_the_abbreviation_wins():
    out = expand(DATA[4]["payload"])  # D5: dev with mdl_id, sn, hw and o
    assert out["device"] == {"identifiers": "ea334450945afc", "name": "Kitchen", "manufacturer": "Bla electronics",
                             "model": "xya", "model_id": "ABC123", "sw_version": "1.0",
                             "serial_number": "ea334450945afc", "hw_version": "1.0rev2"}
    assert out["origin"] == {"name": "bla2mqtt", "sw_version": "2.1",
                             "support_url": "https://bla2mqtt.example.com/support"}
    assert out["command_topic"] == "homeassistant/light/kitchen/set" and "~" not in out
    both = expand({"cmd_t": "short", "command_topic": "long", "cmps": {"a": {
        "p": "light", "~": "x", "cmd_t": "~/set", "avty": {"t": "~/up"}, "dev": {"ids": "1"}}}})
    assert both == {"command_topic": "short", "components": {"a": {
        "platform": "light", "command_topic": "x/set", "availability": {"topic": "x/up"}, "device": {"ids": "1"}}}}


# --- the whole fixture ---------------------------------------------------------------------------------------------

FOUND = [  # key, id, type, name, rooms, state topic
    ("D3C412_LI_1", "sonoff", "light", "Sonoff", (), "sonoff_D3C412/tele/STATE"),
    ("supla_000000000000_4_0", "dimmer", "light", "Dimmer", (), f"{SUPLA}/4/state/on"),
    ("supla_000000000000_5_0", "living_room_dimmer", "light", "Living room dimmer",
     (("Living Room", "suggested_area of device 'My Device'"),), f"{SUPLA}/5/state/on"),
    ("kitchen_light", "kitchen", "switch", "Kitchen", (), "homeassistant/light/kitchen/state"),
    ("782184bb134c-light-6a29e1c2", "blue_led", "switch", "Blue LED", (), "bathroom/light/blue_led/state"),
    ("0x000b57fffec6a5b2_light_zigbee2mqtt", "bulb", "light", "bulb", (), "zigbee2mqtt/bulb"),
    ("switch/supla/000000000000_0_0", "d_0_power_switch", "switch", "#0 Power switch", (), f"{SUPLA}/0/state/on"),
    ("switch/bla", "discoveryexpansiontest1", "switch", "DiscoveryExpansionTest1",
     (("default_area", "suggested_area of device 'DiscoveryExpansionTest1 Device'"),), "test_topic/some/base/topic"),
    ("climate/livingroom", "livingroom", "ac", "Livingroom", (), None),
    ("climate/supla/000000000000_0_0", "d_0_thermostat", "ac", "#0 Thermostat", (), None),
    ("0x0017882104a44559_climate_zigbee2mqtt", "ts0601_thermostat", "ac", "TS0601 thermostat", (), None),
    ("cover/supla/000000000000_0_0", "d_0_curtain", "cover", "#0 Curtain", (), None),
    ("0x0017880104e45551_cover_zigbee2mqtt", "smart_vent", "cover", "smart vent", (), "zigbee2mqtt/smart vent"),
    ("e465b88222f0-fan-3ce33d57", "cooker_fan", "fan", "Cooker fan", (), "kitchen/fan/cooker_fan/state"),
    ("0x0017880104e45548_fan_zigbee2mqtt", "fan", "fan", "fan", (), "zigbee2mqtt/fan"),
]
SKIPPED = [
    Skipped("esphome/discover/test", "not a discovery config topic under 'homeassistant/'"),
    Skipped("temp01ae_t", f"sensor: {NOT_A_KIND}"),
    Skipped("temp01ae_h", f"sensor: {NOT_A_KIND}"),
]
HA = {"format": "homeassistant"}
ROUTES = {
    "sonoff": {**HA, "component": "light", "topic": "sonoff_D3C412/cmnd/POWER", "payload_on": "ON",
               "payload_off": "OFF", "brightness_topic": "sonoff_D3C412/cmnd/Dimmer", "schema": "default",
               "brightness_scale": 100},
    "dimmer": {**HA, "component": "light", "topic": f"{SUPLA}/4/execute_action", "payload_on": "TURN_ON",
               "payload_off": "TURN_OFF", "brightness_topic": f"{SUPLA}/4/set/brightness", "schema": "default",
               "brightness_scale": 100},
    "kitchen": {**HA, "component": "light", "topic": "homeassistant/light/kitchen/set",
                "payload_on": '{"state":"ON"}', "payload_off": '{"state":"OFF"}', "brightness_topic": None,
                "schema": "json"},
    "bulb": {**HA, "component": "light", "topic": "zigbee2mqtt/bulb/set", "payload_on": '{"state":"ON"}',
             "payload_off": '{"state":"OFF"}', "brightness_topic": None, "schema": "json", "brightness_scale": 254},
    "d_0_power_switch": {**HA, "component": "switch", "topic": f"{SUPLA}/0/set/on", "payload_on": "true",
                         "payload_off": "false"},
    "livingroom": {**HA, "component": "climate", "topic": "homeassistant/climate/livingroom/thermostatModeCmd",
                   "temperature_topic": "homeassistant/climate/livingroom/targetTempCmd",
                   "mode_topic": "homeassistant/climate/livingroom/thermostatModeCmd", "mode_on": "heat",
                   "mode_off": "off", "temperature_range": [15, 25]},
    "d_0_thermostat": {**HA, "component": "climate", "topic": f"{SUPLA}/0/execute_action",
                       "temperature_topic": f"{SUPLA}/0/set/temperature_setpoint",
                       "mode_topic": f"{SUPLA}/0/execute_action", "mode_on": "auto", "mode_off": "off",
                       "temperature_range": None},
    "ts0601_thermostat": {**HA, "component": "climate", "topic": "zigbee2mqtt/TS0601_thermostat/set/system_mode",
                          "temperature_topic": "zigbee2mqtt/TS0601_thermostat/set/current_heating_setpoint",
                          "mode_topic": "zigbee2mqtt/TS0601_thermostat/set/system_mode", "mode_on": "heat",
                          "mode_off": "off", "temperature_range": [5, 35]},
    "d_0_curtain": {**HA, "component": "cover", "topic": f"{SUPLA}/0/execute_action", "payload_open": "REVEAL",
                    "payload_close": "SHUT", "position_topic": f"{SUPLA}/0/set/closing_percentage",
                    "position_open": 0, "position_closed": 100},
    "smart_vent": {**HA, "component": "cover", "topic": "zigbee2mqtt/smart vent/set", "payload_open": "OPEN",
                   "payload_close": "CLOSE", "templates": {"position": '{ "position": {{ position }} }'},
                   "position_topic": "zigbee2mqtt/smart vent/set", "position_open": 100, "position_closed": 0},
    "cooker_fan": {**HA, "component": "fan", "topic": "kitchen/fan/cooker_fan/command", "payload_on": "ON",
                   "payload_off": "OFF", "percentage_topic": "kitchen/fan/cooker_fan/speed_level/command",
                   "speed_range": [1, 4]},
    "fan": {**HA, "component": "fan", "topic": "zigbee2mqtt/fan/set/fan_state", "payload_on": "ON",
            "payload_off": "OFF", "percentage_topic": None},
}


@pytest.fixture(scope="module")
def home() -> Imported:
    return read_discovery(stream())


def test_the_fixture_gives_exactly_these_devices_and_skips(home: Imported):
    assert [(f.key, f.device.id, f.device.type, f.device.name, f.rooms, f.state_topic) for f in home.found] == FOUND
    assert list(home.skipped) == SKIPPED
    assert {(f.device.room, f.device.aliases, f.device.source) for f in home.found} == {(None, (), "discovery")}


STATE_KEYS = ("state_path", "state_on", "state_off", "brightness_path")  # for reading states (test_device_state)


def test_the_routes_hold_what_the_writer_needs(home: Imported):
    routes = {f.device.id: {k: v for k, v in f.device.mqtt.items() if k not in STATE_KEYS} for f in home.found}
    assert {k: routes[k] for k in ROUTES} == ROUTES


def test_the_reasons_say_type_name_and_topic(home: Imported):
    found = by_key(home)
    assert found["kitchen_light"].why == (
        "type switch: light (json schema) without a brightness command",
        "name 'Kitchen': its device's (the entity has none)",
        "commands on homeassistant/light/kitchen/set")
    bulb = found["0x000b57fffec6a5b2_light_zigbee2mqtt"]
    assert bulb.why[0] == "type light: light (json schema) with brightness 0-254"
    assert found["D3C412_LI_1"].why[0] == "type light: light (default schema) with brightness 0-100"
    assert found["0x0017880104e45548_fan_zigbee2mqtt"].why == (
        "type fan: fan with only on and off",
        "percentage left out: its percentage_command_template is Jinja edgebrain does not run "
        "(only JSON text with one placeholder)",
        "name 'fan': its device's (the entity has none)",
        "commands on zigbee2mqtt/fan/set/fan_state")
    assert found["climate/supla/000000000000_0_0"].why[:2] == (
        "type ac: climate; on is mode auto, off is mode off, set is the target temperature "
        "(min_temp -327.68 and max_temp -327.68 are no range: unchecked)",
        "key 'climate/supla/000000000000_0_0': its unique_id 'supla_000000000000_0_0' is shared by 3 entities")
    assert found["climate/livingroom"].why[0] == (
        "type ac: climate; on is mode heat, off is mode off, set is the target temperature (15-25 °C)")
    assert found["cover/supla/000000000000_0_0"].why[0] == (
        "type cover: cover that sets a position (open 0, closed 100, inverted)")
    assert found["e465b88222f0-fan-3ce33d57"].why[0] == "type fan: fan with speed 1-4"


def test_zigbee2mqtts_own_entities_can_be_left_to_the_zigbee2mqtt_import(home: Imported):
    without = read_discovery(stream(), skip_zigbee2mqtt=True)
    z2m = ["0x000b57fffec6a5b2_light_zigbee2mqtt", "0x0017882104a44559_climate_zigbee2mqtt",
           "0x0017880104e45551_cover_zigbee2mqtt", "0x0017880104e45548_fan_zigbee2mqtt"]
    assert [f.key for f in without.found] == [f.key for f in home.found if f.key not in z2m]
    # in arrival order: the zigbee2mqtt entities (D7-D17) come before ESPHome's message (D18) and D19's sensors
    assert list(without.skipped) == [Skipped(k, "imported from zigbee2mqtt directly") for k in z2m] + SKIPPED


def test_ids_are_unique_against_taken_ones():
    assert [f.device.id for f in read_discovery(stream(1, 2), taken=["sonoff", "dimmer"]).found] == [
        "sonoff_2", "dimmer_2"]
    twice = read_discovery([*stream(2), (DATA[1]["topic"].replace("4_0", "9_0"), raw(
        {**DATA[1]["payload"], "uniq_id": "other"}))])
    assert [(f.key, f.device.id) for f in twice.found] == [("supla_000000000000_4_0", "dimmer"), ("other", "dimmer_2")]


# --- replacement, removal, topics ----------------------------------------------------------------------------------

def test_a_later_config_replaces_the_earlier_one():
    alone = read_discovery(stream(4))  # D4: json light with brightness: true
    assert [(f.key, f.device.type, f.device.name) for f in alone.found] == [("kitchen_light", "light", "Kitchen")]
    assert alone.found[0].device.mqtt["brightness_scale"] == 255
    replaced = read_discovery(stream(4, 5))  # D5, same topic: no brightness, name from its device
    assert [(f.key, f.device.type, f.device.name) for f in replaced.found] == [("kitchen_light", "switch", "Kitchen")]
    assert replaced.skipped == ()
    upgraded = read_discovery(stream(7, 8))  # z2m 1.x then 2.x: one bulb
    assert [f.key for f in upgraded.found] == ["0x000b57fffec6a5b2_light_zigbee2mqtt"]


def test_an_empty_config_removes_what_its_topic_announced():
    assert read_discovery(stream(22)).skipped == (Skipped("motion01ad", f"binary_sensor: {NOT_A_KIND}"),)
    assert read_discovery(stream(22, 23)) == Imported()
    assert read_discovery(stream(20)).skipped == (Skipped("unique1", f"sensor: {NOT_A_KIND}"),
                                                  Skipped("unique2", f"sensor: {NOT_A_KIND}"))
    assert read_discovery(stream(20, 21)) == Imported()  # a device config removes all its components
    assert [f.key for f in read_discovery([*stream(1, 3), (DATA[0]["topic"], b""), *stream(1)]).found] == [
        "supla_000000000000_5_0", "D3C412_LI_1"]  # removed, then announced again


def test_topics_outside_the_prefix_or_its_pattern_are_skipped():
    assert read_discovery(stream(18)).skipped == (
        Skipped("esphome/discover/test", "not a discovery config topic under 'homeassistant/'"),)
    bad = read_discovery([("homeassistant/light/a/b/c/config", raw({"cmd_t": "x"})),
                          ("homeassistant/light/a b/config", raw({"cmd_t": "x"}))])
    assert [s.key for s in bad.skipped] == ["homeassistant/light/a/b/c/config", "homeassistant/light/a b/config"]
    custom = read_discovery([(t.replace("homeassistant/", "ha/"), p) for t, p in stream(1, 9)], prefix="ha")
    assert [f.key for f in custom.found] == ["D3C412_LI_1", "supla_000000000000_0_0"]


def test_what_edgebrain_itself_announces_is_never_imported_back():
    lamp = Device("desk_lamp", "light", "Desk lamp", "study", gpio={"kind": "pwm", "pin": 18})
    ours = discovery_messages([lamp], "edgebrain", "homeassistant", "edgebrain_hub", listening=True)
    imported = read_discovery([(topic, payload.encode()) for topic, payload in ours])
    assert imported.found == ()
    assert list(imported.skipped) == [Skipped(key, "announced by edgebrain itself") for key in (
        "edgebrain_hub_command", "edgebrain_hub_last_result", "edgebrain_hub_desk_lamp", "edgebrain_hub_listening")]
    made_by_us = one("homeassistant/switch/x/config", {"cmd_t": "x/set", "dev": {"ids": "x", "mf": "edgebrain"}})
    assert made_by_us.skipped == (Skipped("switch/x", "announced by edgebrain itself"),)


# --- device-based discovery ----------------------------------------------------------------------------------------

def test_device_discovery_components_inherit_the_shared_options():
    payload = {
        "dev": {"ids": "hub1", "name": "Hall hub", "sa": "Hall"}, "o": {"name": "hub2mqtt"},
        "~": "hub1", "cmd_t": "~/set", "stat_t": "~/state", "qos": 1, "avty_t": "~/status",
        "cmps": {
            "lamp": {"p": "light", "bri_cmd_t": "hub1/lamp/brightness", "uniq_id": "hub1_lamp"},
            "plug": {"p": "switch", "name": "Plug", "cmd_t": "hub1/plug/set", "pl_on": 1, "pl_off": 0},
            "gone": {"p": "fan"},
            "odd": {"cmd_t": "hub1/odd"},
            "temp": {"p": "sensor", "stat_t": "hub1/t"}}}
    imported = one("homeassistant/device/hub1/config", payload)
    lamp, plug = imported.found
    assert (lamp.key, lamp.device.id, lamp.device.type, lamp.device.name) == (
        "hub1_lamp", "hall_hub", "light", "Hall hub")
    assert lamp.device.mqtt == {**HA, "component": "light", "topic": "hub1/set", "payload_on": "ON",
                                "payload_off": "OFF", "brightness_topic": "hub1/lamp/brightness", "schema": "default",
                                "brightness_scale": 255}
    assert lamp.rooms == (("Hall", "suggested_area of device 'Hall hub'"),) and lamp.state_topic == "hub1/state"
    assert (plug.key, plug.device.id, plug.device.type, plug.state_topic) == ("switch/hub1/plug", "plug", "switch",
                                                                             "hub1/state")
    assert plug.device.mqtt == {**HA, "component": "switch", "topic": "hub1/plug/set", "payload_on": "1",
                                "payload_off": "0"}
    assert list(imported.skipped) == [Skipped("device/hub1/odd", "a component without a platform"),
                                      Skipped("sensor/hub1/temp", f"sensor: {NOT_A_KIND}")]
    assert read_discovery(stream(19)).skipped == (Skipped("temp01ae_t", f"sensor: {NOT_A_KIND}"),
                                                  Skipped("temp01ae_h", f"sensor: {NOT_A_KIND}"))
    assert one("homeassistant/device/x/config", {"dev": "x", "cmps": {}}).skipped == (
        Skipped("device/x", "a device config needs a device object and a components object"),)


# --- hostile input -------------------------------------------------------------------------------------------------

def test_hostile_configs_are_skipped_with_their_reason_and_the_rest_still_imported():
    fine = ("homeassistant/switch/fine/config", raw({"name": "Fine", "cmd_t": "fine/set"}))
    messages = [
        ("homeassistant/light/notjson/config", b"{not json"),
        ("homeassistant/light/list/config", b"[1, 2]"),
        ("homeassistant/light/big/config", raw({"cmd_t": "big/set", "pad": "x" * 100 * 1024})),
        ("homeassistant/light/binary/config", b"\xff\xfe{}"),
        ("homeassistant/light/number/config", raw({"cmd_t": 5})),
        ("homeassistant/light/hash/config", raw({"cmd_t": "home/#"})),
        ("homeassistant/light/huge/config", raw({"cmd_t": "huge/set", "bri_cmd_t": "huge/b", "bri_scl": "9" * 5000})),
        ("homeassistant/light/zero/config", raw({"cmd_t": "zero/set", "bri_cmd_t": "zero/b", "bri_scl": 0})),
        ("homeassistant/climate/words/config", raw({"mode_cmd_t": "w/m", "min_temp": "cold"})),
        ("homeassistant/switch/dict/config", raw({"cmd_t": "d/set", "pl_on": {"a": 1}})),
        ("homeassistant/light/deep/config", b"[" * 60000),
        ("homeassistant/switch/odd_one/config", raw({"cmd_t": "odd/set", "dev": "not an object", "min_temp": []})),
        fine,
    ]
    imported = read_discovery(messages)
    assert [(f.device.name, f.rooms) for f in imported.found] == [("odd one", ()), ("Fine", ())]
    limit = "the config is not UTF-8 JSON text of at most 65,536 bytes"
    assert list(imported.skipped) == [
        Skipped("light/notjson", f"{limit} (Expecting property name enclosed in double quotes: line 1 column 2 "
                                 "(char 1))"),
        Skipped("light/list", "the config is a JSON list, not an object"),
        Skipped("light/big", f"{limit} (it has 102,431 bytes)"),
        Skipped("light/binary", f"{limit} ('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)"),
        Skipped("light/number", "command_topic 5 is no topic to publish to (not a string, empty, or with +, # or NUL)"),
        Skipped("light/hash", "command_topic 'home/#' is no topic to publish to (not a string, empty, or with +, # "
                              "or NUL)"),
        Skipped("light/huge", f"brightness_scale {'9' * 40!r} is not a whole number from 1 to 1,000,000"),
        Skipped("light/zero", "brightness_scale '0' is not a whole number from 1 to 1,000,000"),
        Skipped("climate/words", "min_temp 'cold' is not a number"),
        Skipped("switch/dict", "payload_on is a JSON dict"),
        Skipped("light/deep", f"{limit} (maximum recursion depth exceeded while decoding a JSON array from a unicode "
                              "string)"),
    ]


def test_entities_that_cannot_be_commanded_are_skipped():
    cases = {
        "homeassistant/light/ro/config": ({"name": "Read only", "stat_t": "ro/state"},
                                          "no command topic: it only reports its state"),
        "homeassistant/switch/none/config": ({"cmd_t": "n/set", "pl_on": None, "pl_off": None},
                                             "nothing to command: every payload and value it announces is left out"),
        "homeassistant/light/tpl/config": ({"schema": "template", "cmd_t": "t/set"},
                                           "light schema 'template': only the default schema and json with a "
                                           "command_topic are read"),
        "homeassistant/fan/jinja/config": ({"cmd_t": "j/set", "cmd_tpl": "{% if value == 'ON' %}1{% endif %}",
                                            "pct_cmd_t": "j/pct", "pct_cmd_tpl": "{{ value * 2 }}"},
                                           "nothing to command: every payload and value it announces is left out"),
        "homeassistant/fan/range/config": ({"cmd_t": "r/set", "spd_rng_min": 5, "spd_rng_max": 3},
                                           "speed_range_max 3 is not above speed_range_min 5"),
        "homeassistant/humidifier/h/config": ({"cmd_t": "h/set", "min_hum": 80, "max_hum": 40},
                                              "max_humidity 40 is not above min_humidity 80"),
        "homeassistant/cover/same/config": ({"cmd_t": "s/set", "pos_open": 50, "pos_clsd": 50},
                                            "position_open and position_closed are both 50"),
        "homeassistant/climate/modes/config": ({"mode_cmd_t": "m/set", "modes": "cool"},
                                               "modes is not a list of strings"),
        "homeassistant/lock/door/config": ({"cmd_t": "door/set"}, f"lock: {NOT_A_KIND}"),
    }
    imported = read_discovery([(topic, raw(payload)) for topic, (payload, _) in cases.items()])
    assert imported.found == ()
    assert list(imported.skipped) == [Skipped(topic.split("/", 1)[1].rsplit("/", 1)[0], reason)
                                      for topic, (_, reason) in cases.items()]


# --- templates -----------------------------------------------------------------------------------------------------

def test_a_one_placeholder_json_template_is_kept_and_any_other_leaves_its_capability_out():
    simple = one("homeassistant/light/t1/config", {"name": "T1", "cmd_t": "t1/set", "bri_cmd_t": "t1/b",
                                                    "bri_cmd_tpl": '{"brightness": {{ value }}}'}).found[0]
    assert simple.device.type == "light" and simple.device.mqtt["templates"] == {
        "brightness": '{"brightness": {{ value }}}'}
    assert homeassistant_message(simple.device, Command("t1", "set", 50)) == ("t1/b", '{"brightness":128}')
    jinja = one("homeassistant/light/t2/config", {"name": "T2", "cmd_t": "t2/set", "bri_cmd_t": "t2/b",
                                                   "bri_cmd_tpl": "{{ (value / 2) | int }}"}).found[0]
    assert (jinja.device.type, jinja.device.mqtt["brightness_topic"]) == ("switch", None)
    # only a cover's set_position_template gets a position; elsewhere Home Assistant renders it empty
    position = one("homeassistant/light/t6/config", {"name": "T6", "cmd_t": "t6/set", "bri_cmd_t": "t6/b",
                                                      "bri_cmd_tpl": '{"brightness": {{ position }}}'}).found[0]
    assert (position.device.type, position.device.mqtt["brightness_topic"]) == ("switch", None)
    assert jinja.why[:2] == ("type switch: light (default schema) without a brightness command",
                             "brightness left out: its brightness_command_template is Jinja edgebrain does not run "
                             "(only JSON text with one placeholder)")
    two = one("homeassistant/fan/t3/config", {"name": "T3", "cmd_t": "t3/set", "cmd_tpl": '{"state": "{{ value }}"}',
                                             "pct_cmd_t": "t3/p",
                                             "pct_cmd_tpl": '{"a": {{ value }}, "b": {{ value }}}'})
    fan = two.found[0].device
    assert fan.mqtt["templates"] == {"state": '{"state": "{{ value }}"}'} and fan.mqtt["percentage_topic"] is None
    assert homeassistant_message(fan, Command("t3", "on")) == ("t3/set", '{"state":"ON"}')
    mode = one("homeassistant/climate/t4/config", {"name": "T4", "mode_cmd_t": "t4/m", "modes": ["off", "cool"],
                                                  "mode_cmd_tpl": '{"mode": "{{ value }}"}',
                                                  "temp_cmd_t": "t4/t", "temp_cmd_tpl": '{"target": {{ value }}}'})
    ac = mode.found[0].device
    assert homeassistant_message(ac, Command("t4", "on")) == ("t4/m", '{"mode":"cool"}')
    assert homeassistant_message(ac, Command("t4", "set", 21.5)) == ("t4/t", '{"target":21.5}')
    # JSON text even after the substitution, but with a Jinja statement Home Assistant would run: not taken
    statement = one("homeassistant/climate/t5/config", {
        "name": "T5", "mode_cmd_t": "t5/m", "modes": ["off", "cool"], "temp_cmd_t": "t5/t",
        "mode_cmd_tpl": '{"mode": "{{ value }}", "fan": "{% if value == \'cool\' %}high{% endif %}"}'}).found[0]
    assert (statement.device.mqtt["mode_on"], statement.device.mqtt["mode_off"], statement.why[1]) == (
        None, None, "mode left out: its mode_command_template is Jinja edgebrain does not run (only JSON text with "
                    "one placeholder)")
    with pytest.raises(CommandError, match=r"^t5: its discovery config has no command for 'on' on a ac$"):
        homeassistant_message(statement.device, Command("t5", "on"))


# --- homeassistant_message -----------------------------------------------------------------------------------------

MESSAGES = [  # device id, action, value, (topic, payload)
    ("sonoff", "on", None, ("sonoff_D3C412/cmnd/POWER", "ON")),
    ("sonoff", "off", None, ("sonoff_D3C412/cmnd/POWER", "OFF")),
    ("sonoff", "set", 40, ("sonoff_D3C412/cmnd/Dimmer", "40")),
    ("sonoff", "set", 0, ("sonoff_D3C412/cmnd/POWER", "OFF")),
    ("dimmer", "on", None, (f"{SUPLA}/4/execute_action", "TURN_ON")),
    ("bulb", "on", None, ("zigbee2mqtt/bulb/set", '{"state":"ON"}')),
    ("bulb", "off", None, ("zigbee2mqtt/bulb/set", '{"state":"OFF"}')),
    ("bulb", "set", 50, ("zigbee2mqtt/bulb/set", '{"state":"ON","brightness":127}')),
    ("bulb", "set", 1, ("zigbee2mqtt/bulb/set", '{"state":"ON","brightness":3}')),
    ("bulb", "set", 0, ("zigbee2mqtt/bulb/set", '{"state":"OFF"}')),
    ("kitchen", "on", None, ("homeassistant/light/kitchen/set", '{"state":"ON"}')),
    ("d_0_power_switch", "on", None, (f"{SUPLA}/0/set/on", "true")),
    ("d_0_power_switch", "off", None, (f"{SUPLA}/0/set/on", "false")),
    ("d_0_curtain", "open", None, (f"{SUPLA}/0/execute_action", "REVEAL")),
    ("d_0_curtain", "close", None, (f"{SUPLA}/0/execute_action", "SHUT")),
    ("d_0_curtain", "set", 30, (f"{SUPLA}/0/set/closing_percentage", "70")),
    ("d_0_curtain", "set", 100, (f"{SUPLA}/0/set/closing_percentage", "0")),
    ("smart_vent", "set", 30, ("zigbee2mqtt/smart vent/set", '{"position":30}')),
    ("smart_vent", "open", None, ("zigbee2mqtt/smart vent/set", "OPEN")),
    ("livingroom", "on", None, ("homeassistant/climate/livingroom/thermostatModeCmd", "heat")),
    ("livingroom", "off", None, ("homeassistant/climate/livingroom/thermostatModeCmd", "off")),
    ("livingroom", "set", 22, ("homeassistant/climate/livingroom/targetTempCmd", "22")),
    ("d_0_thermostat", "on", None, (f"{SUPLA}/0/execute_action", "auto")),
    ("d_0_thermostat", "set", 22.5, (f"{SUPLA}/0/set/temperature_setpoint", "22.5")),
    ("ts0601_thermostat", "set", 16, ("zigbee2mqtt/TS0601_thermostat/set/current_heating_setpoint", "16")),
    ("cooker_fan", "on", None, ("kitchen/fan/cooker_fan/command", "ON")),
    ("cooker_fan", "set", 40, ("kitchen/fan/cooker_fan/speed_level/command", "2")),
    ("cooker_fan", "set", 100, ("kitchen/fan/cooker_fan/speed_level/command", "4")),
    ("cooker_fan", "set", 1, ("kitchen/fan/cooker_fan/speed_level/command", "1")),
    ("cooker_fan", "set", 0, ("kitchen/fan/cooker_fan/command", "OFF")),
    ("fan", "off", None, ("zigbee2mqtt/fan/set/fan_state", "OFF")),
]


@pytest.mark.parametrize(("device", "action", "value", "message"), MESSAGES)
def test_each_command_becomes_its_topic_and_payload(home: Imported, device: str, action: str, value: float | None,
                                                    message: tuple[str, str]):
    devices = {f.device.id: f.device for f in home.found}
    assert homeassistant_message(devices[device], Command(device, action, value)) == message


def test_the_brightness_scale_and_the_speed_range_are_honoured():
    light = one("homeassistant/light/l/config", {"name": "L", "cmd_t": "l/set", "bri_cmd_t": "l/b"}).found[0].device
    assert homeassistant_message(light, Command("l", "set", 50)) == ("l/b", "128")  # 127.5 of 255
    assert homeassistant_message(light, Command("l", "set", 100)) == ("l/b", "255")
    json_light = one("homeassistant/light/j/config", {"name": "J", "schema": "json", "cmd_t": "j/set",
                                                      "sup_clrm": ["brightness"]}).found[0].device
    assert homeassistant_message(json_light, Command("j", "set", 50)) == ("j/set", '{"state":"ON","brightness":128}')
    fan = one("homeassistant/fan/f/config", {"name": "F", "cmd_t": "f/set", "pct_cmd_t": "f/pct"}).found[0].device
    assert homeassistant_message(fan, Command("f", "set", 40)) == ("f/pct", "40")
    ranged = one("homeassistant/fan/r/config", {"name": "R", "cmd_t": "r/set", "pct_cmd_t": "r/pct",
                                               "spd_rng_min": 5, "spd_rng_max": 10}).found[0].device
    assert homeassistant_message(ranged, Command("r", "set", 40)) == ("r/pct", "7")  # 6 speeds * 40 % + 4, up
    humidifier = one("homeassistant/humidifier/h/config", {"name": "H", "cmd_t": "h/set", "hum_cmd_t": "h/target",
                                                           "min_hum": 35, "max_hum": 65}).found[0].device
    assert humidifier.type == "humidifier" and humidifier.mqtt["humidity_range"] == [35, 65]
    assert homeassistant_message(humidifier, Command("h", "set", 45)) == ("h/target", "45")
    assert homeassistant_message(humidifier, Command("h", "on")) == ("h/set", "ON")
    with pytest.raises(CommandError, match=r"^h: 70 % is outside the 35-65 % its discovery config announces$"):
        homeassistant_message(humidifier, Command("h", "set", 70))


REFUSED = [  # device id, action, value, message
    ("sonoff", "increase", None, "sonoff: its discovery config has no command for 'increase' on a light (a relative "
                                 "step: discovery announces absolute values only)"),
    ("bulb", "decrease", None, "bulb: its discovery config has no command for 'decrease' on a light (a relative "
                               "step: discovery announces absolute values only)"),
    ("kitchen", "toggle", None, "kitchen: its discovery config has no command for 'toggle' on a switch"),
    ("d_0_power_switch", "toggle", None, "d_0_power_switch: its discovery config has no command for 'toggle' on a "
                                         "switch"),
    ("fan", "set", 40, "fan: its discovery config has no command for 'set' on a fan"),
    ("livingroom", "set", 28, "livingroom: 28 °C is outside the 15-25 °C its discovery config announces"),
    ("livingroom", "increase", None, "livingroom: its discovery config has no command for 'increase' on a ac (a "
                                     "relative step: discovery announces absolute values only)"),
]


@pytest.mark.parametrize(("device", "action", "value", "message"), REFUSED)
def test_actions_a_route_cannot_carry_are_refused_naming_device_and_action(home: Imported, device: str, action: str,
                                                                           value: float | None, message: str):
    devices = {f.device.id: f.device for f in home.found}
    with pytest.raises(CommandError) as caught:
        homeassistant_message(devices[device], Command(device, action, value))
    assert str(caught.value) == message


def test_a_device_not_imported_from_discovery_is_refused():
    z2m = Device("lamp", "light", "Lamp", mqtt={"format": "zigbee2mqtt", "topic": "zigbee2mqtt/lamp/set"})
    with pytest.raises(CommandError, match=r"^lamp: not a device imported from Home Assistant MQTT discovery$"):
        homeassistant_message(z2m, Command("lamp", "on"))
    no_payload = one("homeassistant/cover/p/config", {"name": "P", "set_pos_t": "p/pos"}).found[0].device
    assert homeassistant_message(no_payload, Command("p", "set", 25)) == ("p/pos", "25")
    with pytest.raises(CommandError, match=r"^p: its discovery config has no command for 'open' on a cover$"):
        homeassistant_message(no_payload, Command("p", "open"))
