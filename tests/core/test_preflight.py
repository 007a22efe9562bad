"""Pre-flight checks: each finding is a sentence that names the problem and the fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.pipeline.preflight import check_disk, check_shards
from core.pipeline.tools import check_architecture, check_converter, check_quantize, registered_architectures
from core.pipeline.types import DiskNeed
from core.units import format_bytes_tenths
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
from tests.support.llamacpp import ensure_source


@pytest.fixture
def sharded(tmp_path: Path) -> Path:
    dest = tmp_path / "tiny-llama"
    shutil.copytree(ensure_hf_model(TINY_LLAMA, shards=3), dest)
    return dest


@pytest.fixture(scope="module")
def converter_script() -> Path:
    """The real converter: fetched with the pinned source, so its users are marked e2e."""
    return ensure_source() / "convert_hf_to_gguf.py"


# --------------------------------------------------------------------------- shards


def test_complete_shards_pass(sharded: Path) -> None:
    check = check_shards(sharded)
    assert check.status == "ok"
    assert "3 weight files" in check.message


def test_a_missing_shard_is_named(sharded: Path) -> None:
    (sharded / "model-00002-of-00003.safetensors").unlink()
    check = check_shards(sharded)
    assert check.failed
    assert "model-00002-of-00003.safetensors" in check.message
    assert "model-00001" not in check.message


def test_a_truncated_shard_is_caught_with_its_sizes(sharded: Path) -> None:
    shard = sharded / "model-00003-of-00003.safetensors"
    full = shard.stat().st_size
    with shard.open("r+b") as fh:
        fh.truncate(full - 1000)
    check = check_shards(sharded)
    assert check.failed
    assert "model-00003-of-00003.safetensors" in check.message
    assert format_bytes_tenths(full) in check.message and "again" in check.message


# --------------------------------------------------------------------------- converter


@pytest.mark.e2e  # reads the real convert_hf_to_gguf.py of the pinned llama.cpp source
def test_a_converter_python_without_torch_gets_the_pip_command(converter_script: Path) -> None:
    # The project's own venv deliberately has no torch or transformers.
    check = check_converter(Path(sys.executable), converter_script)
    assert check.failed
    assert "torch" in check.message and "transformers" in check.message
    assert f"{sys.executable} -m pip install torch --index-url https://download.pytorch.org/whl/cpu" \
        in check.message
    assert "requirements-convert_hf_to_gguf.txt" in check.message


@pytest.mark.e2e  # reads the real convert_hf_to_gguf.py of the pinned llama.cpp source
def test_a_converter_python_that_does_not_exist(converter_script: Path, tmp_path: Path) -> None:
    check = check_converter(tmp_path / "nope" / "python", converter_script)
    assert check.failed and "cannot be started" in check.message


def test_no_converter_script_is_reported() -> None:
    check = check_converter(Path(sys.executable), None)
    assert check.failed and "llamacpp.convert_script" in check.message
    check = check_converter(Path(sys.executable), Path("/nowhere/convert_hf_to_gguf.py"))
    assert check.failed and "/nowhere/convert_hf_to_gguf.py" in check.message


# --------------------------------------------------------------------------- architecture


@pytest.mark.e2e  # reads the real convert_hf_to_gguf.py of the pinned llama.cpp source
def test_registered_architectures_are_read_from_the_converter(converter_script: Path) -> None:
    names = registered_architectures(converter_script)
    # Both the single-name and the multi-line decorator forms are found.
    assert {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen2Model", "MistralForCausalLM"} <= names
    assert len(names) > 100


@pytest.mark.e2e  # reads the real convert_hf_to_gguf.py of the pinned llama.cpp source
def test_architecture_support(converter_script: Path) -> None:
    assert check_architecture({"architectures": ["LlamaForCausalLM"]}, converter_script).status == "ok"
    unknown = check_architecture({"architectures": ["FooBarForCausalLM"]}, converter_script)
    assert unknown.failed and "FooBarForCausalLM" in unknown.message and "Update llama.cpp" in unknown.message
    assert check_architecture({}, converter_script).status == "warn"
    assert check_architecture({"architectures": ["LlamaForCausalLM"]}, None).status == "skip"


# --------------------------------------------------------------------------- llama-quantize


def test_llama_quantize_not_found() -> None:
    check = check_quantize(None, "Q4_K_M")
    assert check.failed and "llamacpp.bin_dir" in check.message
    check = check_quantize(Path("/nowhere/llama-quantize"), "Q4_K_M")
    assert check.failed and "/nowhere/llama-quantize" in check.message


def test_llama_quantize_not_executable(tmp_path: Path) -> None:
    binary = tmp_path / "llama-quantize"
    binary.write_bytes(b"\x7fELF")
    binary.chmod(0o644)
    check = check_quantize(binary, "Q4_K_M")
    assert check.failed and "chmod +x" in check.message


def test_no_quantize_stage_skips_the_check() -> None:
    assert check_quantize(None, None).status == "skip"


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to build a binary")
def test_missing_libllama_is_diagnosed(tmp_path: Path) -> None:
    """A real ELF linked against libllama.so, run after the library is gone: the loader's own error."""
    (tmp_path / "lib.c").write_text("int llama_answer(void) { return 42; }\n")
    (tmp_path / "main.c").write_text("int llama_answer(void);\n"
                                     "int main(void) { return llama_answer() - 42; }\n")
    lib = tmp_path / "libllama.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(tmp_path / "lib.c")], check=True)
    binary = tmp_path / "llama-quantize"
    subprocess.run(["cc", "-o", str(binary), str(tmp_path / "main.c"), f"-L{tmp_path}", "-lllama"],
                   check=True)
    (tmp_path / "libllama.so").unlink()
    env_before = os.environ.get("LD_LIBRARY_PATH")
    assert env_before is None or str(tmp_path) not in env_before
    check = check_quantize(binary, "Q4_K_M")
    assert check.failed
    assert "libllama.so" in check.message
    assert "LD_LIBRARY_PATH" in check.message and "-DBUILD_SHARED_LIBS=OFF" in check.message


# --------------------------------------------------------------------------- disk


def test_not_enough_disk_says_need_and_have() -> None:
    need = DiskNeed("/models", "/", need=20 << 30, free=5 << 30,
                    what=("F16 GGUF 15.0 GiB", "Q4_K_M GGUF 5.0 GiB"))
    (check,) = check_disk([need])
    assert check.failed
    assert "need 20.0 GiB on /models, have 5.0 GiB" in check.message
    assert "F16 GGUF 15.0 GiB + Q4_K_M GGUF 5.0 GiB" in check.message


def test_enough_disk_passes() -> None:
    (check,) = check_disk([DiskNeed("/m", "/", need=1 << 20, free=1 << 30, what=("x 1.0 MiB",))])
    assert check.status == "ok"
