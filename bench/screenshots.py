"""Screenshots of the web console (desktop and phone width) for docs/screenshots/, taken with Debian's
chromium through Selenium against a daemon with its own broker, simulated pins and a few requests.

    .venv/bin/python bench/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service as Driver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as seen  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from edgebrain.app.service import Service  # noqa: E402
from edgebrain.devices.registry import load_registry  # noqa: E402
from edgebrain.listen.recognizer import load_model  # noqa: E402
from edgebrain.listen.transcriber import Transcriber  # noqa: E402
from edgebrain.listen.voskmodel import resolve_vosk  # noqa: E402
from edgebrain.understand.loader import load_understander  # noqa: E402
from tests.broker import Broker, free_port, service_settings  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1280, 1000), "phone": (390, 1700)}


def main() -> int:
    """Start a daemon, make a few requests, and save the screenshots."""
    registry = load_registry()
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(Path(folder))
        broker.start()
        port = free_port()
        settings = service_settings(Path(folder), broker.port, client_id="eb-screenshots")
        settings = replace(settings, web=replace(settings.web, enabled=True, port=port))
        # The Korean model is the one obtainable here: it shows the push-to-talk button.
        transcriber = Transcriber(load_model(resolve_vosk("ko")), None, "ko", "ko")
        service = Service(settings, registry, load_understander(registry=registry), transcriber=transcriber)
        service.start()
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars"):
            options.add_argument(flag)
        browser = webdriver.Chrome(service=Driver("/usr/bin/chromedriver"), options=options)
        try:
            browser.get(f"http://127.0.0.1:{port}/")
            for text in ("set the bedroom light to 40 percent", "关掉厨房的灯", "turn off the kitchen fan at 23:00",
                         "turn on the living room lamp"):
                box = WebDriverWait(browser, 10).until(seen.element_to_be_clickable((By.ID, "text")))
                box.send_keys(text)
                browser.find_element(By.ID, "send").click()
                WebDriverWait(browser, 30).until(seen.presence_of_element_located((By.ID, "answer-status")))
                time.sleep(0.5)
            for name, (width, height) in SIZES.items():
                browser.set_window_size(width, height)
                time.sleep(1)
                browser.save_screenshot(str(OUT / f"console-{name}.png"))
            browser.find_element(By.ID, "language").click()
            browser.set_window_size(*SIZES["phone"])
            time.sleep(1)
            browser.save_screenshot(str(OUT / "console-phone-zh.png"))
        finally:
            browser.quit()
            service.close()
            broker.stop()
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
