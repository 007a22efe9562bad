"""Faults: each ends the job with a clear sentence and leaves no partial output behind.

The tools are the real ones; the faults are real too: a shard deleted from a
real checkpoint, a file-size limit (RLIMIT_FSIZE) on the real tool's process,
a checkpoint without its tokenizer for the converter to crash on, a
cancel while each stage is really running.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import LlamaCppConfig
from core.pipeline.job import Job
from core.pipeline.types import JobEvent, LogLine, StageProgress, StageStarted
from tests.e2e.pipeline_support import (
    failure,
    finished,
    leftovers,
    run_job,
    spec,
    stage_outcomes,
    tool_settings,
)
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(llamacpp_tools: LlamaCppTools, converter_python: Path, fake_ollama: FakeOllama):  # type: ignore[no-untyped-def]
    return tool_settings(llamacpp_tools, converter_python, fake_ollama.url)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    dest = tmp_path / "ckpt" / "tiny-llama"
    shutil.copytree(ensure_hf_model(TINY_LLAMA, shards=3), dest)
    return dest


@pytest.fixture
def f16(tiny_gguf_f16: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "src" / "tiny-llama-F16.gguf"
    dest.parent.mkdir()
    shutil.copy(tiny_gguf_f16, dest)
    return dest


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _small_file_limit() -> None:  # runs in the tool's process, between fork and exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


# --------------------------------------------------------------------------- before anything runs


async def test_a_missing_shard_stops_the_job_before_conversion(checkpoint: Path, tmp_path: Path,
                                                               settings) -> None:
    (checkpoint / "model-00002-of-00003.safetensors").unlink()
    out = tmp_path / "out"
    events = await run_job(Job(spec(checkpoint, out), settings))
    done = finished(events)
    assert done.status == "failed"
    assert failure(events).stage == "preflight"
    assert "model-00002-of-00003.safetensors" in done.message
    assert "convert" not in stage_outcomes(events)
    assert not out.exists()


async def test_missing_tools_are_named(checkpoint: Path, tmp_path: Path, settings) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    broken = replace(settings, llamacpp=LlamaCppConfig(bin_dir=empty, convert_script=tmp_path / "nope.py",
                                                       convert_python=settings.llamacpp.convert_python))
    events = await run_job(Job(spec(checkpoint, tmp_path / "out"), broken))
    done = finished(events)
    assert done.status == "failed"
    assert f"llama-quantize is not at {empty / 'llama-quantize'}" in done.message
    assert f"There is no converter at {tmp_path / 'nope.py'}" in done.message
    assert not (tmp_path / "out").exists()


async def test_an_unreachable_ollama_fails_the_preflight(f16: Path, tmp_path: Path, settings,
                                                         fake_ollama: FakeOllama) -> None:
    with fake_ollama.refusing():
        events = await run_job(Job(spec(f16, tmp_path / "out", quant="Q4_0"), settings))
    done = finished(events)
    assert done.status == "failed" and failure(events).stage == "preflight"
    assert "Ollama is not running at" in done.message
    assert not (tmp_path / "out").exists()


async def test_not_enough_disk_is_said_before_anything_runs(f16: Path, tmp_path: Path, settings,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The free space is the one input faked here (a full disk cannot be made without root)."""
    from core.pipeline import preflight

    real = preflight.disk_info

    def nearly_full(label: str, path: Path):  # type: ignore[no-untyped-def]
        info, notice = real(label, path)
        return replace(info, free=1 << 20), notice

    monkeypatch.setattr(preflight, "disk_info", nearly_full)
    out = tmp_path / "out"
    events = await run_job(Job(spec(f16, out, quant="Q8_0"), settings))
    done = finished(events)
    assert done.status == "failed" and failure(events).stage == "preflight"
    assert "Not enough disk: need" in done.message and f"on {out}, have 1.0 MiB" in done.message
    assert "Q8_0 GGUF" in done.message
    assert not out.exists()


# --------------------------------------------------------------------------- the tools fail


async def test_file_too_large_in_the_converter(checkpoint: Path, tmp_path: Path, settings) -> None:
    out = tmp_path / "out"
    events = await run_job(Job(spec(checkpoint, out, import_to_ollama=False), settings,
                               child_setup=_small_file_limit))
    done = finished(events)
    assert done.status == "failed"
    failed = failure(events)
    assert failed.stage == "convert"
    # numpy's tofile() meets the limit as a short write ("N requested and M written").
    assert failed.diagnosis is not None
    assert "size limit" in failed.diagnosis and "GiB free now" in failed.diagnosis
    assert any("requested and" in line or "File too large" in line for line in failed.tail)
    assert leftovers(out) == [] and not list(out.glob("*.gguf"))


async def test_file_too_large_in_llama_quantize(f16: Path, tmp_path: Path, settings) -> None:
    out = tmp_path / "out"
    events = await run_job(Job(spec(f16, out, quant="Q8_0", import_to_ollama=False), settings,
                               child_setup=_small_file_limit))
    failed = failure(events)
    assert finished(events).status == "failed"
    assert failed.stage == "quantize"
    assert "SIGXFSZ" in failed.message
    assert failed.diagnosis is not None and "File too large" in failed.diagnosis
    assert leftovers(out) == [] and not list(out.glob("*.gguf"))


async def test_a_converter_crash_shows_its_last_lines(checkpoint: Path, tmp_path: Path, settings) -> None:
    (checkpoint / "tokenizer.model").unlink()
    out = tmp_path / "out"
    events = await run_job(Job(spec(checkpoint, out, import_to_ollama=False), settings))
    done = finished(events)
    failed = failure(events)
    assert done.status == "failed" and failed.stage == "convert"
    assert failed.message.startswith("convert_hf_to_gguf.py failed with exit status")
    assert failed.tail, "the converter's last lines are shown"
    assert any("tokenizer" in line.lower() for line in failed.tail)
    assert leftovers(out) == [] and not list(out.glob("*.gguf"))


async def test_an_ollama_upload_refused(f16: Path, tmp_path: Path, settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/blobs/", method="POST", status=400,
                          error='digest mismatch, expected "sha256:aa", got "sha256:bb"')
    out = tmp_path / "out"
    events = await run_job(Job(spec(f16, out, quant="Q4_0"), settings))
    done = finished(events)
    failed = failure(events)
    assert done.status == "failed" and failed.stage == "import"
    assert "refused the upload" in failed.message and "digest mismatch" in failed.message
    assert fake_ollama.find("tiny-llama:q4_0") is None
    # The quantized file is finished and kept: importing again does not quantize again.
    assert (out / "tiny-llama-Q4_0.gguf").exists() and leftovers(out) == []


# --------------------------------------------------------------------------- cancel


def _cancel_when(stage: str, *, progress: bool = False, log: bool = False):  # type: ignore[no-untyped-def]
    seen: dict[str, object] = {}

    def on_event(job: Job, event: JobEvent) -> None:
        if "at" in seen:
            return
        hit = (isinstance(event, StageStarted) and event.stage == stage and not (progress or log)) or \
              (progress and isinstance(event, StageProgress) and event.stage == stage) or \
              (log and isinstance(event, LogLine) and event.stage == stage)
        if hit:
            seen["at"] = time.monotonic()
            seen["pids"] = job.running_pids
            job.cancel()

    return on_event, seen


async def _assert_cancelled(events: list[JobEvent], seen: dict[str, object], stage: str, out: Path) -> None:
    done = finished(events)
    assert done.status == "cancelled", done.message
    assert isinstance(seen.get("at"), float)
    assert time.monotonic() - float(seen["at"]) < 15  # type: ignore[arg-type]
    assert f"during {stage}" in done.message
    assert leftovers(out) == []
    pids = seen.get("pids") or ()
    assert all(not _alive(int(p)) for p in pids), "a tool survived the cancel"  # type: ignore[union-attr]


async def test_cancel_during_preflight(f16: Path, tmp_path: Path, settings) -> None:
    on_event, seen = _cancel_when("preflight")
    out = tmp_path / "out"
    events = await run_job(Job(spec(f16, out), settings), on_event)
    await _assert_cancelled(events, seen, "preflight", out)
    assert not out.exists()


async def test_cancel_during_convert(checkpoint: Path, tmp_path: Path, settings) -> None:
    on_event, seen = _cancel_when("convert", log=True)  # the converter is running and talking
    out = tmp_path / "out"
    events = await run_job(Job(spec(checkpoint, out), settings), on_event)
    await _assert_cancelled(events, seen, "convert", out)
    assert seen["pids"], "the converter was running when cancelled"
    assert not list(out.glob("*.gguf"))


async def test_cancel_during_quantize(f16: Path, tmp_path: Path, settings) -> None:
    on_event, seen = _cancel_when("quantize", progress=True)  # llama-quantize has started on the tensors
    out = tmp_path / "out"
    events = await run_job(Job(spec(f16, out, quant="Q4_K_M"), settings), on_event)
    await _assert_cancelled(events, seen, "quantize", out)
    assert not list(out.glob("*.gguf"))


async def test_cancel_during_import(f16: Path, tmp_path: Path, settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/blobs/", method="POST", delay=30)
    on_event, seen = _cancel_when("import", log=True)  # hashed; the upload is about to start
    out = tmp_path / "out"
    events = await run_job(Job(spec(f16, out, quant="Q4_0"), settings), on_event)
    await _assert_cancelled(events, seen, "import", out)
    assert fake_ollama.find("tiny-llama:q4_0") is None
    assert not [b for b in fake_ollama.blobs if b.startswith("sha256:")]
    # The finished quantized file stays for the rerun, and the message says so.
    assert "tiny-llama-Q4_0.gguf" in finished(events).message


def test_ctrl_c_in_the_cli_cancels_cleanly(checkpoint: Path, tmp_path: Path, llamacpp_tools: LlamaCppTools,
                                           converter_python: Path) -> None:
    """SIGINT to `llamadeck convert` while the converter runs: exit 130, converter gone, nothing partial."""
    config = tmp_path / "config.toml"
    config.write_text(f'[llamacpp]\nbin_dir = "{llamacpp_tools.bin_dir}"\n'
                      f'convert_script = "{llamacpp_tools.convert_script}"\n'
                      f'convert_python = "{converter_python}"\n')
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "--config", str(config), "convert", str(checkpoint),
         "--out", str(out), "--no-import", "--verbose"],
        cwd=root, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        lines.append(line)
        if "convert: INFO:hf-to-gguf" in line:
            break
        assert time.monotonic() < deadline, "".join(lines)
    converters = [int(p) for p in subprocess.run(["pgrep", "-f", str(checkpoint)], capture_output=True,
                                                 text=True).stdout.split()]
    assert converters, "the converter is not running"
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, "".join(lines) + rest
    assert "cancelled: Cancelled during convert" in rest
    time.sleep(0.2)
    assert not any(_alive(p) for p in converters if p != proc.pid)
    assert leftovers(out) == [] and not list(out.glob("*.gguf"))
