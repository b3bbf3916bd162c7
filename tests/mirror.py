"""A real HTTP server for model downloads, on a free port: it serves files (honouring Range, or ignoring it),
drops the connection halfway, or redirects like Hugging Face; it records every request. Also small GGUF files
and model manifests to fetch with it."""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SERVE, IGNORE_RANGE, DROP = "serve", "ignore-range", "drop"


@dataclass
class Route:
    """What one path answers: a body (bytes or a file) in a mode, or a redirect with extra headers."""

    body: bytes | Path = b""
    mode: str = SERVE
    redirect: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def size(self) -> int:
        return self.body.stat().st_size if isinstance(self.body, Path) else len(self.body)

    def write(self, out: Any, start: int, count: int) -> None:
        if isinstance(self.body, bytes):
            out.write(self.body[start:start + count])
            return
        with self.body.open("rb") as source:
            source.seek(start)
            while count and (block := source.read(min(count, 1 << 20))):
                out.write(block)
                count -= len(block)


@dataclass(frozen=True)
class Served:
    """One request: its path, its Range header, the status answered and the body bytes sent."""

    path: str
    range: str | None
    status: int
    sent: int


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        route = self.server.mirror.routes.get(self.path)
        asked = self.headers.get("Range")
        if route is None:
            self.send_error(404)
            self.server.mirror.served.append(Served(self.path, asked, 404, 0))
            return
        if route.redirect:
            self.send_response(302)
            self.send_header("Location", route.redirect)
            for key, value in route.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.server.mirror.served.append(Served(self.path, asked, 302, 0))
            return
        size = route.size()
        wanted = re.fullmatch(r"bytes=(\d+)-", asked or "")
        start = int(wanted.group(1)) if wanted and route.mode != IGNORE_RANGE else 0
        status = 206 if start else 200
        self.send_response(status)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        sent = (size - start) // 2 if route.mode == DROP else size - start
        self.server.mirror.served.append(Served(self.path, asked, status, sent))
        route.write(self.wfile, start, sent)
        if route.mode == DROP:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    mirror: Mirror

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that stops reading (a refused download) is part of what the tests do


class Mirror:
    """The server; ``routes`` maps a path to what it answers, ``served`` lists the requests in order."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.served: list[Served] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.mirror = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def gguf_bytes(name: str, payload: int, seed: int) -> bytes:
    """A small GGUF file: a header naming it (architecture qwen2), then ``payload`` seeded random bytes."""

    def text(value: str) -> bytes:
        data = value.encode()
        return struct.pack("<Q", len(data)) + data

    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
    for key, value in (("general.architecture", "qwen2"), ("general.name", name)):
        header += text(key) + struct.pack("<I", 8) + text(value)
    return header + random.Random(seed).randbytes(payload)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(path: Path, default: str, models: dict[str, dict[str, Any]]) -> Path:
    """A model manifest (the same format as edgebrain's own) at ``path``."""
    path.write_text(json.dumps({"default": default, "models": models}), encoding="utf-8")
    return path
