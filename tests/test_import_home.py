"""The home from every source: rooms decided from what the sources suggest (never guessed when they
disagree), the YAML overlay over imported devices, ids kept unique."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebrain.base.errors import RegistryError
from edgebrain.devices.found import Skipped
from edgebrain.devices.home import _known_rooms, assemble, decide_room
from edgebrain.devices.registry import Device, load_folder
from edgebrain.devices.zigbee2mqtt import read_zigbee2mqtt

DATA = Path(__file__).parent / "data" / "import"
IMPORTED = read_zigbee2mqtt((DATA / "z2m_bridge_devices.json").read_bytes(),
                            (DATA / "z2m_bridge_groups.json").read_bytes())
YAML = [Device("hall_light", "light", "Hall light", "hallway", source="devices/home.yaml")]
KNOWN = _known_rooms(YAML, IMPORTED.found)


@pytest.mark.parametrize(("hints", "room", "note"), [
    ([("living room", "friendly name 'living_room/ceiling'"), ("all lights", "zigbee2mqtt group 'all_lights'"),
      ("living room", "zigbee2mqtt group 'living_room'")],
     "living room", "room 'living room': from friendly name 'living_room/ceiling', zigbee2mqtt group 'living_room'"),
    ([("Lounge", "suggested_area of device 'Lamp'"), ("living room", "zigbee2mqtt group 'living_room'")],
     "Lounge", "room 'Lounge': from suggested_area of device 'Lamp', zigbee2mqtt group 'living_room'"),
    ([("客厅", "suggested_area of device 'x'")], "客厅", "room '客厅': from suggested_area of device 'x'"),
    ([("Lamp in the kitchen", "description")], "kitchen", "room 'kitchen': from description"),
    ([("hallway", "zigbee2mqtt group 'hallway'")], "hallway", "room 'hallway': from zigbee2mqtt group 'hallway'"),
    ([("kitchen", "friendly name 'kitchen/lamp'"), ("bedroom", "zigbee2mqtt group 'bedroom'")], None,
     "room unsure: 'kitchen' (friendly name 'kitchen/lamp'); 'bedroom' (zigbee2mqtt group 'bedroom'); "
     "set it in the overlay"),
    ([("hue lights", "zigbee2mqtt group 'hue lights'"), ("this is my bulb", "description")], None,
     "no room: nothing it came with names one; set it in the overlay"),
    ([], None, "no room: nothing it came with names one; set it in the overlay"),
])
def test_a_room_is_taken_only_where_the_sources_agree(hints, room, note):
    assert decide_room(hints, KNOWN) == (room, note)


def test_the_overlay_names_translates_moves_retypes_and_excludes():
    overlay = {
        "bulb": ({"name": "Desk lamp", "aliases": ["台灯"], "room": "study"}, "devices/overlay.yaml"),
        "power_plug": ({"type": "switch", "name": "Kettle"}, "devices/overlay.yaml"),
        "hue_back_tv": ({"exclude": True}, "devices/overlay.yaml"),
        "0x0017880103d55d65": ({"id": "hall_spot", "name": "Hall spot", "room": "hallway"}, "devices/overlay.yaml"),
        "not_there": ({"name": "Ghost"}, "devices/overlay.yaml"),
    }
    home = assemble(YAML, overlay, IMPORTED)
    registry = home.registry
    desk = registry.get("bulb")
    assert (desk.name, desk.aliases, desk.room) == ("Desk lamp", ("台灯",), "study")
    assert registry.get("hue_back_tv") is None
    assert Skipped("hue_back_tv", "excluded by the overlay in devices/overlay.yaml") in home.skipped
    spot = registry.get("hall_spot")
    assert (spot.name, spot.room, spot.mqtt["topic"]) == ("Hall spot", "hallway",
                                                          "zigbee2mqtt/0x0017880103d55d65/set")
    assert home.notes == ("the overlay for 'not_there' (devices/overlay.yaml) matches no imported device",)
    row = next(r for r in home.rows if r.key == "bulb")
    assert row.room_note == "room 'study': from the overlay in devices/overlay.yaml"
    assert "name 'Desk lamp': from the overlay in devices/overlay.yaml" in row.why
    assert registry.devices[0].id == "hall_light"  # the YAML devices come first
    ceiling = registry.get("ceiling")
    assert ceiling.room == "living room"
    unsure = {r.key for r in home.unsure_rooms()}
    assert "bulb" not in unsure and "Kitchen Light" in unsure


def test_a_group_with_a_name_of_its_own_is_a_target_and_kinds_and_rooms_reach_each_device_once():
    home = assemble(YAML, {}, IMPORTED)
    registry = home.registry
    assert registry.target("hue_lights").member_ids == {"hue_lights"}
    assert registry.get("hue_lights").members == ("hue1", "hue_back_tv", "d_0x0017880103d55d65")
    assert "hue_lights" not in registry.target("all_lights").member_ids
    assert {"hue1", "hue_back_tv", "bulb"} <= registry.target("all_lights").member_ids
    assert "hue_lights" not in registry.target("everything").member_ids
    reason = ("a group named only by room or kind words: requests for those reach its members; "
              "name it in the overlay to make it a target")
    assert [s for s in home.skipped if s.reason == reason] == [
        Skipped(key, reason) for key in ("all_lights", "Switches", "living_room")]
    assert "hue lights" not in {r.key for r in home.unsure_rooms()}
    # Named in the overlay, a group named like a room is a target too.
    named = assemble(YAML, {"living_room": ({"name": "Sofa corner"}, "devices/overlay.yaml")}, IMPORTED)
    assert named.registry.get("living_room").name == "Sofa corner"


def test_ids_collide_only_by_the_overlays_choice():
    yaml = [Device("bulb", "light", "Bulb", source="devices/home.yaml")]
    home = assemble(yaml, {}, IMPORTED)
    row = next(r for r in home.rows if r.key == "bulb")
    assert row.device.id == "bulb_2" and "id 'bulb_2': 'bulb' is already a device of devices/home.yaml" in row.why
    with pytest.raises(RegistryError, match=r"overlay 'power_plug' .*: id 'bulb' is already a device of"):
        assemble(yaml, {"power_plug": ({"id": "bulb"}, "devices/overlay.yaml")}, IMPORTED)


def test_a_yaml_folder_may_hold_only_an_overlay(tmp_path):
    (tmp_path / "overlay.yaml").write_text("overlay:\n  bulb: {name: Desk lamp, aliases: [台灯]}\n"
                                           "  hue1: {exclude: true}\n", encoding="utf-8")
    devices, overlay = load_folder(tmp_path)
    assert devices == [] and overlay == {
        "bulb": ({"name": "Desk lamp", "aliases": ["台灯"]}, str(tmp_path / "overlay.yaml")),
        "hue1": ({"exclude": True}, str(tmp_path / "overlay.yaml"))}
    (tmp_path / "bad.yaml").write_text("overlay:\n  bulb: {colour: red}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"bad.yaml: overlay 'bulb': .*colour"):
        load_folder(tmp_path)


def test_a_home_whose_devices_cannot_be_reached_is_refused():
    from edgebrain.base.errors import ConfigError
    from edgebrain.devices.registry import Registry
    from edgebrain.devices.router import Router

    router = Router(Registry(YAML), prefix="eb")  # no broker: only devices without an MQTT route
    imported = assemble(YAML, {}, IMPORTED).registry
    with pytest.raises(ConfigError, match=r"bulb is routed over MQTT, but mqtt\.enabled is false"):
        router.use(imported)
    assert router.registry.get("bulb") is None and router.registry.get("hall_light") is not None
