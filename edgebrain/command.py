"""The Command message and its check: JSON schema first, then the registry."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from .errors import CommandError
from .registry import Registry
from .schemas import describe, load_schema


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


def check(command: Command | dict[str, Any], registry: Registry) -> Command:
    """Validate a command by the schema and the registry; return it or raise CommandError."""
    data = command.to_dict() if isinstance(command, Command) else command
    checked = Command.from_dict(data)
    device = registry.get(checked.device)
    if device is None:
        raise CommandError(f"unknown device {checked.device!r}: not in the registry")
    _validate(_type_validator(device.type), data, f"device {device.id!r} ({device.type})")
    return checked
