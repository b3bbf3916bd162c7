"""A real Mosquitto broker on a free port, and a watching client that records exactly what was published."""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

if TYPE_CHECKING:
    from edgebrain.base.config import Settings

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def until(check: Callable[[], bool], timeout: float, waited_for: Callable[[], str]) -> None:
    """Poll ``check`` until it holds; after ``timeout`` seconds the test fails, saying what it ``waited_for``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {waited_for()}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """mosquitto started on a free port; stop() and start() again keep the port."""

    def __init__(self, folder: Path, persistent: bool = False, extra: str = "", listener: str = ""):
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        # Run as ourselves: started as root, mosquitto would switch to its own user and could not read
        # or write the test's private folder.
        persistence = (f"persistence true\npersistence_location {folder}/\n" if persistent else "persistence false\n")
        persistence += f"user {getpass.getuser()}\n"
        self.config.write_text((listener or f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
                               .replace("{port}", str(self.port)) + persistence + "log_dest none\n" + extra)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    at: float = field(default=0.0, compare=False)  # time.monotonic() when the watcher got it

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")


class Watcher:
    """Subscribes to everything with QoS 2 and retain-as-published, so qos and retain are as sent."""

    def __init__(self, port: int, topics: str = "#", persistent: bool = False, tls: dict | None = None,
                 login: tuple[str, str] | None = None):
        self.seen: list[Seen] = []
        self._cond = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"watcher-{time.monotonic_ns()}",
                                  protocol=paho.MQTTv5)
        if tls:
            self.client.tls_set(**tls)
        if login:
            self.client.username_pw_set(*login)
        properties = None
        if persistent:  # the broker keeps this watcher's subscription and messages across a restart
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)  # back soon after a broker restart the test makes
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(topics, options=SubscribeOptions(
            qos=2, retainAsPublished=True))
        self.client.connect("127.0.0.1" if not tls else "localhost", port, properties=properties,
                            clean_start=not persistent)
        # The watcher times what others send; its own small packets must not wait behind Nagle's algorithm.
        self.client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("watcher could not subscribe")

    def _on_message(self, client, userdata, message) -> None:
        with self._cond:
            self.seen.append(Seen(message.topic, message.payload, message.qos, bool(message.retain), time.monotonic()))
            self._cond.notify_all()

    def wait_for(self, topic: str, count: int = 1, timeout: float = 30) -> list[Seen]:
        """The first ``count`` messages on ``topic``; fails the test when they do not come."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [s for s in self.seen if paho.topic_matches_sub(topic, s.topic)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"waited {timeout} s for {count} message(s) on {topic}; got "
                                         f"{[(s.topic, s.text) for s in self.seen][-10:]}")
                self._cond.wait(left)

    def on(self, topic: str) -> list[Seen]:
        with self._cond:
            return [s for s in self.seen if paho.topic_matches_sub(topic, s.topic)]

    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> None:
        deadline = time.monotonic() + 30
        while not self.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)  # reconnecting after a broker restart
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    def flush(self, timeout: float = 30) -> None:
        """Wait until every message the broker had for this watcher has arrived: one published now comes
        after them (the broker keeps each subscriber's messages in order)."""
        marker = f"test/flush/{time.monotonic_ns()}"
        self.publish(marker, b"")
        self.wait_for(marker, timeout=timeout)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def daemon_env(base: dict[str, str], state: Path, port: int, **extra: str) -> dict[str, str]:
    """Environment for `edgebrain run` as a service on the test broker (prefix eb)."""
    env = dict(base)
    env.update({"EDGEBRAIN_STATE_DIR": str(state), "EDGEBRAIN_STDIN": "false", "EDGEBRAIN_DRY_RUN": "false",
                "EDGEBRAIN_MQTT__ENABLED": "true", "EDGEBRAIN_MQTT__HOST": "127.0.0.1",
                "EDGEBRAIN_MQTT__PORT": str(port), "EDGEBRAIN_MQTT__CLIENT_ID": "eb-daemon",
                "EDGEBRAIN_MQTT__PREFIX": "eb", "EDGEBRAIN_SCHEDULE__GRACE_S": "600", **extra})
    return env


def start_daemon(env: dict[str, str], log: Path | None = None, module: str = "edgebrain") -> subprocess.Popen[bytes]:
    """`python -m edgebrain run` with that environment; stderr to ``log`` when given. ``module`` may be
    ``tests.gated``: the same daemon, held at the gates its environment names."""
    import sys

    sink = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", module, "run"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=sink, cwd=Path(__file__).resolve().parent.parent)


class Daemon:
    """`edgebrain run` in a process of its own (see start_daemon), which a test may kill and start again.
    stop() is the clean way out: the test fails unless the daemon exits 0 soon after SIGTERM. As a context
    manager it stops the daemon that way at the end, or kills it when the test failed already."""

    def __init__(self, env: dict[str, str], log: Path | None = None, module: str = "edgebrain"):
        self.env = env
        self.log = log
        self.module = module
        self.process = start_daemon(env, log, module)

    def kill(self) -> None:
        """SIGKILL: the daemon finishes nothing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def restart(self, **env: str) -> None:
        """Start it again, its environment changed by ``env``."""
        self.env = {**self.env, **env}
        self.process = start_daemon(self.env, self.log, self.module)

    def stop(self, within_s: float = 30) -> None:
        """SIGTERM; fails the test unless the daemon exits with status 0 within ``within_s``."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(within_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"the daemon did not stop within {within_s} s of SIGTERM{self._tail()}") from None
        assert code == 0, f"the daemon exited with status {code} after SIGTERM{self._tail()}"

    def _tail(self) -> str:
        return "; its log ends:\n" + "\n".join(self.log.read_text().splitlines()[-20:]) if self.log else ""

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.process.poll() is not None:
            return
        if kind is None:
            self.stop()
        else:
            self.kill()


def service_settings(state: Path, port: int, **mqtt: object) -> Settings:
    """Settings for an in-process service on the test broker (prefix eb), routing for real."""
    from dataclasses import replace

    from edgebrain.base.config import load_settings

    options = {"enabled": True, "host": "127.0.0.1", "port": port, "prefix": "eb",
               "client_id": f"eb-{time.monotonic_ns()}", **mqtt}
    defaults = load_settings(None, environ={})
    return replace(defaults, dry_run=False, stdin=False, state_dir=state, mqtt=replace(defaults.mqtt, **options))
