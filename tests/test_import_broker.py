"""A home imported from a real Mosquitto: zigbee2mqtt's retained lists (payloads from zigbee2mqtt's own tests
and real installations, tests/data/import/SOURCES.md) and the overlay make the registry that
`edgebrain devices` shows and `edgebrain run` commands, on zigbee2mqtt's own topics in its own JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker import Daemon, daemon_env

DATA = Path(__file__).parent / "data" / "import"
OVERLAY = """\
overlay:
  bulb: {name: Desk lamp, aliases: [台灯], room: study}
  Kitchen Light: {room: kitchen}
  hue1: {exclude: true}
"""


def _retain_z2m(watcher, devices: bytes | None = None) -> None:  # type: ignore[no-untyped-def]
    watcher.publish("zigbee2mqtt/bridge/devices", devices or (DATA / "z2m_bridge_devices.json").read_bytes(),
                    retain=True)
    watcher.publish("zigbee2mqtt/bridge/groups", (DATA / "z2m_bridge_groups.json").read_bytes(), retain=True)
    watcher.flush()


@pytest.fixture()
def home_env(cli_env, broker, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "devices"
    folder.mkdir()
    (folder / "overlay.yaml").write_text(OVERLAY, encoding="utf-8")
    return daemon_env(cli_env, tmp_path / "state", broker.port, EDGEBRAIN_DEVICES=str(folder),
                      EDGEBRAIN_REGISTRY__SOURCES="[zigbee2mqtt]", EDGEBRAIN_REGISTRY__WAIT_S="10")


def _devices(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgebrain", "devices", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_edgebrain_devices_shows_the_imported_home_and_why(home_env, watcher):
    _retain_z2m(watcher)
    shown = _devices(home_env, "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    by_id = {d["id"]: d for d in report["devices"]}
    assert sorted(by_id) == sorted(["bulb", "bulb_color_2", "power_plug", "fan_light", "fan", "ceiling",
                                    "kitchen_light", "lamp", "window_shutter", "moes_thermo",
                                    "moes_switch_double_l1", "moes_switch_double_l2", "hue_back_tv",
                                    "d_0x0017880103d55d65", "hue_lights"])
    assert by_id["bulb"] == {
        "id": "bulb", "type": "light", "name": "Desk lamp", "aliases": ["台灯"], "room": "study",
        "source": "zigbee2mqtt", "key": "bulb", "state_topic": "zigbee2mqtt/bulb",
        "room_note": f"room 'study': from the overlay in {home_env['EDGEBRAIN_DEVICES']}/overlay.yaml",
        "why": ["type light: a light with brightness 0-254", "commands on zigbee2mqtt/bulb/set",
                f"name 'Desk lamp': from the overlay in {home_env['EDGEBRAIN_DEVICES']}/overlay.yaml",
                f"aliases ('台灯',): from the overlay in {home_env['EDGEBRAIN_DEVICES']}/overlay.yaml",
                f"room 'study': from the overlay in {home_env['EDGEBRAIN_DEVICES']}/overlay.yaml"]}
    assert by_id["ceiling"]["room"] == "living room"
    assert by_id["bulb_color_2"]["room"] == "living room"  # a member of the group named like a room
    assert by_id["power_plug"]["room"] is None
    assert {"key": "hue1", "reason": f"excluded by the overlay in {home_env['EDGEBRAIN_DEVICES']}/overlay.yaml"} \
        in report["skipped"]
    assert {"key": "Coordinator", "reason": "the coordinator"} in report["skipped"]
    assert by_id["hue_lights"]["room_note"] == ("no room: a group is a target by its name; a request for a room "
                                                "reaches its members")
    text = _devices(home_env)
    assert text.returncode == 0
    assert text.stdout.startswith("15 devices (15 from zigbee2mqtt); 9 imported without a room; 9 skipped\n")
    assert "\nbulb  light  room study  names 'Desk lamp', '台灯'\n    zigbee2mqtt 'bulb'\n" in text.stdout


def test_a_hostile_device_list_entry_is_skipped_and_the_rest_kept(home_env, watcher):
    entries = json.loads((DATA / "z2m_bridge_devices.json").read_bytes())
    evil = {**entries[3], "friendly_name": "kitchen/+/#", "ieee_address": "0xdead"}
    _retain_z2m(watcher, json.dumps([evil, *entries]).encode())
    report = json.loads(_devices(home_env, "--json").stdout)
    assert "kitchen/+/#" in {s["key"] for s in report["skipped"]} and len(report["devices"]) == 15


def test_without_the_broker_the_import_says_so(home_env, tmp_path):
    env = {**home_env, "EDGEBRAIN_MQTT__PORT": "1", "EDGEBRAIN_REGISTRY__WAIT_S": "1"}
    shown = _devices(env)
    assert shown.returncode == 2
    assert "\nedgebrain: cannot import devices from the broker: no connection to 127.0.0.1:1: " in shown.stderr


@pytest.mark.model
def test_the_daemon_commands_imported_devices_on_their_own_topics(home_env, watcher, tmp_path):
    _retain_z2m(watcher)
    counts: dict[str, int] = {}
    with Daemon(home_env, tmp_path / "daemon.log"):
        watcher.wait_for("eb/status", timeout=120)
        for number, (text, topic, payload) in enumerate([
            ("turn on the desk lamp", "zigbee2mqtt/bulb/set", {"state": "ON"}),
            ("打开台灯", "zigbee2mqtt/bulb/set", {"state": "ON"}),
            ("set the kitchen light to 50 percent", "zigbee2mqtt/Kitchen Light/set", {"brightness": 127}),
            ("open the window shutter", "zigbee2mqtt/Window shutter/set", {"state": "OPEN"}),
            ("set the moes thermo to 22 degrees", "zigbee2mqtt/Moes thermo/set", {"current_heating_setpoint": 22}),
            ("turn off the hue lights", "zigbee2mqtt/hue lights/set", {"state": "OFF"}),  # a group: one message
        ], 1):
            watcher.publish("eb/text", json.dumps({"text": text, "id": f"r{number}"}))
            results = [json.loads(s.payload) for s in watcher.wait_for("eb/result", number, timeout=60)]
            assert results[-1]["status"] == "routed", results[-1]
            counts[topic] = counts.get(topic, 0) + 1
            seen = watcher.wait_for(topic, counts[topic], timeout=30)
            assert json.loads(seen[-1].payload) == payload, (text, seen[-1].payload)
        assert watcher.on("zigbee2mqtt/hue_back_tv/set") == []  # the group's member heard it from zigbee2mqtt


def _retain_discovery(watcher) -> None:  # type: ignore[no-untyped-def]
    for message in json.loads((DATA / "discovery.json").read_text(encoding="utf-8")):
        payload = message["payload"]
        watcher.publish(message["topic"], json.dumps(payload) if isinstance(payload, dict) else payload, retain=True)
    watcher.flush()


@pytest.mark.model
def test_discovered_entities_are_commanded_on_their_own_topics_in_their_own_words(home_env, watcher, tmp_path):
    _retain_z2m(watcher)
    _retain_discovery(watcher)
    env = {**home_env, "EDGEBRAIN_REGISTRY__SOURCES": "[zigbee2mqtt, discovery]"}
    report = json.loads(_devices(env, "--json").stdout)
    by_id = {d["id"]: d for d in report["devices"]}
    # The device's suggested_area "Living Room", spelled as the room zigbee2mqtt's living_room/ceiling made first.
    assert by_id["living_room_dimmer"]["room"] == "living room"
    assert by_id["living_room_dimmer"]["room_note"] == "room 'Living Room': from suggested_area of device 'My Device'"
    assert by_id["living_room_dimmer"]["source"] == "discovery" and by_id["cooker_fan"]["type"] == "fan"
    # zigbee2mqtt announces its devices by discovery too: with zigbee2mqtt a source, they come once.
    assert {"key": "0x000b57fffec6a5b2_light_zigbee2mqtt", "reason": "imported from zigbee2mqtt directly"} \
        in report["skipped"]
    channel = "prefix/supla/devices/my-device-0405ab/channels/5"
    with Daemon(env, tmp_path / "daemon.log"):
        watcher.wait_for("eb/status", timeout=120)
        for number, (text, topic, payload) in enumerate([
            ("turn on the living room dimmer", f"{channel}/execute_action", "TURN_ON"),
            ("set the living room dimmer to 40 percent", f"{channel}/set/brightness", "40"),  # its scale is 100
            ("turn on the cooker fan", "kitchen/fan/cooker_fan/command", "ON"),
            ("set the cooker fan to 50 percent", "kitchen/fan/cooker_fan/speed_level/command", "2"),  # speeds 1-4
        ], 1):
            watcher.publish("eb/text", json.dumps({"text": text, "id": f"d{number}"}))
            results = [json.loads(s.payload) for s in watcher.wait_for("eb/result", number, timeout=60)]
            assert results[-1]["status"] == "routed", results[-1]
            assert watcher.wait_for(topic, 1, timeout=30)[-1].text == payload, text


def test_imported_devices_states_are_followed_and_asked_for(tmp_path, broker, watcher):
    from dataclasses import replace

    from edgebrain.app.service import Service
    from edgebrain.base.config import RegistrySettings
    from edgebrain.devices.sources import load_home
    from edgebrain.understand.engine import Understander
    from tests.broker import service_settings, until
    from tests.fakes import ScriptedBackend

    _retain_z2m(watcher)
    settings = replace(service_settings(tmp_path / "state", broker.port),
                       registry=RegistrySettings(("zigbee2mqtt",), "zigbee2mqtt", 10.0))
    home = load_home(settings)
    service = Service(settings, home.registry, Understander(home.registry, ScriptedBackend({})), home=home)
    service.start()
    try:
        # zigbee2mqtt does not retain states: on connecting, each device is asked for what it answers.
        asked = watcher.wait_for("zigbee2mqtt/bulb/get", timeout=30)
        assert json.loads(asked[0].payload) == {"state": "", "brightness": ""}
        assert json.loads(watcher.wait_for("zigbee2mqtt/Window shutter/get", timeout=30)[0].payload) == \
            {"position": ""}
        watcher.publish("zigbee2mqtt/bulb", json.dumps({"state": "ON", "brightness": 127, "linkquality": 80}))
        watcher.publish("zigbee2mqtt/Moes switch double", json.dumps({"state_l1": "OFF", "state_l2": "ON"}))
        states = service.router.states
        assert states is not None
        until(lambda: states.get("moes_switch_double_l2") is not None, 30, lambda: "the switch's state")
        until(lambda: states.get("bulb") is not None, 30, lambda: "the bulb's state")
        bulb = states.get("bulb")
        assert bulb is not None and (bulb.on, bulb.value) == (True, 50)
        assert [(s.on, s.value) for s in (states.get("moes_switch_double_l1"), states.get("moes_switch_double_l2"))
                if s is not None] == [(False, None), (True, None)]
        watcher.publish("zigbee2mqtt/bulb", b"{not json")  # a broken state is logged and changes nothing
        watcher.publish("zigbee2mqtt/bulb", json.dumps({"state": "OFF"}))
        until(lambda: (s := states.get("bulb")) is not None and s.on is False, 30, lambda: "the bulb off")
    finally:
        service.close()


def test_a_device_joining_leaving_or_renamed_changes_the_home_without_a_restart(tmp_path, broker, watcher,
                                                                                 understander):
    from dataclasses import replace

    from edgebrain.app.service import Service
    from edgebrain.base.config import RegistrySettings
    from edgebrain.devices.sources import load_home
    from tests.broker import service_settings, until

    _retain_z2m(watcher)
    settings = replace(service_settings(tmp_path / "state", broker.port),
                       registry=RegistrySettings(("zigbee2mqtt",), "zigbee2mqtt", 10.0))
    home = load_home(settings)
    service = Service(settings, home.registry, understander.with_registry(home.registry), home=home,
                      reread=understander.with_registry)
    service.start()
    try:
        entries = json.loads((DATA / "z2m_bridge_devices.json").read_bytes())
        plug = next(e for e in entries if e["friendly_name"] == "power_plug")
        changed = [{**e, "friendly_name": "office/desk bulb"} if e["friendly_name"] == "bulb" else e
                   for e in entries if e is not plug]  # the bulb renamed, the plug gone ...
        changed.append({**plug, "friendly_name": "garage/plug", "ieee_address": "0x00124b0022aabbcc"})  # ... a new one
        watcher.publish("zigbee2mqtt/bridge/devices", json.dumps(changed), retain=True)
        # The swap ends with the time of the change: wait for that, not for its first step.
        until(lambda: service.registry_changed_at is not None, 30, lambda: "the changed home taken")
        registry = service.router.registry
        assert registry.get("desk_bulb") is not None and registry.get("desk_bulb").room == "office"
        assert registry.get("bulb") is None and registry.get("power_plug") is None
        assert registry.get("plug") is not None and registry.get("plug").room == "garage"
        assert "changed on the broker at" in service.health()["registry"]
        watcher.publish("eb/text", json.dumps({"text": "turn on the desk bulb", "id": "after"}))
        result = json.loads(watcher.wait_for("eb/result", timeout=60)[0].payload)
        assert result["status"] == "routed" and result["commands"] == [{"device": "desk_bulb", "action": "on"}]
        sent = watcher.wait_for("zigbee2mqtt/office/desk bulb/set", timeout=30)
        assert json.loads(sent[0].payload) == {"state": "ON"}
        watcher.publish("zigbee2mqtt/garage/plug", json.dumps({"state": "ON"}))  # a new device's state is followed
        states = service.router.states
        assert states is not None
        until(lambda: (s := states.get("plug")) is not None and s.on is True, 30, lambda: "the new plug's state")
    finally:
        service.close()


def test_doctor_counts_the_imported_home_and_says_when_it_last_changed(home_env, watcher, tmp_path):
    import re

    from edgebrain.app.health import note_registry_changed

    _retain_z2m(watcher)
    note_registry_changed(Path(home_env["EDGEBRAIN_STATE_DIR"]), 14)  # what the daemon notes when it takes one
    done = subprocess.run([sys.executable, "-m", "edgebrain", "doctor"], env=home_env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert re.search(r"^ok   registry: 15 devices, 15 with a route; 15 imported from zigbee2mqtt, 9 without a room, "
                     r"9 skipped \(edgebrain devices\); the daemon last took a home changed on the broker at "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d, 14 devices$", done.stdout, re.M), done.stdout
