"""A check with a real Home Assistant: its MQTT integration discovers a running edgebrain daemon, and
each entity is checked for its name, its device link and its state after commands from both sides.

Home Assistant 2024.3.x is the newest release that runs on Python 3.11; it goes in a venv of its own:

    python3 -m venv /tmp/ha-venv
    /tmp/ha-venv/bin/pip install 'homeassistant==2024.3.3' 'paho-mqtt==1.6.1' 'janus==1.0.0'
    .venv/bin/python bench/ha/check.py /tmp/ha-venv

Lights are left out on 2024.3: its JSON light wants the color_mode flag that later releases dropped
(docs/home-assistant.md). Not part of `make test`: installing Home Assistant takes many minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.broker import Broker, Watcher, daemon_env, start_daemon  # noqa: E402

# unique id suffix -> (entity domain, name Home Assistant shows, the state expected at each step)
EXPECTED = {
    "_command": ("text", "edgebrain Command"),
    "_last_result": ("sensor", "edgebrain Last result"),
    "_bedroom_fan": ("fan", "Bedroom fan"),
    "_kitchen_plug": ("switch", "Coffee machine plug"),
}
STATES = {  # step label prefix -> {suffix: (state, attributes)}
    "fan.set_percentage": {"_bedroom_fan": ("on", {"percentage": 60})},
    "fan.turn_off": {"_bedroom_fan": ("off", {})},
    "switch.turn_on": {"_kitchen_plug": ("on", {})},
    "text.set_value": {"_kitchen_plug": ("off", {})},
    "after 'turn on the bedroom fan'": {"_bedroom_fan": ("on", {"percentage": 60})},  # on: the last level
}


def main() -> int:
    """Run Home Assistant against a daemon and check what it made of edgebrain; 0 when all is right."""
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    ha_python = Path(sys.argv[1]) / "bin" / "python"
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "ha-config"
        config.mkdir()
        (config / "configuration.yaml").write_text("homeassistant:\n")
        broker = Broker(Path(folder))
        broker.start()
        env = daemon_env(dict(os.environ), Path(folder) / "state", broker.port, GPIOZERO_PIN_FACTORY="mock")
        daemon = start_daemon(env, Path(folder) / "daemon.log")
        watcher = Watcher(broker.port)
        try:
            watcher.wait_for("eb/status", timeout=120)
            out = Path(folder) / "report.json"
            subprocess.run([str(ha_python), str(Path(__file__).with_name("inner.py")), str(config),
                            str(broker.port), str(out)], check=True, timeout=600)
            report = json.loads(out.read_text())
        finally:
            watcher.close()
            daemon.terminate()
            daemon.wait(20)
            broker.stop()
    return _judge(report)


def _judge(report: dict) -> int:  # type: ignore[type-arg]
    problems = [report["error"]] if "error" in report else []
    steps = report["steps"]
    found = {row["unique_id"]: row for row in steps[0]["entities"]}
    for suffix, (domain, name) in EXPECTED.items():
        row = next((r for uid, r in found.items() if uid.endswith(suffix)), None)
        if row is None:
            problems.append(f"no entity for *{suffix}")
            continue
        print(f"{row['entity_id']:40} {row['name']!r:28} device {row['device']!r} via {row['via']!r}")
        if not row["entity_id"].startswith(domain + ".") or row["name"] != name:
            problems.append(f"{row['entity_id']}: expected a {domain} named {name!r}, got {row['name']!r}")
        if suffix not in ("_command", "_last_result") and row["via"] != "edgebrain":
            problems.append(f"{row['entity_id']}: not linked to the edgebrain hub (via {row['via']!r})")
    for step in steps[1:]:
        expected = next((v for k, v in STATES.items() if step["label"].startswith(k)), None)
        print(f"-- {step['label']}")
        for suffix, (state, attributes) in (expected or {}).items():
            row = next((r for r in step.get("entities", []) if r["unique_id"].endswith(suffix)), None)
            got = (row["state"], {k: row["attributes"][k] for k in attributes}) if row else None
            print(f"   *{suffix}: {got}")
            if got != (state, attributes):
                problems.append(f"{step['label']}: *{suffix} is {got}, expected {(state, attributes)}")
    print("\n".join(["PROBLEMS:", *problems]) if problems else "every entity checked is right")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
