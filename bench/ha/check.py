"""A check with a real Home Assistant: its MQTT integration discovers a running edgebrain daemon, and
each entity is checked for its name, its device link and its state after commands from both sides.

The daemon drives a registry with one GPIO device of every kind edgebrain announces (a PWM and an
on/off light, a switch, a PWM fan, a PWM and a relay humidifier, an AC), on simulated pins. Home
Assistant goes in a venv of its own. 2024.3.3 is the newest release for Python 3.11:

    python3 -m venv /tmp/ha-venv
    /tmp/ha-venv/bin/pip install 'homeassistant==2024.3.3' 'paho-mqtt==1.6.1' 'janus==1.0.0'
    .venv/bin/python bench/ha/check.py /tmp/ha-venv

Newer releases need Python 3.13 (2025.4.4, for one, with 'paho-mqtt==2.1.0'); give the check that venv
the same way. Lights are left out on 2024.3 and older: their JSON light wants the color_mode flag that
later releases dropped (docs/home-assistant.md). Not part of `make test`: installing Home Assistant
takes many minutes.
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

DEVICES = """devices:
  - {id: hall_light, type: light, name: Hall light, room: hallway, gpio: {pin: 17, kind: pwm}}
  - {id: porch_light, type: light, name: Porch light, gpio: {pin: 27, kind: led}}
  - {id: plug, type: switch, name: Coffee machine plug, room: kitchen, gpio: {pin: 22}}
  - {id: fan, type: fan, name: Bedroom fan, room: bedroom, gpio: {pin: 18, kind: pwm}}
  - {id: mist, type: humidifier, name: Humidifier, room: bedroom, gpio: {pin: 23, kind: pwm}}
  - {id: diffuser, type: humidifier, name: Diffuser, room: bedroom, gpio: {pin: 25}}
  - {id: ac, type: ac, name: Air conditioner, room: bedroom, gpio: {pin: 24}}
"""
LIGHTS = ("_hall_light", "_porch_light")
# unique id suffix -> (entity domain, name Home Assistant shows)
EXPECTED = {
    "_command": ("text", "edgebrain Command"),
    "_last_result": ("sensor", "edgebrain Last result"),
    "_hall_light": ("light", "Hall light"),
    "_porch_light": ("light", "Porch light"),
    "_plug": ("switch", "Coffee machine plug"),
    "_fan": ("fan", "Bedroom fan"),
    "_mist": ("humidifier", "Humidifier"),
    "_diffuser": ("switch", "Diffuser"),
    "_ac": ("climate", "Air conditioner"),
}
# Each step: a Home Assistant service call [domain, service, suffix, data] or a request on eb/text, and
# the state (and attributes) Home Assistant shows afterwards. Brightness is Home Assistant's 0-255.
STEPS: list[tuple[list[object] | str, dict[str, tuple[str, dict[str, object]]]]] = [
    (["light", "turn_on", "_hall_light", {"brightness_pct": 40}], {"_hall_light": ("on", {"brightness": 102})}),
    (["light", "turn_off", "_hall_light", {}], {"_hall_light": ("off", {})}),
    (["light", "turn_on", "_porch_light", {}], {"_porch_light": ("on", {})}),
    (["fan", "set_percentage", "_fan", {"percentage": 60}], {"_fan": ("on", {"percentage": 60})}),
    (["fan", "turn_off", "_fan", {}], {"_fan": ("off", {})}),
    (["switch", "turn_on", "_plug", {}], {"_plug": ("on", {})}),
    (["humidifier", "set_humidity", "_mist", {"humidity": 55}], {"_mist": ("on", {"humidity": 55})}),
    (["humidifier", "turn_off", "_mist", {}], {"_mist": ("off", {})}),
    (["switch", "turn_on", "_diffuser", {}], {"_diffuser": ("on", {})}),
    (["climate", "set_hvac_mode", "_ac", {"hvac_mode": "cool"}], {"_ac": ("cool", {})}),
    (["climate", "set_hvac_mode", "_ac", {"hvac_mode": "off"}], {"_ac": ("off", {})}),
    (["text", "set_value", "_command", {"value": "turn off the coffee machine plug"}], {"_plug": ("off", {})}),
    ("turn on the bedroom fan", {"_fan": ("on", {"percentage": 60})}),  # on: at its last level
    ("set the humidifier to 45 percent", {"_mist": ("on", {"humidity": 45})}),
    ("turn on the hall light", {"_hall_light": ("on", {"brightness": 102})}),
]


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
        devices = Path(folder) / "devices"
        devices.mkdir()
        (devices / "home.yaml").write_text(DEVICES)
        plan = Path(folder) / "plan.json"
        plan.write_text(json.dumps([action for action, _ in STEPS]))
        broker = Broker(Path(folder))
        broker.start()
        env = daemon_env(dict(os.environ), Path(folder) / "state", broker.port, GPIOZERO_PIN_FACTORY="mock",
                         EDGEBRAIN_DEVICES=str(devices))
        daemon = start_daemon(env, Path(folder) / "daemon.log")
        watcher = Watcher(broker.port)
        try:
            watcher.wait_for("eb/status", timeout=120)
            out = Path(folder) / "report.json"
            subprocess.run([str(ha_python), str(Path(__file__).with_name("inner.py")), str(config),
                            str(broker.port), str(plan), str(out)], check=True, timeout=900)
            report = json.loads(out.read_text())
        finally:
            watcher.close()
            daemon.terminate()
            daemon.wait(20)
            broker.stop()
    return _judge(report)


def _judge(report: dict) -> int:  # type: ignore[type-arg]
    problems = [report["error"]] if "error" in report else []
    version = report.get("version", "?")
    # Up to 2024.3 Home Assistant's JSON light required the color_mode flag edgebrain does not send.
    skipped = LIGHTS if tuple(int(p) for p in version.split(".")[:2]) < (2024, 4) else ()
    print(f"Home Assistant {version}" + (" (lights not checked: this release wants color_mode)" if skipped else ""))
    steps = report["steps"]
    found = {row["unique_id"]: row for row in steps[0]["entities"]}
    for suffix, (domain, name) in EXPECTED.items():
        row = next((r for uid, r in found.items() if uid.endswith(suffix)), None)
        if suffix in skipped:
            print(f"{'*' + suffix:40} not checked{' (refused, as expected)' if row is None else ''}")
            continue
        if row is None:
            problems.append(f"no entity for *{suffix}")
            continue
        print(f"{row['entity_id']:40} {row['name']!r:28} device {row['device']!r} via {row['via']!r}")
        if not row["entity_id"].startswith(domain + ".") or row["name"] != name:
            problems.append(f"{row['entity_id']}: expected a {domain} named {name!r}, got {row['name']!r}")
        if suffix not in ("_command", "_last_result") and row["via"] != "edgebrain":
            problems.append(f"{row['entity_id']}: not linked to the edgebrain hub (via {row['via']!r})")
    if len(steps) - 1 != len(STEPS):
        problems.append(f"{len(steps) - 1} of {len(STEPS)} steps ran")
    for step, (_, expected) in zip(steps[1:], STEPS, strict=False):
        print(f"-- {step['label']}")
        for suffix, (state, attributes) in expected.items():
            if suffix in skipped:
                continue
            row = next((r for r in step.get("entities", []) if r["unique_id"].endswith(suffix)), None)
            got = (row["state"], {k: row["attributes"].get(k) for k in attributes}) if row else None
            print(f"   *{suffix}: {got}")
            if got != (state, attributes):
                problems.append(f"{step['label']}: *{suffix} is {got}, expected {(state, attributes)}")
    problems += [f"Home Assistant warned: {c}" for c in report.get("complaints", [])
                 if not (skipped and "homeassistant/light/" in c)]  # the refusal expected of such a release
    print("\n".join(["PROBLEMS:", *problems]) if problems else "every entity checked is right")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
