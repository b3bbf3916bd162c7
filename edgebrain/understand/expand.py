"""From the decoded lines to device commands: groups expanded, each command checked, one per device and moment."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from edgebrain.base.errors import CommandError
from edgebrain.devices.command import Command, check
from edgebrain.devices.registry import Registry, Target
from edgebrain.understand.model.grammar import Line

log = logging.getLogger(__name__)


def checked_commands(registry: Registry, lines: Sequence[tuple[Line, str | None]]
                     ) -> tuple[tuple[Command, ...], tuple[str, ...]]:
    """Each device command of the decoded lines once, checked, at most one per device and moment;
    and why any was dropped."""
    chosen: dict[tuple[str, str | None], tuple[tuple[int, int], Command]] = {}
    rejected: list[str] = []
    for index, (line, at) in enumerate(lines):
        target = registry.target(line.target)
        value = line.value if line.action == "set" else None
        # One device gets one action at one moment (on and off at once is no command): a line naming
        # the device alone outranks a group that holds it, and of two alike the later line is the
        # word the user settled on ("the fan is off and it's stifling": on).
        rank = (0 if target.is_group else 1, index)
        for device in target.expand(line.action):
            try:
                checked = check(Command(device.id, line.action, value, at), registry)
            except CommandError as exc:  # the grammar should make this impossible; never route it
                log.warning("dropped a command that failed the check: %s", exc)
                rejected.append(str(exc))
                continue
            key = (device.id, at)
            if key not in chosen or chosen[key][0] <= rank:
                if key in chosen and chosen[key][1] != checked:
                    log.info("two commands for %s at one moment: kept %s", device.id, checked.action)
                chosen[key] = (rank, checked)
    order = sorted(chosen.values(), key=lambda item: item[0][1])
    return tuple(command for _, command in order), tuple(rejected)


def repeated(registry: Registry, targets: Sequence[Target], action: str, value: float | None, at: str | None,
             kinds: frozenset[str]) -> tuple[tuple[Command, ...], tuple[str, ...]]:
    """A previous turn's action (and value) for each device of ``targets`` at ``at``, checked; and why any
    could not be. A value means something only to its own ``kinds``: "the fan too" after setting the AC to
    22 is refused, never sent as 22 %."""
    commands: list[Command] = []
    rejected: list[str] = []
    for target in targets:
        for device in target.members:
            if action == "set" and device.type not in kinds:
                rejected.append(f"{device.id}: a {device.type} takes no value of another kind of device ({value})")
                continue
            try:
                commands.append(check(Command(device.id, action, value if action == "set" else None, at), registry))
            except CommandError as exc:
                rejected.append(str(exc))
    unique = tuple(dict.fromkeys(commands))
    return unique, () if unique else tuple(rejected)
