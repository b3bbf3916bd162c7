"""HTTP downloads of model files: into ``<file>.part``, resumed with a Range request, hash-checked over
the whole file, and renamed into place only once verified. A partial file never becomes the model."""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from edgebrain.base.errors import ModelError

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 10.0
BLOCK = 1 << 20
# Hugging Face gives the SHA-256 of a large (LFS) file in this header of its answer to /resolve/.
LFS_SHA256 = "X-Linked-Etag"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

Progress = Callable[[int, int], None]


class Sink(Protocol):
    """Where blocks are written."""

    def write(self, block: bytes, /) -> int:
        """Write one block."""


def copy_blocks(source: IO[bytes], sink: Sink | None, digest: Any, progress: Progress | None,
                done: int, total: int) -> int:
    """Copy ``source`` in 1 MiB blocks into ``sink`` and ``digest``; return the byte count so far."""
    while block := source.read(BLOCK):
        if sink is not None:
            sink.write(block)
        digest.update(block)
        done += len(block)
        if progress:
            progress(done, total)
    return done


def _digest_of(path: Path, progress: Progress | None = None) -> Any:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        copy_blocks(handle, None, digest, progress, 0, path.stat().st_size)
    return digest


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    return str(_digest_of(path, progress).hexdigest())


def part_path(target: Path) -> Path:
    """Where a download of ``target`` collects until it is verified."""
    return target.with_name(target.name + ".part")


def public(url: str) -> str:
    """The URL without user name and password, for messages and stamps."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def accept(part: Path, target: Path, label: str, size: int, sha256: str, expected: str) -> None:
    """Rename a complete ``part`` to ``target`` when its hash is ``expected``; delete it and refuse otherwise."""
    if sha256 != expected:
        part.unlink(missing_ok=True)
        raise ModelError(f"{label} gave a file of {size:,} bytes with SHA-256 {sha256}, not the expected "
                         f"{expected}; refused")
    part.replace(target)


@dataclass(frozen=True)
class Source:
    """Where to download a model file from, and what proves it is the right file."""

    label: str  # "the mirror https://nas/…", "Hugging Face https://…": says which source a message is about
    url: str
    sha256: str | None  # the hash the file must have; None: take Hugging Face's own (trust_lfs_header)
    size: int | None
    trust_lfs_header: bool = False
    timeout: float = HTTP_TIMEOUT_S


class _LfsHeaders(urllib.request.HTTPRedirectHandler):
    """Keeps the X-Linked-Etag of a redirect: Hugging Face sends it with its 302 to the file's CDN."""

    def __init__(self) -> None:
        self.sha256: str | None = None

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> urllib.request.Request | None:
        self.sha256 = self.sha256 or _lfs_sha256(headers)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _lfs_sha256(headers: http.client.HTTPMessage) -> str | None:
    value = (headers.get(LFS_SHA256) or "").strip().strip('"').removeprefix("W/").strip('"')
    return value if _HEX64.match(value) else None


def _open(source: Source, offset: int) -> tuple[http.client.HTTPResponse, str | None]:
    if urllib.parse.urlsplit(source.url).scheme not in ("http", "https"):
        raise ModelError(f"{source.label}: only http:// and https:// URLs are fetched (give a local file with "
                         "--model PATH)")
    lfs = _LfsHeaders()
    headers = {"User-Agent": "edgebrain", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        request = urllib.request.Request(source.url, headers=headers)  # noqa: S310 - http(s) only, checked above
        response = urllib.request.build_opener(lfs).open(request, timeout=source.timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:  # the part is longer than the server's file: start again
            return _open(source, 0)
        raise ModelError(f"{source.label} answered HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise ModelError(f"cannot reach {source.label}: {getattr(exc, 'reason', exc)}") from exc
    return response, lfs.sha256 or _lfs_sha256(response.headers)


def _expected(source: Source, lfs_sha256: str | None) -> str:
    if source.sha256 is None:
        if source.trust_lfs_header and lfs_sha256:
            return lfs_sha256
        raise ModelError(f"{source.label} did not give the file's SHA-256 and none is pinned: refusing a file "
                         "nothing can verify (give --sha256)")
    if source.trust_lfs_header and lfs_sha256 and lfs_sha256 != source.sha256:
        raise ModelError(f"{source.label} holds a file with SHA-256 {lfs_sha256}, not the pinned "
                         f"{source.sha256}; refused before downloading it")
    return source.sha256


def _start(response: http.client.HTTPResponse, offset: int, source: Source) -> int:
    """Where the body starts: ``offset`` when the server honoured the Range request, else 0."""
    if not offset:
        return 0
    answered = response.headers.get("Content-Range") or ""
    if response.status == 206 and answered.startswith(f"bytes {offset}-"):
        return offset
    log.warning("%s did not resume at byte %s (HTTP %s %r); downloading the whole file again",
                source.label, f"{offset:,}", response.status, answered)
    return 0


class _WriteError(Exception):
    """Writing the part file failed (a full disk), told apart from reading the network."""


class _Writes:
    """The part file, whose write errors are _WriteError."""

    def __init__(self, out: IO[bytes]):
        self._out = out

    def write(self, block: bytes) -> int:
        """Write a block to the part file."""
        try:
            return self._out.write(block)
        except OSError as exc:
            raise _WriteError() from exc


def download(source: Source, target: Path, progress: Progress | None = None) -> str:
    """Download ``source`` to ``target`` (resuming a .part left before); return its verified SHA-256."""
    part = part_path(target)
    offset = part.stat().st_size if part.is_file() else 0
    if source.size is not None and offset >= source.size:
        offset = 0  # a full-length part was refused or never checked; it cannot be resumed
    response, lfs_sha256 = _open(source, offset)
    with response:
        expected = _expected(source, lfs_sha256)
        offset = _start(response, offset, source)
        digest = _digest_of(part) if offset else hashlib.sha256()
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else (source.size or 0)
        if source.size is not None and total not in (0, source.size):
            part.unlink(missing_ok=True)
            raise ModelError(f"{source.label} serves {total:,} bytes, not the {source.size:,} of the expected "
                             "file; refused")
        error = ""
        with part.open("ab" if offset else "wb", buffering=0) as out:  # a write error shows at the write
            try:
                copy_blocks(response, _Writes(out), digest, progress, offset, total)
            except _WriteError as exc:  # a full disk is no broken download: resuming will not help
                raise ModelError(f"cannot write {part}: {exc.__cause__}") from exc
            except (OSError, http.client.HTTPException) as exc:  # reset, timeout, a chunk cut short
                error = f" ({exc})"
    done = part.stat().st_size
    if error or done < total:
        of = f"{total:,} bytes" if total else "an unknown length"
        raise ModelError(f"the download from {source.label} broke off at {done:,} bytes of {of}{error}; {part} "
                         "is kept: run `edgebrain model fetch` again to resume it")
    accept(part, target, source.label, done, str(digest.hexdigest()), expected)
    return expected
