"""`edgebrain run` with gates a fault test opens: a test-support launcher, never part of the product.

    GATE_DIR=<folder> GATES=handle,ack,send:<device>,sent:<device> python -m tests.gated run [options]

- ``handle``: the worker waits before it works a request, so that requests pile up in the inbox;
- ``ack``: it waits after a request is answered, before its MQTT message is acknowledged;
- ``send:<device>``: a command for the device waits before it is routed (a timed job is claimed, not sent);
- ``sent:<device>``: it waits once handed to the broker client (a job is sent, not yet marked fired).

At a gate the daemon creates ``<folder>/<gate>.entered`` and waits until the test creates
``<folder>/<gate>.open``; an open gate lets everything through (``:`` in a gate's name is ``-`` in its
files). The daemon also notes, one a line: the id of each request handed to its inbox (a copy the broker
delivers again too) in ``<folder>/arrived``, each request worked in ``<folder>/handled``, and each loss of
the broker in ``<folder>/disconnected``. With ``GATE_CLOCK=<file>`` the daemon's clock (the one its
Service takes, which stamps and fires timed commands) is the real one moved on by the seconds written in
that file: a test brings jobs due without waiting for them. The daemon's code runs unchanged: the gates
only wrap it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from edgebrain.app.service import Service
from edgebrain.cli.main import main
from edgebrain.core.handler import Handler
from edgebrain.core.inbox import Inbox
from edgebrain.core.messages import Request, Result
from edgebrain.devices.command import Command
from edgebrain.devices.router import Delivery, Router
from edgebrain.mqtt.client import MqttClient
from tests.broker import until


def _file(folder: Path, gate: str, state: str) -> Path:
    return folder / f"{gate.replace(':', '-')}.{state}"


def gated_env(env: dict[str, str], folder: Path, *gates: str) -> dict[str, str]:
    """``env`` for a daemon held at ``gates``, with its gate files and notes in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {**env, "GATE_DIR": str(folder), "GATES": ",".join(gates)}


def wait_at(folder: Path, gate: str, timeout: float = 60) -> None:
    """Wait until the daemon is held at ``gate``; fails the test when it does not get there."""
    until(_file(folder, gate, "entered").exists, timeout, lambda: f"the daemon to reach the gate {gate}")


def open_gate(folder: Path, gate: str) -> None:
    """Let the daemon through ``gate``, now and from now on."""
    _file(folder, gate, "open").touch()


def move_clock(path: Path, seconds: float) -> None:
    """Move the clock of the daemons started with ``GATE_CLOCK=<path>`` to ``seconds`` after the real one."""
    path.write_text(repr(seconds))


def read_notes(folder: Path, name: str) -> list[str]:
    """The lines the daemon noted in ``<folder>/<name>`` so far (none before the first)."""
    path = folder / name
    return path.read_text().splitlines() if path.exists() else []


def wait_notes(folder: Path, name: str, count: int, timeout: float = 60) -> list[str]:
    """The notes in ``<folder>/<name>`` once there are at least ``count``; fails the test when they do not come."""
    until(lambda: len(read_notes(folder, name)) >= count, timeout,
          lambda: f"{count} lines in {name}; got {read_notes(folder, name)}")
    return read_notes(folder, name)


class Gates:
    """The gates named in GATES, and the notes, in GATE_DIR."""

    def __init__(self, folder: Path, names: set[str], clock: Path | None = None):
        self.folder = folder
        self.names = names
        self.clock_file = clock

    def clock(self) -> float:
        """The real time, moved on by the seconds in the clock file."""
        assert self.clock_file is not None
        return time.time() + (float(self.clock_file.read_text()) if self.clock_file.exists() else 0.0)

    def wait(self, gate: str) -> None:
        """Hold the calling thread at ``gate`` until the test opens it (at once when it is not a gate)."""
        opened = _file(self.folder, gate, "open")
        if gate not in self.names or opened.exists():
            return
        _file(self.folder, gate, "entered").touch()
        while not opened.exists():
            time.sleep(0.01)

    def note(self, name: str, line: str) -> None:
        """Add a line to ``<folder>/<name>``."""
        with (self.folder / name).open("a") as notes:
            notes.write(line + "\n")

    def install(self) -> None:
        """Wrap the daemon's handler, router, inbox and broker client with the gates and the notes; give
        its service the moved clock when there is a clock file."""
        handle, route, submit, lost = Handler.handle, Router.route, Inbox.submit, MqttClient._handle_disconnect

        def gated_handle(handler: Handler, request: Request) -> Result | None:
            self.wait("handle")
            result = handle(handler, request)
            self.note("handled", request.id)
            self.wait("ack")  # the inbox acknowledges the message once this returns
            return result

        def gated_route(router: Router, command: Command) -> Delivery:
            self.wait(f"send:{command.device}")
            delivery = route(router, command)
            self.wait(f"sent:{command.device}")
            return delivery

        def noted_submit(inbox: Inbox, request: Request) -> None:
            self.note("arrived", request.id)
            submit(inbox, request)

        def noted_loss(client: MqttClient, *args: object) -> None:
            lost(client, *args)  # type: ignore[arg-type]
            self.note("disconnected", "lost")

        if self.clock_file is not None:
            build = Service.__init__

            def clocked_service(service: Service, *args: Any, **options: Any) -> None:
                build(service, *args, **options, clock=self.clock)

            Service.__init__ = clocked_service  # type: ignore[method-assign,assignment]
        Handler.handle = gated_handle  # type: ignore[method-assign,assignment]
        Router.route = gated_route  # type: ignore[method-assign,assignment]
        Inbox.submit = noted_submit  # type: ignore[method-assign,assignment]
        MqttClient._handle_disconnect = noted_loss  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    clock = os.environ.get("GATE_CLOCK")
    Gates(Path(os.environ["GATE_DIR"]), set(filter(None, os.environ.get("GATES", "").split(","))),
          Path(clock) if clock else None).install()
    sys.exit(main())
