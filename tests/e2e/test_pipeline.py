"""The whole pipeline on the tiny model: real converter, real llama-quantize, the fake Ollama's HTTP API.

The quantized file is compared with the planner's prediction, to the byte:
the tensor data (weights.weight_table replays llama-quantize's type choice)
and the whole file (planner.file_size, header included).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from core.facts.gguf import facts_from_gguf
from core.facts.gguf_header import read_header
from core.pipeline.disk import predicted_size
from core.pipeline.job import Job
from core.pipeline.types import JobPlanned, LogLine, PreflightReported, StageProgress, StageStarted
from core.planner.weights import weight_table
from tests.e2e.pipeline_support import finished, leftovers, run_job, spec, stage_outcomes, tool_settings
from tests.fakes.fake_ollama import FakeOllama
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(llamacpp_tools: LlamaCppTools, converter_python: Path, fake_ollama: FakeOllama):  # type: ignore[no-untyped-def]
    return tool_settings(llamacpp_tools, converter_python, fake_ollama.url)


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


async def test_hf_checkpoint_to_ollama(tiny_hf_model: Path, tmp_path: Path, settings, fake_ollama: FakeOllama,
                                       tiny_gguf_f16: Path) -> None:
    out = tmp_path / "out"
    job = Job(spec(tiny_hf_model, out, quant="Q4_K_M", keep_intermediate=True), settings)
    events = await run_job(job)
    done = finished(events)
    assert done.status == "succeeded", done.message

    planned = events[0]
    assert isinstance(planned, JobPlanned)
    assert planned.stages == ("preflight", "convert", "quantize", "import")
    assert [e.stage for e in events if isinstance(e, StageStarted)] == list(planned.stages)
    assert stage_outcomes(events) == dict.fromkeys(planned.stages, "finished")
    report = next(e for e in events if isinstance(e, PreflightReported))
    names = {c.name for c in report.checks}
    assert report.ok and names >= {"shards", "architecture", "converter", "quantize", "quant", "fit", "disk",
                                   "ollama"}

    final = out / "tiny-llama-Q4_K_M.gguf"
    converted = out / "tiny-llama-F16.gguf"
    assert done.outputs.quantized == final and final.exists() and converted.exists()
    assert leftovers(out) == []
    # The converter's output is what the shared fixture converts the same checkpoint to.
    assert converted.stat().st_size == tiny_gguf_f16.stat().st_size

    # Progress came from the tools' own output, in order, ending at 1.
    for stage in ("convert", "quantize"):
        fractions = [e.fraction for e in events if isinstance(e, StageProgress) and e.stage == stage]
        assert fractions and fractions[-1] == pytest.approx(1.0)
        assert fractions == sorted(fractions)
    quant_tensors = [e.detail for e in events if isinstance(e, StageProgress) and e.stage == "quantize"]
    assert any(d.startswith("tensor ") for d in quant_tensors)

    # The size: tensor data exactly as the planner's replay says; the whole file where the planner has it.
    header = read_header(final)
    facts = facts_from_gguf(converted)
    assert header.file_size - header.data_offset == weight_table(facts, "Q4_K_M").padded_bytes
    assert final.stat().st_size == predicted_size(facts, "Q4_K_M")
    assert any(isinstance(e, LogLine) and "exactly as the planner predicted" in e.text for e in events)
    quant_check = next(c for c in report.checks if c.name == "quant")
    assert quant_check.status == "ok" and "predicted" in quant_check.message
    fit = next(c for c in report.checks if c.name == "fit")
    assert fit.status in ("ok", "warn") and "Q4_K_M" in fit.message

    # Ollama got the file (its digest checked by the server) and a model made from it.
    digest = _sha(final)
    assert done.outputs.ollama_digest == digest
    assert fake_ollama.blobs[digest].read_bytes() == final.read_bytes()
    create = [r for r in fake_ollama.requests if r.path == "/api/create"][-1]
    assert create.body["model"] == "tiny-llama:q4_k_m"
    assert create.body["files"] == {final.name: digest}
    assert create.body["parameters"]["stop"] == ["<|system|>", "</s>", "<|user|>", "<|assistant|>"]
    assert fake_ollama.find("tiny-llama:q4_k_m") is not None

    # A rerun checks the finished files and skips their stages; the server already has the blob.
    def uploads() -> int:
        return sum(1 for r in fake_ollama.requests if r.method == "POST" and r.path.startswith("/api/blobs/"))

    posts = uploads()
    again = await run_job(Job(spec(tiny_hf_model, out, quant="Q4_K_M", keep_intermediate=True), settings))
    assert finished(again).status == "succeeded"
    assert stage_outcomes(again) == {"preflight": "finished", "convert": "skipped", "quantize": "skipped",
                                     "import": "finished"}
    assert uploads() == posts


async def test_a_gguf_source_skips_conversion_and_the_intermediate_is_removed(
        tiny_gguf_f16: Path, tmp_path: Path, settings, fake_ollama: FakeOllama) -> None:
    src = tmp_path / "src" / "tiny-llama-F16.gguf"
    src.parent.mkdir()
    shutil.copy(tiny_gguf_f16, src)
    out = tmp_path / "out"
    events = await run_job(Job(spec(src, out, quant="Q8_0", ollama_name="tiny:q8"), settings))
    done = finished(events)
    assert done.status == "succeeded", done.message
    assert isinstance(events[0], JobPlanned) and events[0].stages == ("preflight", "quantize", "import")
    assert (out / "tiny-llama-Q8_0.gguf").exists()
    assert src.exists(), "the user's own GGUF must never be deleted"
    assert fake_ollama.find("tiny:q8") is not None


async def test_a_gguf_already_in_the_wanted_type_is_imported_as_it_is(
        tiny_gguf_f16: Path, tmp_path: Path, settings, fake_ollama: FakeOllama) -> None:
    events = await run_job(Job(spec(tiny_gguf_f16, tmp_path / "out", quant="F16"), settings))
    done = finished(events)
    assert done.status == "succeeded", done.message
    assert isinstance(events[0], JobPlanned) and events[0].stages == ("preflight", "import")
    assert _sha(tiny_gguf_f16) in fake_ollama.blobs
    assert not (tmp_path / "out").exists()


async def test_no_import_stops_after_the_gguf(tiny_gguf_f16: Path, tmp_path: Path, settings,
                                              fake_ollama: FakeOllama) -> None:
    out = tmp_path / "out"
    events = await run_job(Job(spec(tiny_gguf_f16, out, quant="Q4_0", import_to_ollama=False), settings))
    assert finished(events).status == "succeeded"
    assert stage_outcomes(events) == {"preflight": "finished", "quantize": "finished"}
    assert not any(r.path.startswith("/api/blobs") for r in fake_ollama.requests)


def test_cli_convert_json(tiny_gguf_f16: Path, tmp_path: Path, llamacpp_tools: LlamaCppTools,
                          converter_python: Path, fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import main

    config = tmp_path / "config.toml"
    config.write_text(f'[llamacpp]\nbin_dir = "{llamacpp_tools.bin_dir}"\n'
                      f'convert_script = "{llamacpp_tools.convert_script}"\n'
                      f'convert_python = "{converter_python}"\n')
    out = tmp_path / "out"
    src = tmp_path / "tiny-llama-F16.gguf"
    shutil.copy(tiny_gguf_f16, src)
    code = main(["--config", str(config), "convert", str(src), "--quant", "q4_k_m", "--out", str(out),
                 "--host", fake_ollama.url, "--ollama-name", "cli-tiny", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert lines[0]["event"] == "JobPlanned" and lines[0]["quant"] == "Q4_K_M"
    assert lines[-1]["event"] == "JobFinished" and lines[-1]["status"] == "succeeded"
    assert lines[-1]["outputs"]["quantized"] == str(out / "tiny-llama-Q4_K_M.gguf")
    assert any(e["event"] == "StageProgress" and e["stage"] == "quantize" for e in lines)
    assert fake_ollama.find("cli-tiny") is not None


def test_cli_convert_text_shows_checks_stages_and_the_result(
        tiny_gguf_f16: Path, tmp_path: Path, llamacpp_tools: LlamaCppTools, converter_python: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    config = tmp_path / "config.toml"
    config.write_text(f'[llamacpp]\nbin_dir = "{llamacpp_tools.bin_dir}"\n'
                      f'convert_python = "{converter_python}"\n')
    src = tmp_path / "tiny-llama-F16.gguf"
    shutil.copy(tiny_gguf_f16, src)
    code = main(["--config", str(config), "convert", str(src), "--quant", "Q4_0",
                 "--out", str(tmp_path / "out"), "--no-import"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "ok    quantize" in err
    assert "[2/2] quantize done" in err
    assert "succeeded: Wrote" in err and "tiny-llama-Q4_0.gguf" in err


async def test_log_lines_carry_the_tools_output(tiny_gguf_f16: Path, tmp_path: Path, settings) -> None:
    events = await run_job(Job(spec(tiny_gguf_f16, tmp_path / "o", quant="Q4_0", import_to_ollama=False),
                               settings))
    texts = [e.text for e in events if isinstance(e, LogLine) and e.stage == "quantize"]
    assert any("llama_model_quantize_impl: quant size" in t for t in texts)


async def test_a_split_gguf_is_quantized_into_one_file(tiny_hf_model: Path, tmp_path: Path, settings,
                                                      llamacpp_tools: LlamaCppTools, converter_python: Path,
                                                      fake_ollama: FakeOllama) -> None:
    split = tmp_path / "split"
    split.mkdir()
    subprocess.run([str(converter_python), str(llamacpp_tools.convert_script), str(tiny_hf_model),
                    "--outfile", str(split / "tiny-llama-F16.gguf"), "--outtype", "f16",
                    "--split-max-tensors", "16"], check=True, capture_output=True)
    parts = sorted(split.glob("*.gguf"))
    assert [p.name for p in parts] == [f"tiny-llama-F16-0000{i}-of-00003.gguf" for i in (1, 2, 3)]

    # As it is, Ollama cannot take it: said before anything runs.
    as_is = await run_job(Job(spec(parts[1], tmp_path / "o1", quant="F16"), settings))
    assert finished(as_is).status == "failed"
    assert "split" in finished(as_is).message and "llama-gguf-split --merge" in finished(as_is).message

    out = tmp_path / "out"
    events = await run_job(Job(spec(parts[0], out, quant="Q4_K_M"), settings))
    done = finished(events)
    assert done.status == "succeeded", done.message
    final = out / "tiny-llama-Q4_K_M.gguf"
    assert sorted(p.name for p in out.iterdir()) == [final.name, final.name + ".llamadeck.json"]
    assert read_header(final).metadata.get("split.count") in (None, 0)
    assert fake_ollama.find("tiny-llama:q4_k_m") is not None
