"""Model files are verified before use; corrupt, truncated or foreign files are refused."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from edgebrain.errors import ModelError
from edgebrain.understand import modelfile
from edgebrain.understand.gguf import read_metadata
from edgebrain.understand.llama import load_llama


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBRAIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EDGEBRAIN_MODEL", raising=False)
    return tmp_path / "home"


def test_the_real_model_is_the_verified_one(model_path):
    info = modelfile.verify(model_path, rehash=True)
    if model_path.name == modelfile.PYPI_FILE:
        assert info.size == modelfile.PYPI_SIZE and info.sha256 == modelfile.PYPI_SHA256
    assert "Qwen2.5" in info.name
    assert read_metadata(model_path)["general.architecture"] == "qwen2"


def test_no_model_is_a_clear_error(home):
    with pytest.raises(ModelError, match="edgebrain model fetch"):
        modelfile.resolve()


def test_not_a_gguf_file_is_refused(tmp_path):
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"<html>not found</html>" * 10)
    with pytest.raises(ModelError, match="not a GGUF model file"):
        modelfile.verify(bogus)


def test_truncated_known_file_is_refused_by_size(home, model_path):
    folder = home / "models"
    folder.mkdir(parents=True)
    with model_path.open("rb") as source:
        (folder / modelfile.PYPI_FILE).write_bytes(source.read(4 << 20))
    with pytest.raises(ModelError, match="truncated or corrupt"):
        modelfile.resolve()


def test_same_size_wrong_content_is_refused_by_hash(tmp_path, model_path):
    copy = tmp_path / modelfile.PYPI_FILE
    shutil.copyfile(model_path, copy)
    with copy.open("r+b") as handle:
        handle.seek(modelfile.PYPI_SIZE // 2)
        handle.write(b"\x00" * 64)
    with pytest.raises(ModelError, match="does not match the expected"):
        modelfile.verify(copy)


def test_stamp_is_invalidated_when_the_file_changes(tmp_path, model_path):
    copy = tmp_path / modelfile.PYPI_FILE
    shutil.copyfile(model_path, copy)
    assert modelfile.verify(copy).sha256 == modelfile.PYPI_SHA256
    with copy.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\xff" * 8)
    with pytest.raises(ModelError, match="does not match"):
        modelfile.verify(copy)


def test_truncated_unknown_file_is_refused_by_llama_cpp(tmp_path, model_path):
    cut = tmp_path / "other-model.gguf"
    with model_path.open("rb") as source:
        cut.write_bytes(source.read(20 << 20))
    modelfile.verify(cut)  # the header is intact; only loading can tell
    with pytest.raises(ModelError, match="truncated or corrupt"):
        load_llama(cut)


def test_hugging_face_unreachable_fails_fast_and_clearly(home, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(modelfile, "HF_URL", f"http://127.0.0.1:{port}/model.gguf")
    (home / "models").mkdir(parents=True)
    with pytest.raises(ModelError, match="cannot reach Hugging Face"):
        modelfile._download_hf(home / "models" / modelfile.HF_FILE, None, timeout=2)
    assert not any(Path(home / "models").iterdir())
