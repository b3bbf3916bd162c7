"""The web console in a real headless browser (Debian's chromium and chromedriver, with Selenium), over
a real broker, with gpiozero's MockFactory pins: requests, timed commands, live GPIO states, sign-in,
sign-out and CSRF."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as Driver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from edgebrain.app.service import Service
from edgebrain.understand.engine import Understander
from tests.broker import free_port, service_settings, until
from tests.fakes import ScriptedBackend

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Driver("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


@pytest.fixture()
def console(tmp_path, broker, registry, browser):
    port = free_port()
    settings = service_settings(tmp_path, broker.port, client_id=f"eb-web-{time.monotonic_ns()}")
    settings = replace(settings, web=replace(settings.web, enabled=True, port=port, password=PASSWORD))
    service = Service(settings, registry, Understander(registry, ScriptedBackend({})))
    service.start()
    assert service.mqtt is not None and service.mqtt.wait_connected(10)
    browser.delete_all_cookies()
    yield f"http://127.0.0.1:{port}", service
    service.close()


@pytest.fixture()
def local_console(tmp_path, registry):
    """A console on this machine without a password (a dry run, no broker)."""
    from edgebrain.base.config import load_settings

    port = free_port()
    defaults = load_settings(None, environ={})
    settings = replace(defaults, stdin=False, state_dir=tmp_path, web=replace(defaults.web, enabled=True, port=port))
    service = Service(settings, registry, Understander(registry, ScriptedBackend({})))
    service.start()
    yield f"http://127.0.0.1:{port}", service
    service.close()


def refused_with(request) -> int:
    """The HTTP status of a request that must fail."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    return caught.value.code


def sign_in(browser, url, password=PASSWORD):
    browser.get(url + "/")
    WebDriverWait(browser, 10).until(seen.presence_of_element_located((By.ID, "password")))
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()


def wait_text(browser, element_id, text, timeout=15):
    WebDriverWait(browser, timeout).until(seen.text_to_be_present_in_element((By.ID, element_id), text))


def test_a_wrong_password_is_refused_and_the_right_one_lets_in(browser, console):
    url, _ = console
    sign_in(browser, url, "wrong")
    WebDriverWait(browser, 15).until(seen.presence_of_element_located((By.CLASS_NAME, "error")))
    assert "Wrong password" in browser.find_element(By.CLASS_NAME, "error").text
    assert browser.current_url.endswith("/login")
    sign_in(browser, url)
    WebDriverWait(browser, 10).until(seen.presence_of_element_located((By.ID, "device-kitchen_light")))
    assert refused_with(url + "/api/state") == 401  # and no session, no state


def test_a_typed_request_reaches_the_device_topic(browser, console, watcher):
    url, _ = console
    sign_in(browser, url)
    box = WebDriverWait(browser, 10).until(seen.element_to_be_clickable((By.ID, "text")))
    box.send_keys("turn on the kitchen light")
    browser.find_element(By.ID, "send").click()
    assert watcher.wait_for("home/kitchen/light/set")[0].payload == b'{"state":"ON"}'
    wait_text(browser, "answer", "Turned on the kitchen light.")
    assert browser.find_element(By.ID, "answer-status").text == "routed"


def test_a_timed_command_shows_up_and_is_cancelled(browser, console):
    url, service = console
    sign_in(browser, url)
    box = WebDriverWait(browser, 10).until(seen.element_to_be_clickable((By.ID, "text")))
    box.send_keys("turn off the kitchen light at 23:00")
    browser.find_element(By.ID, "send").click()
    (job,) = WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#jobs li[id^=job-]"))
    job.find_element(By.CLASS_NAME, "cancel").click()
    WebDriverWait(browser, 15).until(lambda b: not b.find_elements(By.CSS_SELECTOR, "#jobs li[id^=job-]"))
    assert [j.status for j in service.schedule.jobs(include_done=True)] == ["cancelled"]


def test_a_gpio_state_change_appears_without_reloading(browser, console, watcher):
    url, _ = console
    sign_in(browser, url)
    wait_text(browser, "state-bedroom_light", "state: off")
    browser.execute_script("window.notReloaded = true")
    watcher.publish("eb/bedroom_light/set", json.dumps({"state": "ON", "brightness": 40}))  # Home Assistant
    wait_text(browser, "state-bedroom_light", "state: on 40%")
    assert browser.find_element(By.ID, "toggle-bedroom_light").get_attribute("aria-checked") == "true"
    assert browser.execute_script("return window.notReloaded") is True


def test_an_action_without_the_csrf_token_is_refused(browser, console, watcher):
    url, _ = console
    sign_in(browser, url)
    WebDriverWait(browser, 10).until(seen.presence_of_element_located((By.ID, "device-kitchen_plug")))
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    state = json.loads(urllib.request.urlopen(urllib.request.Request(url + "/api/state", headers={"Cookie": cookie}))
                       .read())

    def act(token):
        headers = {"Cookie": cookie, "Content-Type": "application/json", **({"X-CSRF-Token": token} if token else {})}
        request = urllib.request.Request(url + "/api/devices/kitchen_light/on", data=b"{}", headers=headers)
        try:
            return urllib.request.urlopen(request).status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert act(None) == 403 and act("forged") == 403
    assert act(state["csrf"]) == 200
    assert watcher.wait_for("home/kitchen/light/set")[0].payload == b'{"state":"ON"}'
    # Every message sent before the flush marker has arrived: the refused actions sent nothing.
    watcher.flush()
    assert [s.payload for s in watcher.on("home/kitchen/light/set")] == [b'{"state":"ON"}']


def test_the_sign_out_button_ends_the_session(browser, console):
    url, _ = console
    sign_in(browser, url)
    button = WebDriverWait(browser, 10).until(seen.element_to_be_clickable((By.ID, "sign-out")))
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    assert urllib.request.urlopen(urllib.request.Request(url + "/api/state", headers={"Cookie": cookie})).status == 200
    button.click()
    WebDriverWait(browser, 10).until(seen.presence_of_element_located((By.ID, "password")))
    assert browser.current_url.endswith("/login")
    assert refused_with(urllib.request.Request(url + "/api/state", headers={"Cookie": cookie})) == 401
    assert browser.get_cookies() == []


def test_a_console_open_to_the_network_needs_a_password(tmp_path, registry):
    from edgebrain.base.config import load_settings
    from edgebrain.base.errors import ConfigError

    defaults = load_settings(None, environ={})
    settings = replace(defaults, state_dir=tmp_path, web=replace(defaults.web, enabled=True, host="0.0.0.0"))
    message = "web.host 0.0.0.0 is reachable from the network: set web.password_file"
    with pytest.raises(ConfigError, match=re.escape(message)):
        Service(settings, registry, Understander(registry, ScriptedBackend({})))


def test_push_to_talk_records_in_the_browser_and_the_daemon_transcribes(tmp_path, broker, watcher):
    import subprocess

    from selenium.webdriver.common.action_chains import ActionChains

    from edgebrain.devices.registry import Device, Registry
    from edgebrain.listen.recognizer import load_model
    from edgebrain.listen.transcriber import Transcriber
    from edgebrain.listen.voskmodel import resolve_vosk

    spoken, wav = tmp_path / "spoken.wav", tmp_path / "mic.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "180", "-w", str(spoken), "안녕하세요 꺼"], check=True)
    subprocess.run(["sox", str(spoken), "-r", "48000", str(wav), "pad", "0.3", "2"], check=True)
    home = Registry([Device("hall_light", "light", "Hall light", "hallway", ("안녕하세요",),
                            mqtt={"topic": "home/hall/light/set"})])
    transcriber = Transcriber(load_model(resolve_vosk("ko")), ["안녕하세요", "켜", "꺼", "주세요"], "ko", "ko")
    port = free_port()
    settings = service_settings(tmp_path / "state", broker.port, client_id=f"eb-ptt-{time.monotonic_ns()}")
    settings = replace(settings, web=replace(settings.web, enabled=True, port=port))
    service = Service(settings, home, Understander(home, ScriptedBackend({})), transcriber=transcriber)
    service.start()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}%noloop",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Driver("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        button = WebDriverWait(driver, 10).until(seen.visibility_of_element_located((By.ID, "talk-button")))
        ActionChains(driver).click_and_hold(button).pause(3.5).release().perform()
        wait_text(driver, "answer-text", "안녕하세요 꺼", timeout=30)
        assert watcher.wait_for("home/hall/light/set")[0].payload == b'{"device":"hall_light","action":"off"}'
        assert driver.find_element(By.ID, "answer-status").text == "routed"
    finally:
        driver.quit()
        service.close()


def test_a_console_without_a_password_answers_only_to_this_machines_names(local_console):
    url, _ = local_console
    assert urllib.request.urlopen(url + "/api/state").status == 200
    port = url.rsplit(":", 1)[1]
    assert refused_with(urllib.request.Request(url + "/api/state", headers={"Host": f"evil.example:{port}"})) == 403


def test_a_short_password_is_refused(tmp_path, registry):
    from edgebrain.base.config import load_settings
    from edgebrain.base.errors import ConfigError

    defaults = load_settings(None, environ={})
    short = replace(defaults, state_dir=tmp_path, web=replace(defaults.web, enabled=True, password="1234"))
    with pytest.raises(ConfigError, match=re.escape("web.password: at least 8 characters")):
        Service(short, registry, Understander(registry, ScriptedBackend({})))


def test_a_proxied_request_is_refused_and_the_page_cannot_be_framed(local_console):
    url, _ = local_console
    assert urllib.request.urlopen(url + "/").headers["X-Frame-Options"] == "DENY"
    assert refused_with(urllib.request.Request(url + "/api/state", headers={"X-Forwarded-For": "10.0.0.9"})) == 403


def test_a_page_that_goes_away_stops_its_live_updates(local_console):
    url, service = local_console
    events = urllib.request.urlopen(url + "/api/events")
    assert events.readline() == b"event: state\n"
    assert service.web is not None and service.web.streams == 1
    events.close()
    web = service.web
    until(lambda: web.streams == 0, 5, lambda: f"the stream to end ({web.streams} still open)")


@pytest.fixture()
def imported_console(tmp_path, broker, watcher, browser):
    """A console over a home imported from zigbee2mqtt's retained lists (tests/data/import)."""
    from pathlib import Path

    from edgebrain.base.config import RegistrySettings
    from edgebrain.devices.sources import load_home

    data = Path(__file__).parent / "data" / "import"
    watcher.publish("zigbee2mqtt/bridge/devices", (data / "z2m_bridge_devices.json").read_bytes(), retain=True)
    watcher.flush()
    port = free_port()
    settings = service_settings(tmp_path, broker.port, client_id=f"eb-web-{time.monotonic_ns()}")
    settings = replace(settings, web=replace(settings.web, enabled=True, port=port, password=PASSWORD),
                       registry=RegistrySettings(("zigbee2mqtt",), "zigbee2mqtt", 10.0))
    home = load_home(settings)
    service = Service(settings, home.registry, Understander(home.registry, ScriptedBackend({})), home=home)
    service.start()
    assert service.mqtt is not None and service.mqtt.wait_connected(10)
    browser.delete_all_cookies()
    yield f"http://127.0.0.1:{port}", service
    service.close()


def _range_of(browser, element_id):
    """A slider's (min, max), read in the page: the page redraws its devices whenever the state changes."""
    return tuple(browser.execute_script(
        "const s = document.getElementById(arguments[0]); return [s.min, s.max];", element_id))


def test_an_imported_devices_toggle_and_slider_move_it_and_its_state_shows_live(browser, imported_console, watcher):
    url, _ = imported_console
    sign_in(browser, url)
    WebDriverWait(browser, 15).until(seen.presence_of_element_located((By.ID, "level-bulb")))
    browser.execute_script("window.notReloaded = true")
    # Found and clicked in one step: the page redraws its devices on every change, so a found element
    # may be replaced before a second step reaches it.
    browser.execute_script("document.querySelector('#toggle-bulb[data-action=on]').click()")  # the tile's switch
    assert json.loads(watcher.wait_for("zigbee2mqtt/bulb/set", timeout=15)[0].payload) == {"state": "ON"}
    wait_text(browser, "state-bulb", "last sent: on")  # what was sent, in words, until the bulb says its state
    assert _range_of(browser, "level-bulb") == ("0", "100")
    browser.execute_script("const s = document.getElementById('level-bulb'); s.value = 50;"
                           "s.dispatchEvent(new Event('change'))")
    assert json.loads(watcher.wait_for("zigbee2mqtt/bulb/set", 2, timeout=15)[1].payload) == {"brightness": 127}
    watcher.publish("zigbee2mqtt/bulb", json.dumps({"state": "ON", "brightness": 254, "linkquality": 90}))
    wait_text(browser, "state-bulb", "state: on 100% · ")
    assert re.search(r"state: on 100% · \d+ s ago",
                     browser.execute_script("return document.getElementById('state-bulb').textContent"))
    # The switch now shows the bulb's own word and asks for the other: off.
    browser.execute_script("document.querySelector('#toggle-bulb[data-action=off]').click()")
    assert json.loads(watcher.wait_for("zigbee2mqtt/bulb/set", 3, timeout=15)[2].payload) == {"state": "OFF"}
    assert _range_of(browser, "level-moes_thermo") == ("16", "30")
    assert '{"' not in browser.execute_script("return document.getElementById('devices').textContent")
    rooms = browser.execute_script("return [...document.querySelectorAll('#devices .room')].map(r => r.textContent)")
    assert "living room" in rooms
    browser.find_element(By.ID, "language").click()  # 中文: the rooms the schema knows, in Chinese
    WebDriverWait(browser, 10).until(lambda b: "客厅" in b.execute_script(
        "return [...document.querySelectorAll('#devices .room')].map(r => r.textContent)"))
    assert browser.execute_script("return window.notReloaded") is True
