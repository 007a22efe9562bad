"""The GGUF files on this machine: gguf_dirs and the Hugging Face cache, split parts as one model."""

from __future__ import annotations

import os
from pathlib import Path

from core.facts.local_gguf import HF_CACHE, delete_gguf, find_gguf_files
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf


def hf_snapshot(cache: Path, repo: str, name: str) -> Path:
    """A file as huggingface_hub stores it: a snapshot link into blobs/."""
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "blobs").mkdir(parents=True)
    blob = write_gguf(root / "blobs" / "0123abcd", "llama", llama_kv(**{"general.name": "Hub Llama"}),
                      llama_tensors())
    snap = root / "snapshots" / "f00d"
    snap.mkdir(parents=True)
    link = snap / name
    link.symlink_to(os.path.relpath(blob, snap))
    return link


def test_files_are_listed_with_their_header_facts_and_split_parts_grouped(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "sub").mkdir(parents=True)
    single = write_gguf(models / "tiny-q8.gguf", "llama", llama_kv(**{"general.file_type": 7}),
                        llama_tensors(wtype="Q8_0"))
    write_gguf(models / "sub" / "big.gguf", "llama", llama_kv(ctx=4096), llama_tensors(n_layer=3),
               split_max_tensors=10)
    (models / "notes.txt").write_text("not a model")
    link = hf_snapshot(tmp_path / "hub", "org/hub-llama", "hub-llama-f16.gguf")

    found = {e.path.name: e for e in find_gguf_files([models], tmp_path / "hub")}
    assert set(found) == {"tiny-q8.gguf", "big-00001-of-00003.gguf", "hub-llama-f16.gguf"}
    tiny = found["tiny-q8.gguf"]
    assert tiny.architecture == "llama" and tiny.n_params and tiny.file_type == "Q8_0"
    assert tiny.context_length == 2048 and tiny.size == single.stat().st_size and tiny.problem is None
    big = found["big-00001-of-00003.gguf"]
    assert len(big.parts) == 3 and big.label == "big-00001-of-00003.gguf (+2 parts)"
    assert big.size == sum(p.stat().st_size for p in big.parts) and big.context_length == 4096
    hub = found["hub-llama-f16.gguf"]
    assert hub.where == HF_CACHE and hub.in_hf_cache and hub.path == link and hub.name == "Hub Llama"
    assert tiny.to_json()["file_type"] == "Q8_0"


def test_a_file_that_cannot_be_read_is_listed_with_why(tmp_path: Path) -> None:
    write_gguf(tmp_path / "big.gguf", "llama", llama_kv(), llama_tensors(n_layer=3), split_max_tensors=10)
    (tmp_path / "big-00002-of-00003.gguf").unlink()
    (tmp_path / "broken.gguf").write_bytes(b"GGUF" + b"\0" * 8)
    found = {e.path.name: e for e in find_gguf_files([tmp_path])}
    assert "missing" in (found["big-00001-of-00003.gguf"].problem or "")
    assert found["broken.gguf"].problem and found["broken.gguf"].architecture is None


def test_missing_folders_list_nothing(tmp_path: Path) -> None:
    assert find_gguf_files([tmp_path / "nope"], tmp_path / "no-hub") == []


def test_delete_removes_every_part_and_the_hf_blob(tmp_path: Path) -> None:
    models = tmp_path / "m"
    models.mkdir()
    write_gguf(models / "big.gguf", "llama", llama_kv(), llama_tensors(n_layer=3), split_max_tensors=10)
    link = hf_snapshot(tmp_path / "hub", "org/x", "x.gguf")
    blob = link.resolve()
    entries = {e.path.name: e for e in find_gguf_files([tmp_path / "m"], tmp_path / "hub")}
    big = entries["big-00001-of-00003.gguf"]
    assert delete_gguf(big) == big.size
    assert not any(p.exists() for p in big.parts)
    hub = entries["x.gguf"]
    assert delete_gguf(hub) == hub.size
    assert not link.exists() and not link.is_symlink() and not blob.exists()
    assert find_gguf_files([tmp_path / "m"], tmp_path / "hub") == []
