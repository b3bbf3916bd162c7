"""The registry loader refuses what breaks the schema, naming the file, the device and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebrain.base.errors import EdgebrainError, RegistryError
from edgebrain.base.schemas import device_types, load_schema
from edgebrain.devices.registry import load_registry


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_registry_has_the_promised_devices(registry):
    kinds = [d.type for d in registry]
    assert {d.room for d in registry} == {"living room", "bedroom", "kitchen"}
    assert kinds.count("ac") == 2 and "humidifier" in kinds and "fan" in kinds and "switch" in kinds
    assert any(any(not a.isascii() for a in d.aliases) for d in registry)


def test_groups_expand_to_every_matching_device(registry):
    assert [d.id for d in registry.target("kitchen_lights").members] == ["kitchen_light", "kitchen_counter_light"]
    assert {d.id for d in registry.target("all_acs").members} == {"living_room_ac", "bedroom_ac"}
    everything = registry.target("everything")
    assert "living_room_curtains" not in {d.id for d in everything.members}  # curtains take no on/off
    assert everything.actions == ("on", "off")
    assert registry.target("all_lights").value_range() == (0, 100)


def test_type_lists_agree_between_schemas():
    device_enum = load_schema("devices")["$defs"]["device"]["properties"]["type"]["enum"]
    assert sorted(device_enum) == sorted(device_types())


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("devices:\n  - {id: lamp, type: toaster, name: Lamp}\n", "'toaster' is not one of"),
        ("devices:\n  - {id: Lamp-1, type: light, name: Lamp}\n", "does not match"),
        ("devices:\n  - {id: lamp, type: light}\n", "'name' is a required property"),
        ("devices:\n  - {id: lamp, type: light, name: L, mqtt: {topic: a/#}}\n", "does not match"),
        ("devices:\n  - {id: lamp, type: light, name: L, gpio: {pin: 99}}\n", "greater than the maximum"),
        ("devices: [\n", "not valid YAML"),
        ("- just a list\n", "is not of type 'object'"),
    ],
)
def test_bad_registry_files_are_refused_with_file_and_problem(tmp_path, text, needle):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(RegistryError) as caught:
        load_registry(tmp_path)
    assert str(path) in str(caught.value)
    assert needle in str(caught.value)
    assert isinstance(caught.value, EdgebrainError) and isinstance(caught.value, ValueError)


def test_bad_device_is_named(tmp_path):
    write(tmp_path, "a.yaml", "devices:\n  - {id: ok, type: light, name: A}\n  - {id: heater, type: heater, name: H}\n")
    with pytest.raises(RegistryError, match=r"a\.yaml: device 'heater' \(item 2\)"):
        load_registry(tmp_path)


def test_duplicate_ids_across_files_are_refused(tmp_path):
    write(tmp_path, "a.yaml", "devices:\n  - {id: lamp, type: light, name: A}\n")
    write(tmp_path, "b.yaml", "devices:\n  - {id: lamp, type: light, name: B}\n")
    with pytest.raises(RegistryError, match=r"b\.yaml: device 'lamp': duplicate id, already defined in .*a\.yaml"):
        load_registry(tmp_path)


def test_missing_folder_empty_folder_and_binary_file(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "nope")
    with pytest.raises(RegistryError, match=r"no \*\.yaml"):
        load_registry(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RegistryError, match="not UTF-8"):
        load_registry(tmp_path)
