"""Session fixtures for the end-to-end tests: real llama.cpp, real converter, real tiny models.

Everything expensive is cached outside the test run (the user cache, keyed by
content: llama.cpp version, converter pins, model spec), so only the first run
on a machine builds llama.cpp (minutes), creates the converter venv (~1.5 min)
and converts the tiny models (~7 s each); later sessions find them ready.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.hollow_gguf import hollow_model
from tests.fakes.tiny_models import TINY_LLAMA, VARIANTS, TinySpec, ensure_gguf, ensure_hf_model
from tests.support.converter_env import ensure_converter_python
from tests.support.llamacpp import LlamaCppTools, ensure_tools

# Real architectures as hollow GGUFs: dense with and without GQA, tied embeddings,
# sliding-window layers, MoE and MLA.
HOLLOW_MODELS = ("llama-3.1-8b", "llama-3.2-1b", "qwen2.5-0.5b", "qwen2.5-7b", "qwen3-8b", "mistral-7b",
                 "gemma-2-9b", "gemma-3-4b", "qwen3-30b-a3b", "deepseek-r1", "llama-3.1-70b")


@pytest.fixture(scope="session")
def llamacpp_tools() -> LlamaCppTools:
    """llama-quantize, llama-server, llama-bench, llama-fit-params and the source tree."""
    return ensure_tools()


@pytest.fixture(scope="session")
def converter_python() -> Path:
    """The python of the converter's own venv (torch CPU, transformers, sentencepiece, gguf-py)."""
    return ensure_converter_python()


@pytest.fixture(scope="session")
def tiny_hf_model() -> Path:
    """The tiny Llama HF checkpoint (K-quant friendly shapes); read-only, copy it to modify it."""
    return ensure_hf_model(TINY_LLAMA)


@pytest.fixture(scope="session")
def tiny_gguf_f16(converter_python: Path, llamacpp_tools: LlamaCppTools) -> Path:
    """The tiny Llama converted to f16 GGUF by the real convert_hf_to_gguf.py."""
    return ensure_gguf(TINY_LLAMA, python=converter_python, convert_script=llamacpp_tools.convert_script)


@pytest.fixture(scope="session")
def tiny_ggufs(converter_python: Path, llamacpp_tools: LlamaCppTools) -> dict[str, Path]:
    """Every tiny variant as f16 GGUF, by spec name."""
    return {name: ensure_gguf(spec, python=converter_python, convert_script=llamacpp_tools.convert_script)
            for name, spec in VARIANTS.items()}


@pytest.fixture(params=sorted(VARIANTS), ids=str)
def tiny_variant(request: pytest.FixtureRequest, tiny_ggufs: dict[str, Path]) -> tuple[TinySpec, Path]:
    """Each tiny variant in turn: (spec, f16 GGUF)."""
    name = str(request.param)
    return VARIANTS[name], tiny_ggufs[name]


@pytest.fixture(scope="session")
def hollow_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Hollow F16 GGUFs of real models (a few KiB on disk each), by catalog id."""
    root = tmp_path_factory.mktemp("hollow")
    return {entry: hollow_model(entry, root) for entry in HOLLOW_MODELS}
