"""Outputs belong to what made them: a different model in a folder of the same name is never
mistaken for an earlier one, and a job deletes only the files it made itself.

Two real tiny checkpoints that differ only in their random weights (same names, same
shapes, so the same file types and the same sizes) are converted into one output
folder by the real tools; the fake Ollama's blob store shows which bytes were imported.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from core.pipeline.job import Job
from core.pipeline.types import JobEvent, PreflightReported
from tests.e2e.pipeline_support import finished, leftovers, run_job, spec, stage_outcomes, tool_settings
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(llamacpp_tools: LlamaCppTools, converter_python: Path, fake_ollama: FakeOllama):  # type: ignore[no-untyped-def]
    return tool_settings(llamacpp_tools, converter_python, fake_ollama.url)


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Path, Path]:
    """Two different checkpoints, each in a folder called tiny-llama."""
    first = tmp_path / "a" / "tiny-llama"
    second = tmp_path / "b" / "tiny-llama"
    shutil.copytree(ensure_hf_model(TINY_LLAMA), first)
    shutil.copytree(ensure_hf_model(replace(TINY_LLAMA, seed=1)), second)
    assert (first / "model.safetensors").read_bytes() != (second / "model.safetensors").read_bytes()
    return first, second


def _warnings(events: list[JobEvent]) -> str:
    report = next(e for e in events if isinstance(e, PreflightReported))
    return " ".join(c.message for c in report.checks if c.status == "warn")


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_different_checkpoint_of_the_same_name_is_converted_and_imported_as_itself(
        twins: tuple[Path, Path], tmp_path: Path, settings, fake_ollama: FakeOllama) -> None:
    first, second = twins
    out = tmp_path / "out"
    one = finished(await run_job(Job(spec(first, out, quant="Q4_K_M"), settings)))
    assert one.status == "succeeded", one.message
    events = await run_job(Job(spec(second, out, quant="Q4_K_M"), settings))
    two = finished(events)
    assert two.status == "succeeded", two.message
    # Both get the default name: the second replaces the first in Ollama, and is told so beforehand.
    assert "already has tiny-llama:q4_k_m" in _warnings(events)
    assert "Pass --ollama-name to keep both" in _warnings(events)
    assert stage_outcomes(events) == {"preflight": "finished", "convert": "finished", "quantize": "finished",
                                      "import": "finished"}
    assert one.outputs.quantized is not None and two.outputs.quantized is not None
    assert one.outputs.quantized != two.outputs.quantized and one.outputs.quantized.exists()
    # Ollama got each model's own bytes.
    assert one.outputs.ollama_digest != two.outputs.ollama_digest
    assert two.outputs.ollama_digest == _sha(two.outputs.quantized)
    assert fake_ollama.blobs[two.outputs.ollama_digest].read_bytes() == two.outputs.quantized.read_bytes()
    # The record beside each output says what made it.
    record = json.loads(two.outputs.quantized.with_name(two.outputs.quantized.name + ".llamadeck.json")
                        .read_text())
    assert record["stage"] == "quantize" and record["recipe"]["quant"] == "Q4_K_M"
    assert leftovers(out) == []

    # Run again, each is found under its own name and nothing heavy runs; the name is its own now.
    again = await run_job(Job(spec(second, out, quant="Q4_K_M"), settings))
    assert finished(again).outputs.quantized == two.outputs.quantized
    assert "already has" not in _warnings(again)
    assert stage_outcomes(again) == {"preflight": "finished", "convert": "skipped", "quantize": "skipped",
                                     "import": "finished"}


async def test_a_kept_f16_of_another_checkpoint_is_not_taken_for_this_ones(
        twins: tuple[Path, Path], tmp_path: Path, settings, fake_ollama: FakeOllama) -> None:
    first, second = twins
    out = tmp_path / "out"
    one = finished(await run_job(Job(spec(first, out, quant="Q4_K_M", keep_intermediate=True,
                                          import_to_ollama=False), settings)))
    assert one.status == "succeeded", one.message
    events = await run_job(Job(spec(second, out, quant="Q4_K_M", keep_intermediate=True,
                                    import_to_ollama=False), settings))
    two = finished(events)
    assert two.status == "succeeded", two.message
    assert stage_outcomes(events) == {"preflight": "finished", "convert": "finished", "quantize": "finished"}
    assert one.outputs.converted is not None and two.outputs.converted is not None
    assert one.outputs.converted != two.outputs.converted
    assert _sha(one.outputs.converted) != _sha(two.outputs.converted)
    assert _sha(one.outputs.quantized) != _sha(two.outputs.quantized)  # type: ignore[arg-type]


async def test_a_job_deletes_only_the_intermediate_it_made(tiny_hf_model: Path, tmp_path: Path,
                                                           settings) -> None:
    source = tmp_path / "ckpt" / "tiny-llama"
    shutil.copytree(tiny_hf_model, source)
    out = tmp_path / "out"
    kept = finished(await run_job(Job(spec(source, out, quant="Q4_K_M", keep_intermediate=True,
                                          import_to_ollama=False), settings)))
    assert kept.status == "succeeded" and kept.outputs.converted is not None
    f16 = kept.outputs.converted
    events = await run_job(Job(spec(source, out, quant="Q4_0", import_to_ollama=False), settings))
    assert finished(events).status == "succeeded"
    assert stage_outcomes(events)["convert"] == "skipped"
    assert f16.exists(), "the F16 that the first job kept on purpose was deleted by the second"

    # Without --keep-intermediate on a fresh folder, the F16 this job made is removed after quantizing.
    fresh = tmp_path / "fresh"
    done = finished(await run_job(Job(spec(source, fresh, quant="Q4_0", import_to_ollama=False), settings)))
    assert done.status == "succeeded" and done.outputs.converted is None
    assert sorted(p.name for p in fresh.glob("*.gguf")) == ["tiny-llama-Q4_0.gguf"]


async def test_a_quantized_file_from_another_gguf_of_the_same_name_is_not_taken(
        tiny_gguf_f16: Path, tmp_path: Path, settings, llamacpp_tools: LlamaCppTools,
        fake_ollama: FakeOllama) -> None:
    """`convert X-F16.gguf` and then `convert X-Q8_0.gguf`: both would write X-Q4_0.gguf, same size."""
    f16 = tmp_path / "s1" / "x-F16.gguf"
    f16.parent.mkdir()
    shutil.copy(tiny_gguf_f16, f16)
    q8 = tmp_path / "s2" / "x-Q8_0.gguf"
    q8.parent.mkdir()
    subprocess.run([str(llamacpp_tools.bin_dir / "llama-quantize"), str(f16), str(q8), "Q8_0"], check=True,
                   capture_output=True)
    out = tmp_path / "out"
    one = finished(await run_job(Job(spec(f16, out, quant="Q4_0", ollama_name="x1"), settings)))
    assert one.status == "succeeded", one.message
    events = await run_job(Job(spec(q8, out, quant="Q4_0", ollama_name="x2"), settings))
    two = finished(events)
    assert two.status == "succeeded", two.message
    assert stage_outcomes(events)["quantize"] == "finished"
    assert two.outputs.quantized != one.outputs.quantized
    assert two.outputs.ollama_digest != one.outputs.ollama_digest
    assert two.outputs.ollama_digest == _sha(two.outputs.quantized)  # type: ignore[arg-type]


async def test_a_rerun_whose_file_ollama_already_holds_needs_no_disk(tiny_gguf_f16: Path, tmp_path: Path,
                                                                     settings) -> None:
    src = tmp_path / "src" / "tiny-llama-F16.gguf"
    src.parent.mkdir()
    shutil.copy(tiny_gguf_f16, src)
    out = tmp_path / "out"
    assert finished(await run_job(Job(spec(src, out, quant="Q4_0"), settings))).status == "succeeded"
    events = await run_job(Job(spec(src, out, quant="Q4_0"), settings))
    assert finished(events).status == "succeeded"
    assert stage_outcomes(events)["quantize"] == "skipped"
    report = next(e for e in events if isinstance(e, PreflightReported))
    assert report.disk == (), "a copy Ollama already holds was counted"
    assert any("nothing to copy" in c.message for c in report.checks if c.name == "ollama")
