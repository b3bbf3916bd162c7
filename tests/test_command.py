"""Every command is checked by the JSON schema and then against the registry."""

from __future__ import annotations

import pytest

from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command, check


@pytest.mark.parametrize(
    "data",
    [
        {"device": "bedroom_ac", "action": "set", "value": 24, "time": "20:00"},
        {"device": "kitchen_plug", "action": "toggle"},
        {"device": "living_room_curtains", "action": "set", "value": 0},
        {"device": "living_room_humidifier", "action": "on", "value": None, "time": None},
    ],
)
def test_valid_commands_pass(registry, data):
    command = check(data, registry)
    assert command.device == data["device"] and command.action == data["action"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"device": "garage_door", "action": "on"}, "unknown device 'garage_door'"),
        ({"device": "bedroom_ac", "action": "toggle"}, "'toggle' is not one of"),
        ({"device": "bedroom_ac", "action": "set", "value": 40}, "40 is greater than the maximum of 30"),
        ({"device": "living_room_humidifier", "action": "set", "value": 10}, "less than the minimum of 30"),
        ({"device": "kitchen_plug", "action": "set", "value": 1}, "'set' is not one of"),
        ({"device": "bedroom_ac", "action": "on", "value": 3}, "is not of type 'null'"),
        ({"device": "bedroom_ac", "action": "set"}, "'value' is a required property"),
        ({"device": "bedroom_ac", "action": "on", "time": "7pm"}, "does not match"),
        ({"device": "bedroom_ac", "action": "on", "extra": 1}, "Additional properties"),
        ({"device": "bedroom_ac"}, "'action' is a required property"),
        ("turn on", "is not of type 'object'"),
    ],
)
def test_invalid_commands_are_refused(registry, data, needle):
    with pytest.raises(CommandError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        check(data, registry)


def test_to_dict_leaves_out_empty_fields():
    assert Command("a", "on").to_dict() == {"device": "a", "action": "on"}
    assert Command("a", "set", 5, "07:00").to_dict() == {"device": "a", "action": "set", "value": 5, "time": "07:00"}


@pytest.mark.parametrize("command", [
    Command("living_room_light", "set", 40),
    Command("living_room_light", "on", None, "07:30"),
    Command("living_room_light", "set", 101),  # out of the light's range
    Command("living_room_light", "on", 5),  # a value without set
    Command("living_room_light", "set"),  # set without a value
    Command("living_room_light", "open"),  # not a light's action
    Command("living_room_light", "on", None, "7:30"),  # not HH:MM
    Command("living_room_ac", "set", 40),  # in a light's range, not an AC's
    Command("living_room_ac", "set", True),  # not a number
    Command("kitchen_plug", "set", 1),
])
def test_a_command_object_is_checked_exactly_as_its_json(registry, command):
    # Commands of one shape are validated once (a group's hundred commands differ only in their ids):
    # the result must be the same as validating the JSON of each, every time.
    for _ in range(2):
        try:
            expected: Command | str = check(command.to_dict(), registry)
        except CommandError as exc:
            expected = str(exc)
        try:
            got: Command | str = check(command, registry)
        except CommandError as exc:
            got = str(exc)
        assert got == expected
