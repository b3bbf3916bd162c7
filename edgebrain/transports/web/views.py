"""What the console shows, as JSON-ready data: devices by room with their routes and states, and jobs."""

from __future__ import annotations

from typing import Any

from edgebrain.base.schemas import type_value_unit
from edgebrain.core.reply import chinese_name, chinese_room
from edgebrain.core.schedule import Schedule
from edgebrain.devices.registry import Registry
from edgebrain.devices.router import Router


def devices_view(registry: Registry, router: Router) -> list[dict[str, Any]]:
    """Every device, by room: type, route, actions, and its state (GPIO) or last command (MQTT)."""
    states: dict[str, Any] = {k: v.to_dict() for k, v in router.gpio.states().items()} \
        if router.gpio is not None else {}
    if router.states is not None:
        states.update({k: _said(v.to_dict()) for k, v in router.states.snapshot().items()})
    shown = []
    for device in sorted(registry, key=lambda d: (d.room or "", d.name)):
        route = f"MQTT {device.mqtt['topic']}" if device.mqtt else f"GPIO{device.gpio['pin']}" if device.gpio else "-"
        state = states.get(device.id)
        last = router.commanded.get(device.id)
        span = device.value_range if "set" in device.actions else None
        shown.append({"id": device.id, "name": device.name, "name_zh": chinese_name(device), "room": device.room or "",
                      "room_zh": chinese_room(device.room) if device.room else "",
                      "type": device.type,
                      "route": route, "actions": [a for a in device.actions if a != "set"],
                      "state": state, **({"range": list(span), "unit": type_value_unit(device.type)} if span else {}),
                      "last": {"action": last.action, "value": last.value} if last is not None else None})
    return shown


def _said(state: dict[str, Any]) -> dict[str, Any]:
    """An imported device's state in the page's terms: ON/OFF (or unknown), its level, and its age."""
    on = state["on"]
    return {"state": "ON" if on else "OFF" if on is False else "unknown",
            **({"level": state["value"]} if state["value"] is not None else {}), "age_s": state["age_s"]}


def jobs_view(schedule: Schedule) -> list[dict[str, Any]]:
    """The pending timed commands, soonest first."""
    return [job.to_dict() for job in schedule.jobs()]
