"""Pilot tests of the jobs screen that need no llama.cpp tools: layout, keys, the new-job form, hand-offs.

The jobs that run here stop in their pre-flight (the tools are not
configured, or the source is broken), which is itself behaviour under test:
the findings are listed and nothing heavy starts. Jobs that run the real
converter and llama-quantize are in test_jobs_pipeline.py.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select, Static

from core.config import HostConfig, LlamaCppConfig, Settings
from core.facts.gguf import facts_from_hf_dir
from core.hardware.probe import HardwareProbe
from core.pipeline.disk import predicted_size
from core.pipeline.job_state import ENDED, JobState
from core.pipeline.types import JobSpec
from core.units import format_bytes
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
from tests.tui.conftest import screen_text, wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.help import HelpScreen
from tui.screens.jobs.new_job import NewJobDialog
from tui.screens.jobs.screen import JobsScreen
from tui.services import Services
from tui.widgets.jobs.stages import StageLine

SIZE = (80, 24)


def jobs_app(settings: Settings, *, ollama_url: str | None = None, nvml: FakeNvml | None = None,
             **changes: object) -> LlamadeckApp:
    """The real app; GGUFs land in <tmp>/out; the tools are what `changes` configures (none by default)."""
    hosts = (HostConfig(name="fake", url=ollama_url),) if ollama_url else ()
    these = replace(settings, hosts=hosts, default_host="fake" if ollama_url else None,
                    gguf_dirs=(settings.hf_cache_dir.parent / "out",), **changes)  # type: ignore[arg-type]
    probe = HardwareProbe.from_settings(these, nvml=nvml if nvml is not None else FakeNvml([FakeGpu()]))
    return make_app(these, Services(hardware=probe))


def no_tools(tmp_path: Path) -> LlamaCppConfig:
    """llama.cpp configured to an empty folder: pre-flight must say the tools are missing."""
    empty = tmp_path / "no-llama.cpp"
    empty.mkdir(exist_ok=True)
    return LlamaCppConfig(bin_dir=empty, convert_script=empty / "convert_hf_to_gguf.py",
                          convert_python=empty / "python")


async def open_jobs(pilot: Pilot[object]) -> JobsScreen:
    await pilot.press("5")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
    screen = pilot.app.screen
    assert isinstance(screen, JobsScreen)
    return screen


def stage_lines(screen: JobsScreen) -> dict[str, str]:
    """What each shown stage line says, by stage name: {"convert": "✓ convert   done  0:04 ..."}."""
    return {line.text.split()[1]: line.text for line in screen.query(StageLine) if line.display}


def stage_classes(screen: JobsScreen) -> dict[str, set[str]]:
    return {line.text.split()[1]: set(line.classes) for line in screen.query(StageLine) if line.display}


def estimate(dialog: NewJobDialog) -> str:
    return str(dialog.query_one("#job-estimate", Static).content)


async def ended(pilot: Pilot[object], job: JobState, timeout: float = 60) -> None:
    await wait_for(pilot, lambda: job.status in ENDED, timeout=timeout)


async def type_text(pilot: Pilot[object], text: str) -> None:
    for ch in text:
        await pilot.press({"/": "slash", " ": "space", ".": "full_stop", "-": "minus", "_": "underscore",
                           ":": "colon"}.get(ch, ch))


# --------------------------------------------------------------------------- the screen


async def test_an_empty_queue_says_what_to_do_and_the_keys_are_in_the_footer_and_help(
        settings: Settings) -> None:
    app = jobs_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        text = screen_text(app)
        assert "No jobs yet. Press n" in text
        assert screen.has_class("-empty")
        assert "n New job" in text and "? Help" in text and "q Quit" in text  # the footer fits 80 columns
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = screen_text(app)
        assert "New job" in help_text and "Log / report" in help_text


async def test_the_form_predicts_the_planners_size_and_fit_for_a_local_checkpoint(
        settings: Settings, tmp_path: Path) -> None:
    model = ensure_hf_model(TINY_LLAMA)
    app = jobs_app(settings, llamacpp=no_tools(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await open_jobs(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewJobDialog))
        dialog = app.screen
        assert isinstance(dialog, NewJobDialog)
        assert "Name a source" in estimate(dialog)
        dialog.query_one("#job-source", Input).value = str(model)  # typing is tested below
        want = format_bytes(predicted_size(facts_from_hf_dir(model), "Q4_K_M"))
        await wait_for(pilot, lambda: f"Q4_K_M: {want} predicted" in estimate(dialog))
        # The fake RTX 4090 holds a 2 MiB model easily; the sentence says where it runs.
        assert "fits on the GPU at 4096 context" in estimate(dialog)
        # Another quant: the prediction follows the choice.
        dialog.query_one("#job-quant", Select).value = "Q8_0"
        want8 = format_bytes(predicted_size(facts_from_hf_dir(model), "Q8_0"))
        await wait_for(pilot, lambda: f"Q8_0: {want8} predicted" in estimate(dialog))


async def test_the_form_refuses_a_source_that_is_not_one(settings: Settings, tmp_path: Path) -> None:
    app = jobs_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewJobDialog))
        await type_text(pilot, "nowhere")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, NewJobDialog), "a source that is nothing must not be queued"
        assert "nowhere is neither a file, a folder, nor a Hugging Face repo id" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.jobs == {}


async def test_a_job_from_the_form_runs_its_preflight_and_lists_what_is_missing(
        settings: Settings, tmp_path: Path) -> None:
    """No tools configured and no Ollama: the pre-flight names each, and nothing else runs."""
    model = ensure_hf_model(TINY_LLAMA)
    app = jobs_app(settings, llamacpp=no_tools(tmp_path), ollama_url="http://127.0.0.1:9")
    out = settings.hf_cache_dir.parent / "out"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewJobDialog))
        await type_text(pilot, str(model))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and len(screen.jobs) == 1)
        job = screen.jobs[1]
        assert job.spec.source == str(model) and job.spec.quant == "Q4_K_M"
        await ended(pilot, job)
        assert job.status == "failed"
        text = screen_text(app)
        assert "The pre-flight found 3 problems; nothing heavy was run" in text
        report = str(screen.query_one("#job-report", Static).content)
        assert "There is no converter at" in report or "convert_hf_to_gguf.py" in report
        assert "llama-quantize is not at" in report
        assert "Ollama is not running at http://127.0.0.1:9" in report
        lines = stage_lines(screen)
        assert lines["preflight"].startswith("✗ preflight failed")
        for stage in ("convert", "quantize", "import"):
            assert "not run" in lines[stage]
            assert "-not-run" in stage_classes(screen)[stage]
        assert not out.exists(), "nothing may be written when the pre-flight fails"
        assert "✗ failed" in text  # the queue row


async def test_open_pipeline_fills_in_the_form_from_a_hand_off(settings: Settings, fake_ollama: FakeOllama,
                                                               tmp_path: Path) -> None:
    model = ensure_hf_model(TINY_LLAMA)
    app = jobs_app(settings, ollama_url=fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        app.open_pipeline(str(model), "q5_k_m", "fake")
        await wait_for(pilot, lambda: isinstance(app.screen, NewJobDialog))
        dialog = app.screen
        assert isinstance(dialog, NewJobDialog)
        assert dialog.query_one("#job-source", Input).value == str(model)
        assert dialog.query_one("#job-quant", Select).value == "Q5_K_M"  # llama-quantize's spelling
        assert dialog.query_one("#job-host", Select).value == "fake"
        dialog.query_one("#job-keep", Checkbox).value = True
        spec = dialog.spec()
        assert spec == JobSpec(source=str(model), quant="Q5_K_M", outtype="f16", ollama_name=None,
                               import_to_ollama=True, keep_intermediate=True, host="fake")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))


async def test_a_tiny_terminal_does_not_break_the_screen(settings: Settings, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    shutil.copytree(ensure_hf_model(TINY_LLAMA), ckpt)
    app = jobs_app(settings, llamacpp=no_tools(tmp_path))
    async with app.run_test(size=(40, 12)) as pilot:
        screen = await open_jobs(pilot)
        job = screen.add_job(JobSpec(str(ckpt), quant="Q4_K_M", import_to_ollama=False))
        await ended(pilot, job)
        for key in ("v", "v", "up", "down", "n", "escape", "r"):
            await pilot.press(key)
            await pilot.pause()
        await ended(pilot, screen.jobs[1])
        assert "failed" in screen_text(app)
        assert screen.jobs[1].attempt == 2  # r queued it again, and it ran


async def test_the_model_browser_opens_the_form_importing_into_its_server(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = jobs_app(settings, ollama_url=fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ModelsScreen")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, NewJobDialog))
        dialog = app.screen
        assert isinstance(dialog, NewJobDialog)
        assert dialog.query_one("#job-host", Select).value == "fake"
        assert dialog.query_one("#job-source", Input).has_focus
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
