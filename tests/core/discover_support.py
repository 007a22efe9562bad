"""What the Discover tests share: the local Hub stand-in as a fixture, and repos of real small GGUFs.

huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE when it is imported, so
the fixture points its constants at the stand-in for one test (the autouse
fixture in tests/conftest.py sets HF_HUB_OFFLINE=1 for every other test); a
test of the environment variables themselves runs the CLI in a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.discover.header_cache import HeaderCache
from core.discover.hub import Hub
from core.planner.machine import machine_spec
from core.planner.types import MachineSpec
from tests.fakes.fake_hub import FakeHub, HubRepo
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf
from tests.fakes.hollow_gguf import hollow_model

TOKEN = "hf_discover_secret_token_123"

# (tokens, merges) as the real GGUFs carry them: the header is as long as the real one
VOCABULARIES = {
    "32k": ("mistral-7b", (32768, 0)),
    "128k": ("llama-3.1-8b", (128256, 280147)),
    "152k": ("qwen2.5-72b", (152064, 151387)),
    "256k": ("gemma-3-27b", (262208, 0)),
}
# llama.cpp's general.file_type ids
FILE_TYPES = {"F16": 1, "Q8_0": 7, "Q4_K_M": 15}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The stand-in, with huggingface_hub pointed at it and online, for this test only."""
    from huggingface_hub import constants

    with FakeHub(token=TOKEN) as fake:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        yield fake


def hub_for(fake: FakeHub, *, token: bool = True) -> Hub:
    return Hub(fake.url, token=fake.token if token else None)


def cache_in(tmp_path: Path) -> HeaderCache:
    return HeaderCache(tmp_path / "header-cache")


def tiny_gguf(path: Path, quant: str = "F16", *, n_layer: int = 2, split_max_tensors: int = 0) -> Path:
    """A real, small llama GGUF whose weights are `quant`'s base type (Q4_K_M: Q4_K), 256-wide rows."""
    wtype = {"F16": "F16", "Q8_0": "Q8_0", "Q4_K_M": "Q4_K"}[quant]
    kv = llama_kv(n_layer=n_layer, n_embd=256, n_head=4, n_head_kv=2, n_ff=512,
                  **{"general.file_type": FILE_TYPES[quant]})
    tensors = llama_tensors(n_layer=n_layer, n_embd=256, n_head=4, n_head_kv=2, n_ff=512, n_vocab=256,
                            wtype=wtype)
    return write_gguf(path, "llama", kv, tensors, split_max_tensors=split_max_tensors)


def tiny_repo(folder: Path, repo_id: str = "someone/Tiny-GGUF", **kwargs: object) -> HubRepo:
    """A repo of three quants, a split F16, a vision projector and a README."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"Tiny-{q}.gguf": tiny_gguf(folder / f"Tiny-{q}.gguf", q) for q in ("Q4_K_M", "Q8_0")}
    tiny_gguf(folder / "Tiny-F16.gguf", "F16", n_layer=3, split_max_tensors=10)
    for part in sorted(folder.glob("Tiny-F16-*-of-*.gguf")):
        files[f"F16/{part.name}"] = part
    files["mmproj-Tiny-f16.gguf"] = tiny_gguf(folder / "mmproj.gguf", "F16")
    readme = folder / "README.md"
    readme.write_text("# Tiny\n")
    files["README.md"] = readme
    return HubRepo(repo_id, files, **kwargs)  # type: ignore[arg-type]


def hollow_repo(folder: Path, vocab: str, repo_id: str | None = None, *, copies: int = 1) -> HubRepo:
    """A repo of `copies` hollow GGUFs of a real model with a real-sized vocabulary (sparse files)."""
    model, vocabulary = VOCABULARIES[vocab]
    path = hollow_model(model, folder / vocab, vocabulary=vocabulary)
    files = {f"{model}-{i:02d}-F16.gguf": path for i in range(copies)}
    return HubRepo(repo_id or f"hollow/{model}-GGUF", files)


def machine(gpu: str = "4090", ram_gb: float = 64) -> MachineSpec:
    return machine_spec([gpu] if gpu else [], ram_gb=ram_gb)


def hollow_quants(folder: Path, model: str, quants: tuple[str, ...]) -> dict[str, Path]:
    """Hollow files of `model` as llama-quantize would write each quant (tensor types replayed)."""
    from core.facts.gguf import facts_from_gguf
    from core.planner.plan import tensor_types

    base = hollow_model(model, folder)
    facts = facts_from_gguf(base)
    out = {}
    for quant in quants:
        types = {c.name: c.ggml_type for c in tensor_types(facts, quant)}
        path = base if quant == "F16" else hollow_model(model, folder, quantized=(quant, types))
        out[f"{model}-{quant}.gguf"] = path
    return out
