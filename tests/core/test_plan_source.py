"""What `plan MODEL` and the model field accept: paths, catalog names, then Ollama; and their sentences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import HostConfig
from core.errors import ModelFactsError, ModelNotFound, OllamaUnreachable
from core.ollama.client import OllamaClient
from core.planner.source import load_local, ollama_name, resolve_model
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf
from tests.fakes.tiny_models import TINY_LLAMA, write_checkpoint


def opener(url: str):  # type: ignore[no-untyped-def]
    return lambda: OllamaClient(HostConfig(name="fake", url=url))


def dead_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once it is closed


def test_prefix() -> None:
    assert ollama_name("ollama:qwen3:8b") == "qwen3:8b"
    assert ollama_name("  OLLAMA:x ") == "x"
    assert ollama_name("qwen3:8b") is None


async def test_catalog_names_never_ask_the_server(fake_ollama: FakeOllama) -> None:
    before = len(fake_ollama.requests)
    model = await resolve_model("qwen3:8b", opener(fake_ollama.url))
    assert (model.kind, model.facts.source, model.pipeline_source) == ("catalog", "catalog", "Qwen/Qwen3-8B")
    assert len(fake_ollama.requests) == before


async def test_the_prefix_asks_the_server(fake_ollama: FakeOllama) -> None:
    model = await resolve_model("ollama:qwen3:8b", opener(fake_ollama.url))
    assert (model.kind, model.ollama_name, model.facts.source) == ("ollama", "qwen3:8b", "ollama")
    assert model.facts.file_type == "Q4_K_M" and model.label == "qwen3:8b"
    assert model.pipeline_source is None and model.ollama_url == fake_ollama.url
    assert any(r.path == "/api/show" for r in fake_ollama.requests)


async def test_a_name_nothing_local_knows_goes_to_the_server(fake_ollama: FakeOllama) -> None:
    from tests.fakes.fake_ollama_models import demo_models

    custom = demo_models()[1]
    custom.name = "my-qwen:latest"
    fake_ollama.add_model(custom)
    model = await resolve_model("my-qwen", opener(fake_ollama.url))
    assert model.kind == "ollama" and model.facts.architecture == "qwen3"


async def test_unknown_everywhere_names_both_places_and_suggests(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelFactsError) as err:
        await resolve_model("qwen3:8bb", opener(fake_ollama.url))
    text = str(err.value)
    assert "'qwen3:8bb' is not a file, a folder or a catalog model" in text
    assert f"Ollama at {fake_ollama.url} has no model of that name" in text
    assert "Did you mean qwen3:8b" in text


async def test_a_model_the_server_lacks_when_asked_directly(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFound, match=r"'ghost:1b' is not on Ollama at .*llamadeck pull ghost:1b"):
        await resolve_model("ollama:ghost:1b", opener(fake_ollama.url))


async def test_a_dead_server_is_named_after_the_local_lookups() -> None:
    url = dead_url()
    with pytest.raises(ModelFactsError, match=r"Ollama, asked next, does not answer at http://127\.0\.0\.1"):
        await resolve_model("ghost:1b", opener(url))
    with pytest.raises(OllamaUnreachable, match="Ollama is not running at"):
        await resolve_model("ollama:ghost:1b", opener(url))


async def test_without_a_server_the_catalog_suggests() -> None:
    with pytest.raises(ModelFactsError, match=r"Did you mean llama3\.1:8b"):
        await resolve_model("lama3.1:8b", None)


def test_local_kinds(tmp_path: Path) -> None:
    gguf = write_gguf(tmp_path / "m.gguf", "llama", llama_kv(), llama_tensors())
    hf = write_checkpoint(tmp_path / "tiny", TINY_LLAMA)
    file = load_local(str(gguf))
    assert (file.kind, file.path, file.pipeline_source) == ("gguf", str(gguf), str(gguf))
    assert file.label == "m.gguf"
    folder = load_local(str(hf))
    assert (folder.kind, folder.path, folder.pipeline_source) == ("hf-dir", str(hf), str(hf))


def test_missing_shards_are_listed(tmp_path: Path) -> None:
    hf = write_checkpoint(tmp_path / "tiny", TINY_LLAMA, shards=3)
    (hf / "model-00002-of-00003.safetensors").unlink()
    with pytest.raises(ModelFactsError, match=r"model-00002-of-00003\.safetensors"):
        load_local(str(hf))


def test_empty_input_is_a_sentence() -> None:
    with pytest.raises(ModelFactsError, match="No model given"):
        load_local("  ")


def test_index_naming_files_that_are_not_there(tmp_path: Path) -> None:
    hf = write_checkpoint(tmp_path / "tiny", TINY_LLAMA, shards=2)
    index = json.loads((hf / "model.safetensors.index.json").read_text())
    first = next(iter(index["weight_map"]))
    index["weight_map"][first] = "model-00009-of-00009.safetensors"
    (hf / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelFactsError, match=r"model-00009-of-00009\.safetensors"):
        load_local(str(hf))
