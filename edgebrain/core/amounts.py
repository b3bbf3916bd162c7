"""A change by an amount ("two degrees warmer", 调高两度) made from the state edgebrain knows: the value the
device last said, moved by the amount, set; without a fresh value, one step as any increase is."""

from __future__ import annotations

import time
from collections.abc import Mapping

from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command, check
from edgebrain.devices.registry import Registry
from edgebrain.devices.state import DeviceState


def by_amount(commands: tuple[Command, ...], amount: float, known: Mapping[str, DeviceState],
              registry: Registry, stale_s: float, now: float | None = None) -> tuple[tuple[Command, ...], list[str]]:
    """The commands with each increase or decrease by ``amount`` made a checked set from the device's known
    value; and why one could not be (the new value out of the device's range: nothing is clamped)."""
    now = time.time() if now is None else now
    made: list[Command] = []
    refused: list[str] = []
    for command in commands:
        device = registry.get(command.device)
        span = device.value_range if device is not None else None
        if command.action in ("increase", "decrease") and span is not None and amount > span[1] - span[0]:
            # "Up by 1000 degrees" fits no value the device takes, whatever it is at now.
            refused.append(f"{command.device} takes {span[0]}-{span[1]}: {amount:g} is more than its whole range")
            continue
        state = known.get(command.device)
        if command.action not in ("increase", "decrease") or state is None or state.value is None \
                or not state.fresh(now, stale_s):
            made.append(command)
            continue
        target = state.value + (amount if command.action == "increase" else -amount)
        value = int(target) if float(target).is_integer() else round(target, 1)
        try:
            made.append(check(Command(command.device, "set", value, command.time), registry))
        except CommandError as exc:
            refused.append(str(exc))
    return tuple(made), refused
