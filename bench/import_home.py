"""What importing a big home costs: N zigbee2mqtt devices retained on a real broker -> registry.

Starts its own Mosquitto on a free port, retains a ``bridge/devices`` of N devices built from the real
entries of tests/data/import (a light, a plug, a cover and a thermostat of zigbee2mqtt's own tests,
each room with its own friendly-name path), then measures: the import after the broker answers
(``load_home``), the understanding stage prepared for the new registry (``with_registry``), requests
against it (p50/p95 with the real model), a change on the broker until the daemon's registry has
switched, and peak RSS. Usage:

    .venv/bin/python bench/import_home.py [--devices 150]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebrain.app.service import Service  # noqa: E402
from edgebrain.base.config import RegistrySettings  # noqa: E402
from edgebrain.devices.sources import load_home  # noqa: E402
from edgebrain.evaluation.bench import percentile  # noqa: E402
from edgebrain.understand.loader import load_understander  # noqa: E402
from tests.broker import Broker, Watcher, service_settings, until  # noqa: E402

ROOMS = ("kitchen", "bedroom", "living_room", "study", "hallway", "bathroom", "dining_room", "garage", "attic",
         "office")
KINDS = {"bulb": "light", "power_plug": "plug", "Window shutter": "blind", "Moes thermo": "thermostat"}


def big_home(devices: int) -> list[dict[str, object]]:
    """``devices`` zigbee2mqtt entries: the real ones of tests/data/import, renamed room by room."""
    listed = json.loads((ROOT / "tests/data/import/z2m_bridge_devices.json").read_bytes())
    real = {e["friendly_name"]: e for e in listed}
    entries: list[dict[str, object]] = [real["Coordinator"]]
    for number in range(devices):
        source = list(KINDS)[number % len(KINDS)]
        room = ROOMS[(number // len(KINDS)) % len(ROOMS)]
        entries.append({**real[source], "friendly_name": f"{room}/{KINDS[source]} {number}",
                        "ieee_address": f"0x{number:016x}"})
    return entries


def main() -> int:
    """Import a big home from a real broker and print what it cost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(Path(folder))
        broker.start()
        watcher = Watcher(broker.port)
        try:
            entries = big_home(args.devices)
            watcher.publish("zigbee2mqtt/bridge/devices", json.dumps(entries), retain=True)
            watcher.flush()
            settings = replace(service_settings(Path(folder) / "state", broker.port),
                               registry=RegistrySettings(("zigbee2mqtt",), "zigbee2mqtt", 10.0))
            started = time.perf_counter()
            home = load_home(settings)
            import_s = time.perf_counter() - started
            from edgebrain.devices import sources

            look = sources.QUIET_S  # the import waits this long after the last retained message
            reader = load_understander(registry=home.registry)
            started = time.perf_counter()
            reader = reader.with_registry(home.registry)
            prepare_s = time.perf_counter() - started
            cases = []  # (text, the one command it must give)
            for number in range(0, args.devices, 4)[:30]:
                room = ROOMS[(number // 4) % len(ROOMS)]
                cases.append((f"turn on the {room.replace('_', ' ')} light {number}",
                              {"device": f"light_{number}", "action": "on"}))
            for number in range(3, args.devices, 4)[:10]:
                room = ROOMS[(number // 4) % len(ROOMS)]
                cases.append((f"set the {room.replace('_', ' ')} thermostat {number} to 21 degrees",
                              {"device": f"thermostat_{number}", "action": "set", "value": 21}))
            times, right = [], 0
            for text, expected in cases:
                result = reader.understand(text, "15:00")
                times.append(result.elapsed_ms)
                right += [c.to_dict() for c in result.commands] == [expected]
            service = Service(settings, home.registry, reader, home=home, reread=reader.with_registry)
            service.start()
            changed = [*entries[:-1], {**entries[-1], "friendly_name": "garage/new plug"}]
            started = time.perf_counter()
            watcher.publish("zigbee2mqtt/bridge/devices", json.dumps(changed), retain=True)
            until(lambda: service.router.registry.get("new_plug") is not None, 60, lambda: "the change")
            change_s = time.perf_counter() - started
            service.close()
        finally:
            watcher.close()
            broker.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(home.registry)} devices imported in {import_s:.2f} s after connecting "
          f"(of which {look:.1f} s waiting for the burst of retained messages to end); "
          f"{len(home.unsure_rooms())} without a room")
    print(f"understanding prepared for the registry in {prepare_s * 1000:.0f} ms (the prompt is the same)")
    print(f"{len(cases)} requests naming one device each: {right} right; p50 {percentile(times, 0.5):.1f} ms, "
          f"p95 {percentile(times, 0.95):.1f} ms, max {max(times):.1f} ms")
    print(f"a change on the broker -> the daemon using the new registry: {change_s:.2f} s "
          f"(of which 1.0 s waiting for the announcements to go quiet)")
    print(f"peak RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
