"""Spoken replies, built in code from the commands, in the language of the request."""

from __future__ import annotations

import pytest

from edgebrain.core.messages import Result
from edgebrain.core.reply import reply_text
from edgebrain.devices.command import Command


@pytest.mark.parametrize(("text", "commands", "reply"), [
    ("turn on the bedroom light", [Command("bedroom_light", "on")], "Turned on the bedroom light."),
    ("kitchen lights off at 11pm", [Command("kitchen_light", "off", None, "23:00"),
                                    Command("kitchen_counter_light", "off", None, "23:00")],
     "The kitchen light and the kitchen counter light will turn off at 23:00."),
    ("set the bedroom AC to 24", [Command("bedroom_ac", "set", 24)], "Set the bedroom air conditioner to 24 °C."),
    ("dim the bedroom light to 30 percent", [Command("bedroom_light", "set", 30)], "Set the bedroom light to 30 %."),
    ("open the curtains", [Command("living_room_curtains", "open")], "Opened the living room curtains."),
    ("客厅空调调到26度", [Command("living_room_ac", "set", 26)], "客厅空调已调到26度。"),
    ("晚上八点开空调", [Command("living_room_ac", "on", None, "20:00")], "客厅空调将在20:00打开。"),
    ("关掉卧室灯和风扇", [Command("bedroom_light", "off"), Command("bedroom_fan", "off")], "已关闭卧室灯和电风扇。"),
])
def test_what_was_done_is_said(registry, text, commands, reply):
    assert reply_text(Result("r", text, tuple(commands)), registry) == reply


def test_nothing_and_refusals_are_said_too(registry):
    nothing = "Nothing to do: that is not a request for a device here."
    assert reply_text(Result("r", "tell me a joke"), registry) == nothing
    assert reply_text(Result("r", "讲个笑话"), registry) == "没有要做的事：这不是对这里设备的请求。"
    why = "the value 1000 is out of range: bedroom_ac takes 16-30"
    refused = Result("r", "set the bedroom AC to 1000", errors=(why,))
    assert reply_text(refused, registry) == f"Could not do it: {why}."
