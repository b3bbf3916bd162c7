"""The Command message and its check: JSON schema first, then the registry."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import jsonschema

from edgebrain.base.errors import CommandError
from edgebrain.base.schemas import describe, load_schema
from edgebrain.devices.registry import Registry


@dataclass(frozen=True)
class Command:
    """One action on one registry device, now (time None) or at local time HH:MM."""

    device: str
    action: str
    value: float | int | None = None
    time: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; value and time appear only when set."""
        out: dict[str, Any] = {"device": self.device, "action": self.action}
        if self.value is not None:
            out["value"] = self.value
        if self.time is not None:
            out["time"] = self.time
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Command:
        """Build a command from decoded JSON after checking it against the command schema."""
        _validate(_base_validator(), data)
        return cls(data["device"], data["action"], data.get("value"), data.get("time"))


@cache
def _base_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema("command"))


@cache
def _type_validator(device_type: str) -> jsonschema.Draft202012Validator:
    schema = load_schema("command")
    return jsonschema.Draft202012Validator(schema["$defs"]["types"][device_type])


def _validate(validator: jsonschema.Draft202012Validator, data: Any, context: str = "") -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise CommandError(f"{context}: {describe(error)}" if context else describe(error))


@cache
def _device_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema("command")["properties"]["device"])


@lru_cache(maxsize=4096)
def _id_valid(device_id: str) -> bool:
    return _device_validator().is_valid(device_id)


@lru_cache(maxsize=4096)
def _shape_valid(device_type: str, action: str, value: float | int | None, kind: str, time: str | None) -> bool:
    """Whether a command of this shape passes the command schema and its type's, for a valid id."""
    data = Command("device", action, value, time).to_dict()
    return _base_validator().is_valid(data) and _type_validator(device_type).is_valid(data)


def check(command: Command | dict[str, Any], registry: Registry) -> Command:
    """Validate a command by the schema and the registry; return it or raise CommandError."""
    if isinstance(command, Command) and (device := registry.get(command.device)) is not None:
        # The schema says nothing of the device but its own property: a group's hundred commands differ
        # only in their ids, so each id and each shape is validated once (a failure is described below).
        kind = type(command.value).__name__
        if _id_valid(command.device) and _shape_valid(device.type, command.action, command.value, kind, command.time):
            return command
    data = command.to_dict() if isinstance(command, Command) else command
    checked = Command.from_dict(data)
    device = registry.get(checked.device)
    if device is None:
        raise CommandError(f"unknown device {checked.device!r}: not in the registry")
    _validate(_type_validator(device.type), data, f"device {device.id!r} ({device.type})")
    return checked
