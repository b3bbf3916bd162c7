"""Shared fixtures: the example registry, and the real model loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgebrain.devices.registry import Registry, load_registry

# gpiozero picks its pin factory from the environment: its own MockFactory, with PWM-capable pins.
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
os.environ.setdefault("GPIOZERO_MOCK_PIN_CLASS", "mockpwmpin")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="session")
def model_path() -> Path:
    from edgebrain.models.modelfile import resolve

    # `make test` fetches the model first; a missing model is a failure, never a skip.
    return resolve().path


@pytest.fixture(scope="session")
def understander(registry: Registry, model_path: Path):  # type: ignore[no-untyped-def]
    from edgebrain.understand.loader import load_understander

    return load_understander(model=str(model_path), registry=registry)


@pytest.fixture()
def cli_env(model_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["EDGEBRAIN_MODEL"] = str(model_path)
    return env


@pytest.fixture()
def broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.broker import Broker

    running = Broker(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture()
def watcher(broker):  # type: ignore[no-untyped-def]
    from tests.broker import Watcher

    watching = Watcher(broker.port)
    yield watching
    watching.close()


@pytest.fixture()
def durable(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A broker that keeps sessions across a restart, and a watcher with a session it keeps: what the
    daemon sends right after the restart reaches the watcher even before it has reconnected."""
    from tests.broker import Broker, Watcher

    running = Broker(tmp_path, persistent=True)
    running.start()
    watching = Watcher(running.port, persistent=True)
    yield running, watching
    watching.close()
    running.stop()
