"""What the console shows, as JSON-ready data: devices by room with their routes and states, and jobs."""

from __future__ import annotations

from typing import Any

from edgebrain.core.reply import chinese_name
from edgebrain.core.schedule import Schedule
from edgebrain.devices.registry import Registry
from edgebrain.devices.router import Router


def devices_view(registry: Registry, router: Router) -> list[dict[str, Any]]:
    """Every device, by room: type, route, actions, and its state (GPIO) or last command (MQTT)."""
    states = router.gpio.states() if router.gpio is not None else {}
    shown = []
    for device in sorted(registry, key=lambda d: (d.room or "", d.name)):
        route = f"MQTT {device.mqtt['topic']}" if device.mqtt else f"GPIO{device.gpio['pin']}" if device.gpio else "-"
        state = states.get(device.id)
        last = router.last.get(device.id)
        shown.append({"id": device.id, "name": device.name, "name_zh": chinese_name(device), "room": device.room or "",
                      "type": device.type,
                      "route": route, "actions": [a for a in device.actions if a != "set"],
                      "state": state.to_dict() if state is not None else None,
                      "last": last.payload if last is not None else None})
    return shown


def jobs_view(schedule: Schedule) -> list[dict[str, Any]]:
    """The pending timed commands, soonest first."""
    return [job.to_dict() for job in schedule.jobs()]
