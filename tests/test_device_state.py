"""What imported devices say on their state topics, read into on/off and a value in the registry's units."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebrain.devices.registry import Device
from edgebrain.devices.state import DeviceState, StateBook, read_state
from edgebrain.devices.zigbee2mqtt import read_zigbee2mqtt

DATA = Path(__file__).parent / "data" / "import"
FOUND = {f.key: f.device for f in read_zigbee2mqtt((DATA / "z2m_bridge_devices.json").read_bytes(), None).found}


@pytest.mark.parametrize(("key", "said", "on", "value"), [
    # zigbee2mqtt publishes the whole state of a device on <base>/<friendly name>
    ("bulb", {"state": "ON", "brightness": 127, "color_temp": 370, "linkquality": 87}, True, 50),
    ("bulb", {"state": "OFF", "brightness": 254}, False, 100),
    ("Window shutter", {"position": 30, "state": "OPEN"}, True, 30),
    ("Window shutter", {"position": 0, "state": "CLOSE"}, False, 0),
    ("Moes thermo", {"system_mode": "heat", "current_heating_setpoint": 21.5, "local_temperature": 19}, True, 21.5),
    ("Moes thermo", {"system_mode": "off", "current_heating_setpoint": 21.5}, False, 21.5),
    ("fan#fan", {"fan_state": "ON", "fan_mode": "medium"}, True, 66),
    ("Moes switch double#l2", {"state_l1": "ON", "state_l2": "OFF"}, False, None),
    ("power_plug", {"power": 12.5}, None, None),  # says nothing of on or off
])
def test_a_zigbee2mqtt_state_reads_as_on_and_value(key, said, on, value):
    state = read_state(FOUND[key], json.dumps(said).encode(), now=1000.0)
    assert (state.on, state.value) == (on, value)
    assert state.to_dict(now=1061.9) == {"on": on, "value": value, "age_s": 61}


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\xff", b"{" + b" " * 70000 + b"}"])
def test_a_state_that_cannot_be_read_changes_nothing(payload):
    book = StateBook()
    assert book.heard(FOUND["bulb"], b'{"state": "ON"}') is not None
    assert book.heard(FOUND["bulb"], payload) is None
    assert book.get("bulb") == DeviceState(True, None, {}, 0.0)  # still the last good one


def test_the_book_tells_of_each_change():
    heard: list[tuple[str, bool | None]] = []
    book = StateBook(lambda device_id, state: heard.append((device_id, state.on)))
    book.heard(FOUND["power_plug"], b'{"state": "OFF"}')
    book.heard(FOUND["power_plug"], b'{"state": "ON"}')
    assert heard == [("power_plug", False), ("power_plug", True)] and book.changed_at > 0
    assert set(book.snapshot()) == {"power_plug"}


def test_a_discovered_lights_state_reads_in_its_schema():
    import json as _json

    from edgebrain.devices.discovery_import import read_discovery

    json_light = {"~": "home/lamp", "name": "Lamp", "uniq_id": "lamp1", "cmd_t": "~/set", "stat_t": "~/state",
                  "schema": "json", "brightness": True}
    plain_light = {"name": "Spot", "uniq_id": "spot1", "cmd_t": "spot/set", "stat_t": "spot/state",
                   "pl_on": "TURN_ON", "pl_off": "TURN_OFF"}
    found = read_discovery([("homeassistant/light/lamp/config", _json.dumps(json_light).encode()),
                            ("homeassistant/light/spot/config", _json.dumps(plain_light).encode())]).found
    lamp, spot = (f.device for f in found)
    assert [f.state_topic for f in found] == ["home/lamp/state", "spot/state"]
    state = read_state(lamp, b'{"state": "ON", "brightness": 51}')
    assert (state.on, state.value) == (True, 20)  # 51 of Home Assistant's default scale of 255
    assert read_state(lamp, b'{"state": "OFF"}').on is False
    assert read_state(spot, b"TURN_ON").on is True and read_state(spot, b"TURN_OFF").on is False
    assert read_state(spot, b"whatever").on is None


def test_a_tasmota_state_is_read_by_its_value_templates():
    import json as _json

    from edgebrain.devices.discovery_import import read_discovery

    message = _json.loads((DATA / "discovery.json").read_text(encoding="utf-8"))[0]  # Tasmota's own light
    assert message["payload"]["val_tpl"] == "{{value_json.POWER}}"
    (found,) = read_discovery([(message["topic"], _json.dumps(message["payload"]).encode())]).found
    assert found.state_topic == "sonoff_D3C412/tele/STATE"
    tele = {"Time": "2019-01-01T00:00:00", "POWER": "ON", "Dimmer": 40, "Wifi": {"RSSI": 70}}
    state = read_state(found.device, _json.dumps(tele).encode())
    assert (state.on, state.value) == (True, 40)  # Dimmer on Tasmota's scale of 100
    assert read_state(found.device, b'{"POWER": "OFF", "Dimmer": 40}').on is False
    assert read_state(found.device, b'{"Wifi": {}}').on is None  # a message that says nothing of it


def test_a_yaml_device_over_mqtt_says_its_state_where_its_command_topic_without_set_is():
    from edgebrain.devices.home import yaml_state_topic

    plain = Device("fan", "fan", "Fan", mqtt={"topic": "home/kitchen/fan/set"})
    z2m = Device("lamp", "light", "Lamp", mqtt={"topic": "zigbee2mqtt/lamp/set", "format": "zigbee2mqtt"})
    own = Device("ac", "ac", "AC", mqtt={"topic": "ac/cmd", "state_topic": "ac/status"})
    assert [yaml_state_topic(d) for d in (plain, z2m, own)] == ["home/kitchen/fan", "zigbee2mqtt/lamp", "ac/status"]
    assert yaml_state_topic(Device("x", "switch", "X", mqtt={"topic": "x/cmd"})) is None
    said = read_state(plain, b'{"state": "ON", "value": 40}')
    assert (said.on, said.value) == (True, 40.0)
    said = read_state(z2m, b'{"state": "OFF", "brightness": 127}')
    assert (said.on, said.value) == (False, 50)
    assert read_state(own, b'{"state": "weird"}').on is None
