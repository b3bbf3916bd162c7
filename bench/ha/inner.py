"""Runs inside a Home Assistant venv (see check.py): starts Home Assistant's core with its MQTT
integration against a broker, lets it discover edgebrain, carries out the plan's steps (service calls
from Home Assistant's side, requests on eb/text from edgebrain's), and writes what Home Assistant made
of it after each step as JSON.

    ha-venv/bin/python bench/ha/inner.py CONFIG_DIR BROKER_PORT PLAN.json OUT.json
"""

import asyncio
import json
import logging
import sys

try:  # where the core configuration is read moved in 2024.11
    from homeassistant.core_config import async_process_ha_core_config
except ImportError:
    from homeassistant.config import async_process_ha_core_config
from homeassistant import config_entries, const, core, loader
from homeassistant.bootstrap import async_load_base_functionality
from homeassistant.components import mqtt
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

CONFIG, PORT, PLAN, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
logging.basicConfig(level=logging.WARNING, format="%(levelname)s [%(name)s] %(message)s")


class Complaints(logging.Handler):
    """What Home Assistant's MQTT integration warns about (a payload it refuses, a value out of range)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("homeassistant.components.mqtt"):
            self.seen.append(f"{record.name}: {record.getMessage()}")


COMPLAINTS = Complaints()
logging.getLogger().addHandler(COMPLAINTS)


async def main() -> None:
    hass = core.HomeAssistant(CONFIG)
    hass.config.skip_pip = True
    loader.async_setup(hass)
    hass.config_entries = config_entries.ConfigEntries(hass, {})
    await async_load_base_functionality(hass)
    assert await async_setup_component(hass, "homeassistant", {})
    await async_process_ha_core_config(hass, {"name": "check", "latitude": 0, "longitude": 0,
                                                        "elevation": 0, "unit_system": "metric",
                                                        "time_zone": "UTC"})
    await hass.async_start()
    report = {"steps": []}

    def snapshot(label: str) -> None:
        entities, devices = er.async_get(hass), dr.async_get(hass)
        rows = []
        for entry in entities.entities.values():
            if entry.platform != "mqtt":
                continue
            state = hass.states.get(entry.entity_id)
            device = devices.async_get(entry.device_id) if entry.device_id else None
            via = devices.async_get(device.via_device_id) if device and device.via_device_id else None
            rows.append({"entity_id": entry.entity_id, "unique_id": entry.unique_id,
                         "name": state.attributes.get("friendly_name") if state else None,
                         "device": device.name if device else None, "via": via.name if via else None,
                         "state": state.state if state else None,
                         "attributes": {k: v for k, v in (state.attributes if state else {}).items()
                                        if k in ("brightness", "percentage", "humidity")}})
        report["steps"].append({"label": label, "entities": sorted(rows, key=lambda r: r["unique_id"])})

    async def call(domain: str, service: str, suffix: str, data: dict) -> None:
        entity_id = next((e.entity_id for e in er.async_get(hass).entities.values()
                          if e.platform == "mqtt" and e.domain == domain and e.unique_id.endswith(suffix)), None)
        if entity_id is None:
            snapshot(f"{domain}.{service} *{suffix}: no such entity")
            return
        await hass.services.async_call(domain, service, {"entity_id": entity_id, **data}, blocking=True)
        await asyncio.sleep(2)
        snapshot(f"{domain}.{service} {entity_id} {data}")

    report["version"] = const.__version__
    try:
        flow = await hass.config_entries.flow.async_init("mqtt", context={"source": "user"})
        flow = await hass.config_entries.flow.async_configure(flow["flow_id"], {"broker": "127.0.0.1",
                                                                                 "port": PORT})
        report["flow"] = str(flow.get("type"))
        await asyncio.sleep(8)
        snapshot("discovered")
        with open(PLAN, encoding="utf-8") as plan:
            for step in json.load(plan):
                if isinstance(step, str):  # edgebrain's side: a request on its text topic
                    await mqtt.async_publish(hass, "eb/text", step, 1, False)
                    await asyncio.sleep(3)
                    snapshot(f"after {step!r} on eb/text")
                else:
                    await call(*step)
    except Exception as exc:  # the report says what went wrong
        logging.exception("check failed")
        report["error"] = repr(exc)
    report["complaints"] = COMPLAINTS.seen
    with open(OUT, "w", encoding="utf-8") as out:
        json.dump(report, out, indent=1, default=str)
    await hass.async_stop()


asyncio.run(main())
