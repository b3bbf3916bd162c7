"""A short spoken reply for every result, in the language of the request, built in code from the
commands (never by the model): "Turned on the bedroom light.", "客厅空调已调到26度。"."""

from __future__ import annotations

import re
from collections.abc import Sequence

from edgebrain.base.reasons import in_chinese
from edgebrain.base.schemas import room_synonyms, type_value_unit
from edgebrain.core.messages import Result
from edgebrain.devices.command import Command
from edgebrain.devices.registry import Device, Registry

_CJK = re.compile(r"[\u3400-\u9fff]")

# What was done (now) and what will be done (at {t}), by action; {v} is the value with its unit.
_EN_NOW = {"on": "Turned on {d}.", "off": "Turned off {d}.", "toggle": "Switched {d}.", "open": "Opened {d}.",
           "close": "Closed {d}.", "set": "Set {d} to {v}.", "increase": "Turned up {d}.",
           "decrease": "Turned down {d}."}
_EN_LATER = {"on": "{D} will turn on at {t}.", "off": "{D} will turn off at {t}.",
             "toggle": "{D} will switch at {t}.", "open": "{D} will open at {t}.", "close": "{D} will close at {t}.",
             "set": "{D} will be set to {v} at {t}.", "increase": "{D} will turn up at {t}.",
             "decrease": "{D} will turn down at {t}."}
_ZH_NOW = {"on": "已打开{d}。", "off": "已关闭{d}。", "toggle": "已切换{d}。", "open": "已打开{d}。",
           "close": "已关闭{d}。", "set": "{d}已调到{v}。", "increase": "已调高{d}。", "decrease": "已调低{d}。"}
_ZH_LATER = {"on": "{d}将在{t}打开。", "off": "{d}将在{t}关闭。", "toggle": "{d}将在{t}切换。",
             "open": "{d}将在{t}打开。", "close": "{d}将在{t}关闭。", "set": "{d}将在{t}调到{v}。",
             "increase": "{d}将在{t}调高。", "decrease": "{d}将在{t}调低。"}
_ZH_UNITS = {"°C": "度", "%": "%", "% open": "%"}
_EN_NOTHING = "Nothing to do: that is not a request for a device here."
_ZH_NOTHING = "没有要做的事：这不是对这里设备的请求。"
_EN_MISSED, _ZH_MISSED = "A timed command was missed.", "错过了一条定时命令。"


def chinese(text: str) -> bool:
    """True when the request is in Chinese."""
    return bool(_CJK.search(text))


def chinese_name(device: Device) -> str:
    """A device's name in Chinese: its first Chinese alias, else its name."""
    return device.chinese_name


def chinese_room(room: str) -> str:
    """A room in Chinese: the Chinese word of its synonym set ("living room" is 客厅), else as written."""
    folded = room.lower()
    for words in room_synonyms():
        if folded in (w.lower() for w in words):
            return next((w for w in words if chinese(w)), room)
    return room


def _name(device: Device | None, device_id: str, zh: bool) -> str:
    if device is None:
        return device_id
    if zh:
        return chinese_name(device)
    return f"the {device.name.lower()}" if device.name[:1].isupper() and not device.name.isupper() else device.name


def said_value(number: float | int | None, unit: str, zh: bool) -> str:
    """A value with its unit as said: "26 °C", "40 %", 26度."""
    value = f"{number:g}" if isinstance(number, float) else str(number)
    if zh:
        return value + _ZH_UNITS.get(unit, unit)
    return f"{value} °C" if unit == "°C" else f"{value} %" if unit.startswith("%") else value


def _value(command: Command, device: Device | None, zh: bool) -> str:
    return said_value(command.value, type_value_unit(device.type) if device else "", zh)


def join_names(names: Sequence[str], zh: bool) -> str:
    """Names joined as said: "a, b and c", a、b和c."""
    if len(names) <= 1:
        return names[0] if names else ""
    return "、".join(names[:-1]) + "和" + names[-1] if zh else ", ".join(names[:-1]) + " and " + names[-1]


def reply_text(result: Result, registry: Registry) -> str:
    """The reply to a request: what was done or will be done, or why nothing was."""
    zh = chinese(result.text)
    if result.clarify is not None:
        return clarify_text(result.clarify, registry, zh)
    if result.errors:
        if zh:
            return "没能做到：" + "；".join(dict.fromkeys(in_chinese(e) for e in result.errors)) + "。"
        return "Could not do it: " + "; ".join(result.errors) + "."
    if result.missed:
        return _ZH_MISSED if zh else _EN_MISSED
    if not result.commands:
        return _ZH_NOTHING if zh else _EN_NOTHING
    # One sentence per (action, value, time), naming every device it applies to.
    groups: dict[tuple[str, str, str | None], list[str]] = {}
    for command in result.commands:
        device = registry.get(command.device)
        key = (command.action, _value(command, device, zh) if command.value is not None else "", command.time)
        groups.setdefault(key, []).append(_name(device, command.device, zh))
    sentences = []
    for (action, value, at), names in groups.items():
        template = (_ZH_LATER if at else _ZH_NOW)[action] if zh else (_EN_LATER if at else _EN_NOW)[action]
        who = join_names(names, zh)
        sentences.append(template.format(d=who, D=who[:1].upper() + who[1:], v=value, t=at))
    return ("" if zh else " ").join(sentences)


def clarify_text(choices: Sequence[Sequence[str]], registry: Registry, zh: bool) -> str:
    """The question back when a request could mean several things, or refers to nothing said before."""
    if not choices:
        return "你说的是哪个设备？" if zh else "Which device do you mean?"
    said = [join_names([_name(registry.get(d), d, zh) for d in group], zh) for group in choices]
    if zh:
        return "你是说" + "还是".join(said) + "？"
    return "Which do you mean: " + ", ".join(said[:-1]) + " or " + said[-1] + "?"
