"""A small reader for the GGUF header: enough to refuse a file that is not a model and to name it."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from edgebrain.base.errors import ModelError

MAGIC = b"GGUF"
# GGUF metadata value types (gguf.h): size in bytes of the fixed-size ones.
_FIXED = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 24


def _read(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise ModelError("truncated GGUF header")
    return data


def _string(handle: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _read(handle, 8))
    if length > _MAX_STRING:
        raise ModelError("corrupt GGUF header: string too long")
    return _read(handle, length).decode("utf-8", errors="replace")


def _value(handle: BinaryIO, kind: int) -> Any:
    if kind in _FIXED:
        fmt = _FIXED[kind]
        return struct.unpack(fmt, _read(handle, struct.calcsize(fmt)))[0]
    if kind == _STRING:
        return _string(handle)
    if kind == _ARRAY:
        (item_kind,) = struct.unpack("<I", _read(handle, 4))
        (count,) = struct.unpack("<Q", _read(handle, 8))
        if item_kind in _FIXED:
            # Large arrays (token scores) are skipped, not decoded.
            handle.seek(struct.calcsize(_FIXED[item_kind]) * count, 1)
            return f"<array of {count}>"
        for _ in range(count):
            _value(handle, item_kind)
        return f"<array of {count}>"
    raise ModelError(f"corrupt GGUF header: unknown value type {kind}")


def read_metadata(path: Path, full: bool = False) -> dict[str, Any]:
    """Return the GGUF metadata (arrays summarised; up to the tokenizer unless ``full``).

    Raises ModelError if the file is not a GGUF model.
    """
    try:
        with path.open("rb") as handle:
            if _read(handle, 4) != MAGIC:
                raise ModelError(f"{path}: not a GGUF model file (bad magic)")
            version, tensors, count = struct.unpack("<IQQ", _read(handle, 20))
            if version not in (2, 3) or count > 100_000 or tensors > 1_000_000:
                raise ModelError(f"{path}: unsupported or corrupt GGUF header (version {version})")
            meta: dict[str, Any] = {"gguf.version": version, "gguf.tensor_count": tensors}
            for _ in range(count):
                key = _string(handle)
                if key.startswith("tokenizer.") and not full:
                    break
                (kind,) = struct.unpack("<I", _read(handle, 4))
                meta[key] = _value(handle, kind)
            return meta
    except ModelError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ModelError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file: {exc.strerror}") from exc
