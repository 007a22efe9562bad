"""The jobs screen running real jobs: the real converter and llama-quantize, the fake Ollama's HTTP API.

Only Ollama's binary is a fake. The tools, the tiny checkpoint and its
GGUF are the e2e suite's (built once per machine and cached), so a whole
convert + quantize + import of the tiny model takes seconds; the other
jobs start from the converted GGUF and run llama-quantize only, or stop
while the converter is still running.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Static

from core.config import Settings
from core.pipeline.types import JobSpec
from tests.e2e.pipeline_support import tool_settings
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.tiny_models import TINY_LLAMA, ensure_gguf, ensure_hf_model
from tests.support.converter_env import ensure_converter_python
from tests.support.llamacpp import LlamaCppTools, ensure_tools
from tests.tui.conftest import screen_text, wait_for
from tests.tui.test_jobs import SIZE, ended, jobs_app, open_jobs, stage_classes, stage_lines, type_text
from tui.app import LlamadeckApp
from tui.screens.jobs.new_job import NewJobDialog

pytestmark = pytest.mark.e2e

JOB_TIMEOUT = 180  # the converter imports torch: seconds on a free machine, more on a busy CI box


@pytest.fixture(scope="module")
def tools() -> LlamaCppTools:
    return ensure_tools()


@pytest.fixture(scope="module")
def converter_python() -> Path:
    return ensure_converter_python()


@pytest.fixture
def app_with_tools(settings: Settings, tools: LlamaCppTools, converter_python: Path,
                   fake_ollama: FakeOllama) -> LlamadeckApp:
    real = tool_settings(tools, converter_python, fake_ollama.url)
    return jobs_app(replace(settings, llamacpp=real.llamacpp), ollama_url=fake_ollama.url)


@pytest.fixture
def f16(tools: LlamaCppTools, converter_python: Path, tmp_path: Path) -> Path:
    """The tiny model as the real converter writes it, in a folder of its own."""
    dest = tmp_path / "src" / "tiny-llama-F16.gguf"
    dest.parent.mkdir()
    shutil.copy(ensure_gguf(TINY_LLAMA, python=converter_python, convert_script=tools.convert_script), dest)
    return dest


def out_dir(settings: Settings) -> Path:
    return settings.hf_cache_dir.parent / "out"  # jobs_app's gguf_dirs[0], where jobs write by default


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part")) if folder.exists() else []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_a_checkpoint_runs_through_convert_quantize_and_import(
        app_with_tools: LlamadeckApp, settings: Settings, fake_ollama: FakeOllama) -> None:
    """Typed into the form, run for real, every stage shown done, the model in (the fake) Ollama."""
    app = app_with_tools
    model = ensure_hf_model(TINY_LLAMA)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewJobDialog))
        await type_text(pilot, str(model))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.jobs) == 1)
        job = screen.jobs[1]
        # While the converter works, its stage runs and its lines reach the log.
        await wait_for(pilot, lambda: job.stage("convert").status == "running" and any(
            "hf-to-gguf" in line for line in job.log), timeout=JOB_TIMEOUT)
        assert "▶ convert   running" in stage_lines(screen)["convert"]
        await ended(pilot, job, timeout=JOB_TIMEOUT)
        assert job.status == "succeeded", job.finished
        lines = stage_lines(screen)
        assert list(lines) == ["preflight", "convert", "quantize", "import"]
        for stage, line in lines.items():
            assert line.startswith(f"✓ {stage}"), line
            assert "-done" in stage_classes(screen)[stage]
        assert "tiny-llama-Q4_K_M.gguf" in lines["quantize"]
        assert "tiny-llama:q4_k_m" in lines["import"]
        text = screen_text(app)
        assert "✓ succeeded" in text and "is in Ollama as tiny-llama:q4_k_m" in text
        log = [str(line.text) for line in screen.log_view.lines]
        assert any("exactly as the planner predicted" in line for line in log)  # the tail is live text
        assert fake_ollama.find("tiny-llama:q4_k_m") is not None
        assert (out_dir(settings) / "tiny-llama-Q4_K_M.gguf").exists()
        assert not (out_dir(settings) / "tiny-llama-F16.gguf").exists()  # the intermediate is not kept
        assert partials(out_dir(settings)) == []


async def test_a_missing_shard_stops_the_job_before_anything_heavy(
        app_with_tools: LlamadeckApp, settings: Settings, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt" / "tiny-llama"
    shutil.copytree(ensure_hf_model(TINY_LLAMA, shards=3), ckpt)
    (ckpt / "model-00002-of-00003.safetensors").unlink()
    app = app_with_tools
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        job = screen.add_job(JobSpec(str(ckpt), quant="Q4_K_M"))
        await ended(pilot, job, timeout=JOB_TIMEOUT)
        assert job.status == "failed"
        report = str(screen.query_one("#job-report", Static).content)
        assert "The pre-flight found 1 problem; nothing heavy was run" in report
        assert "model-00002-of-00003.safetensors" in report
        # Every other check ran and is listed too: the tools and Ollama are fine.
        assert "llama-quantize runs" in report and "will get the model as" in report
        lines = stage_lines(screen)
        assert lines["preflight"].startswith("✗ preflight failed")
        assert all("not run" in lines[s] for s in ("convert", "quantize", "import"))
        assert "Report" in screen_text(app)  # the report pane was brought up by itself
        assert not out_dir(settings).exists()


async def test_cancel_while_the_converter_runs(app_with_tools: LlamadeckApp, settings: Settings) -> None:
    app = app_with_tools
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        job = screen.add_job(JobSpec(str(ensure_hf_model(TINY_LLAMA)), quant="Q4_K_M"))
        await wait_for(pilot, lambda: job.stage("convert").status == "running" and screen.running is not None
                       and bool(screen.running.running_pids), timeout=JOB_TIMEOUT)
        assert screen.running is not None
        pids = screen.running.running_pids
        await pilot.press("x")
        await ended(pilot, job, timeout=30)
        assert job.status == "cancelled"
        lines = stage_lines(screen)
        assert lines["convert"].startswith("■ convert   cancelled")
        assert "-cancelled" in stage_classes(screen)["convert"]
        assert "not run" in lines["quantize"] and "not run" in lines["import"]
        text = screen_text(app)
        assert "Cancelled during convert; nothing partial was left behind." in text
        assert "■ cancelled" in text  # the queue row
        assert partials(out_dir(settings)) == [] and not list(out_dir(settings).glob("*.gguf"))
        assert not any(_alive(p) for p in pids), "the converter survived the cancel"


async def test_retry_after_a_failed_import_skips_the_finished_quantize(
        app_with_tools: LlamadeckApp, settings: Settings, fake_ollama: FakeOllama, f16: Path) -> None:
    fake_ollama.add_fault(path="/api/blobs/", method="POST", status=400, times=1,
                          error='digest mismatch, expected "sha256:aa", got "sha256:bb"')
    app = app_with_tools
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        job = screen.add_job(JobSpec(str(f16), quant="Q4_0"))
        await ended(pilot, job, timeout=JOB_TIMEOUT)
        assert job.status == "failed"
        assert stage_lines(screen)["quantize"].startswith("✓ quantize  done")
        assert stage_lines(screen)["import"].startswith("✗ import    failed")
        report = str(screen.query_one("#job-report", Static).content)
        assert "import failed" in report and "digest mismatch" in report
        await pilot.press("r")
        await wait_for(pilot, lambda: job.attempt == 2 and job.status in ("succeeded", "failed", "cancelled"),
                       timeout=JOB_TIMEOUT)
        assert job.status == "succeeded", job.finished
        lines = stage_lines(screen)
        assert lines["quantize"].startswith("↷ quantize  skipped")
        assert "made from this source" in lines["quantize"]
        assert lines["import"].startswith("✓ import    done")
        assert "attempt 2" in screen_text(app)
        assert fake_ollama.find("tiny-llama:q4_0") is not None


async def test_two_jobs_run_one_after_the_other(app_with_tools: LlamadeckApp, settings: Settings,
                                                f16: Path, fake_ollama: FakeOllama) -> None:
    app = app_with_tools
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        first = screen.add_job(JobSpec(str(f16), quant="Q8_0", import_to_ollama=False))
        second = screen.add_job(JobSpec(str(f16), quant="Q4_0", ollama_name="tiny:second"))
        assert (first.status, second.status) == ("running", "waiting")
        # The second is highlighted (the newest is); it says what it waits on.
        assert screen.query_one("#job-box").border_subtitle == "waiting for #1"
        await ended(pilot, second, timeout=JOB_TIMEOUT)
        assert (first.status, second.status) == ("succeeded", "succeeded")
        assert first.ended_at is not None and second.started_at is not None
        assert first.ended_at <= second.started_at
        await pilot.pause()
        assert list(stage_lines(screen)) == ["preflight", "quantize", "import"]  # the second's stages
        assert all(line.startswith("✓") for line in stage_lines(screen).values())
        assert (out_dir(settings) / "tiny-llama-Q8_0.gguf").exists()
        assert fake_ollama.find("tiny:second") is not None and fake_ollama.find("tiny-llama:q8_0") is None
