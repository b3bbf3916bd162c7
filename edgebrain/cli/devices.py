"""``edgebrain devices``: the registry as the sources make it, why each imported device got its type, room
and names, and what was skipped and why."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from edgebrain.cli.options import add_config_arg, settings_of

if TYPE_CHECKING:
    from edgebrain.devices.home import Home
    from edgebrain.devices.registry import Device


def _names(device: Device) -> str:
    return ", ".join(repr(n) for n in (device.name, *device.aliases))


def report(home: Home) -> dict[str, Any]:
    """The registry and its import as JSON: every device, what was skipped, and notes."""
    rows = {r.device.id: r for r in home.rows}
    devices = []
    for device in home.registry:
        row = rows.get(device.id)
        devices.append({"id": device.id, "type": device.type, "name": device.name, "aliases": list(device.aliases),
                        "room": device.room, "source": device.source,
                        **({"key": row.key, "why": list(row.why), "room_note": row.room_note,
                            "state_topic": row.state_topic} if row else {})})
    return {"devices": devices, "skipped": [{"key": s.key, "reason": s.reason} for s in home.skipped],
            "notes": list(home.notes)}


def cmd_devices(args: argparse.Namespace) -> int:
    """Print the registry the configured sources make, and how each imported device was read."""
    from edgebrain.devices.sources import load_home

    home = load_home(settings_of(args))
    if args.json:
        print(json.dumps(report(home), ensure_ascii=False))
        return 0
    rows = {r.device.id: r for r in home.rows}
    by_source: dict[str, int] = {}
    for device in home.registry:
        source = device.source if device.id in rows else "the devices folder"
        by_source[source] = by_source.get(source, 0) + 1
    print(f"{len(home.registry)} devices ({', '.join(f'{n} from {s}' for s, n in by_source.items())}); "
          f"{len(home.unsure_rooms())} imported without a room; {len(home.skipped)} skipped")
    for device in home.registry:
        row = rows.get(device.id)
        print(f"\n{device.id}  {device.type}  room {device.room or '-'}  names {_names(device)}")
        if row is None:
            print(f"    from {device.source}")
            continue
        print(f"    {device.source} {row.key!r}")
        for line in (*row.why, row.room_note):
            print(f"    {line}")
    if home.skipped:
        print("\nskipped:")
        for skipped in home.skipped:
            print(f"  {skipped.key}: {skipped.reason}")
    for note in home.notes:
        print(f"\nnote: {note}")
    return 0


def add_parsers(sub: Any) -> None:
    """The ``devices`` command."""
    devices = sub.add_parser("devices", help="the registry the sources make (YAML, zigbee2mqtt, MQTT discovery), "
                             "why each imported device got its type, room and names, and what was skipped")
    add_config_arg(devices)
    devices.add_argument("--json", action="store_true", help="print JSON")
    devices.set_defaults(func=cmd_devices)
