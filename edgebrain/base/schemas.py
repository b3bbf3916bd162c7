"""Access to the JSON schemas under schemas/, the single source of truth for commands and devices."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

_PACKAGE = Path(__file__).resolve().parents[1]  # edgebrain/, whose parent is a source checkout


def data_dir(name: str) -> Path:
    """Return a data folder shipped with edgebrain (``schemas``, ``devices``, ``systemd``, ``tests``)."""
    # Installed wheels carry the folders inside the package; a source checkout keeps them at the top.
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"edgebrain data folder {name!r} is missing from the installation")


def problems(schema: Mapping[str, Any], document: Any) -> list[jsonschema.ValidationError]:
    """Every way ``document`` breaks ``schema``, in document order."""
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(validator.iter_errors(document), key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])


def where(error: jsonschema.ValidationError, separator: str = "/") -> str:
    """The path of the value an error is about ("" for the whole document)."""
    return separator.join(str(p) for p in error.absolute_path)


def describe(error: jsonschema.ValidationError) -> str:
    """An error as one line: where, then what."""
    path = where(error)
    return f"{path}: {error.message}" if path else error.message


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load ``schemas/<name>.schema.json``."""
    path = data_dir("schemas") / f"{name}.schema.json"
    with path.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def device_types() -> dict[str, dict[str, Any]]:
    """Return the per-type fragments of the command schema, keyed by device type."""
    types: dict[str, dict[str, Any]] = load_schema("command")["$defs"]["types"]
    return types


def type_actions(device_type: str) -> tuple[str, ...]:
    """Return the actions a device type takes, in schema order."""
    return tuple(device_types()[device_type]["properties"]["action"]["enum"])


def type_range(device_type: str) -> tuple[int, int] | None:
    """Return the inclusive range of ``value`` for ``set`` on this type, or None if it has no set."""
    value = device_types()[device_type]["properties"].get("value")
    if value is None:
        return None
    return int(value["minimum"]), int(value["maximum"])


def type_value_meaning(device_type: str) -> str | None:
    """Return a short human description of ``value`` for this type, e.g. 'brightness %'."""
    extra = device_types()[device_type].get("x-value")
    if not extra:
        return None
    return f"{extra['meaning']} {extra['unit']}"


def type_value_unit(device_type: str) -> str:
    """Return the unit of ``value`` for this type ("%", "°C"), or "" when it takes no value."""
    return str(device_types()[device_type].get("x-value", {}).get("unit", ""))


def type_complaints(device_type: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """Return the complaints a type answers: words like "too dark", and the actions that answer them."""
    return tuple((tuple(c["words"]), tuple(c["actions"]))
                 for c in device_types()[device_type].get("x-complaints", ()))


def value_units() -> tuple[str, ...]:
    """Return the words that mark a number as a value ("percent", "度"), from the command schema."""
    return tuple(load_schema("command")["properties"]["value"].get("x-units", ()))


def action_words() -> dict[str, tuple[str, ...]]:
    """Return the words that ask for each action ("turn off", "关掉"), from the command schema."""
    words: dict[str, list[str]] = load_schema("command")["properties"]["action"].get("x-words", {})
    return {action: tuple(w) for action, w in words.items()}


def room_synonyms() -> tuple[tuple[str, ...], ...]:
    """Return the sets of words for one common room ("bedroom", "卧室"), from the registry schema."""
    room = load_schema("devices")["$defs"]["device"]["properties"]["room"]
    return tuple(tuple(words) for words in room.get("x-synonyms", ()))


def action_states() -> dict[str, tuple[str, ...]]:
    """Return the words that tell a state ("is on", "开着") rather than ask for an action, per action."""
    states: dict[str, Any] = load_schema("command")["properties"]["action"].get("x-states", {})
    return {action: tuple(words) for action, words in states.items() if action != "description"}


def value_extremes() -> dict[str, tuple[str, ...]]:
    """Return the words for the end of a range ("max", "拉满"), keyed "max" and "min"."""
    extremes: dict[str, Any] = load_schema("command")["properties"]["value"].get("x-extremes", {})
    return {end: tuple(extremes.get(end, ())) for end in ("max", "min")}


def type_extreme_actions(device_type: str) -> dict[str, str]:
    """Return the action a type takes for an end of its range instead of a set (covers: open, close)."""
    actions: dict[str, str] = device_types()[device_type].get("x-extremes", {})
    return actions


def unsupported_words() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the things and the actions no device type takes (locks, media; "unlock", "pause")."""
    unsupported: dict[str, Any] = load_schema("command").get("x-unsupported", {})
    return tuple(unsupported.get("things", ())), tuple(unsupported.get("actions", ()))


def group_words() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Return the words for every device ("everything", 所有设备), the quantifiers ("all", 都), and the
    phrases in which a quantifier word quantifies nothing ("all the way")."""
    groups: dict[str, Any] = load_schema("command").get("x-groups", {})
    return tuple(groups.get("everything", ())), tuple(groups.get("quantifiers", ())), tuple(groups.get("not", ()))


def type_same_actions(device_type: str) -> dict[str, str]:
    """Return actions of other types that mean one of this type's own (a cover: "on" is "open")."""
    same: dict[str, str] = device_types()[device_type].get("x-same", {})
    return same


def conversation_words() -> dict[str, tuple[str, ...]]:
    """Return the words of a conversation by class: one, many, again, here, not (see x-conversation)."""
    words: dict[str, Any] = load_schema("command").get("x-conversation", {})
    return {k: tuple(v) for k, v in words.items() if isinstance(v, list)}


def question_words() -> dict[str, tuple[str, ...]]:
    """Return the words that shape a question by class: which, how_many, all, any, value, on, off."""
    words: dict[str, Any] = load_schema("command").get("x-questions", {})
    return {k: tuple(v) for k, v in words.items() if isinstance(v, list)}


def type_name_zh(device_type: str) -> str:
    """Return a type's name in Chinese: its first Chinese word (空调 for ac), else its own name."""
    words = device_types()[device_type].get("x-words", ())
    return next((w for w in words if any("\u4e00" <= ch <= "\u9fff" for ch in w)), device_type)
