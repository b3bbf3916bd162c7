"""Access to the JSON schemas under schemas/, the single source of truth for commands and devices."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return a data folder shipped with edgebrain (``schemas`` or ``devices``)."""
    # Installed wheels carry the folders inside the package; a source checkout keeps them at the top.
    for candidate in (_HERE / "_data" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"edgebrain data folder {name!r} is missing from the installation")


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
