"""Build a ready Understander from settings: registry, verified model, saved prompt state."""

from __future__ import annotations

import logging
from pathlib import Path

from edgebrain.devices.registry import Registry, load_registry
from edgebrain.models.llama import DEFAULT_THREADS, LlamaBackend
from edgebrain.models.modelfile import cache_dir, resolve
from edgebrain.understand.engine import Understander
from edgebrain.understand.words.reading import Techniques

log = logging.getLogger(__name__)


def state_dir() -> Path:
    """Where saved prompt states live, beside the model cache."""
    return cache_dir().parent / "state"


def load_understander(devices: str | Path | None = None, model: str | None = None,
                      threads: int = DEFAULT_THREADS, registry: Registry | None = None,
                      techniques: Techniques | None = None) -> Understander:
    """Load the registry and the model, and evaluate (or restore) the prompt."""
    registry = registry or load_registry(devices)
    info = resolve(model)
    log.info("model %s (%s, %s)", info.path, info.name, info.sha256[:12])
    backend = LlamaBackend.from_path(info.path, threads, identity=info.sha256)
    return Understander(registry, backend, state_dir(), techniques)
