"""The dashboard's processes and Ollama panels, the one-line GPU status, and stopping a runner.

CPU-only cases hand the probe fake process records (an `ollama runner` and a
`llama-server` among them), never this machine's. Stopping goes through the
fake Ollama (`keep_alive: 0`), or SIGTERM to the real sleeping process the
conftest starts as a fake runner; a fake record's pid is never signalled.
"""

from __future__ import annotations

from dataclasses import replace

import psutil
import pynvml
import pytest

from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from core.hardware.processes import ProcessRecord
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, GiB
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import BLOB, FakeRunner, first_sample, rtx_4090_with_ollama, screen_text, wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.confirm import ConfirmDialog
from tui.services import Services
from tui.widgets.dashboard.ollama_panel import OllamaPanel
from tui.widgets.dashboard.top_processes import TopProcesses
from tui.widgets.notice_bar import NoticeBar

HEX = BLOB.rsplit("sha256-", 1)[1]
MODEL = "llama3.2:latest"
FAKE_PROCESSES = [
    ProcessRecord(900001, "ollama", "ollama", ("/usr/bin/ollama", "runner", "--model", BLOB), 3 * GiB, 380.0),
    ProcessRecord(900002, "alice", "llama-server", ("llama-server", "-m", "/m/Qwen3-8B-Q4_K_M.gguf"),
                  5 * GiB, 12.0),
    ProcessRecord(900003, "alice", "firefox", ("/usr/lib/firefox/firefox",), 2 * GiB, 30.0),
]


def dashboard_app(settings: Settings, fake: FakeOllama, nvml: FakeNvml,
                  processes: list[ProcessRecord] | None = None) -> LlamadeckApp:
    these = replace(settings, hosts=(HostConfig(name="fake", url=fake.url),), default_host="fake")
    probe = HardwareProbe.from_settings(these, nvml=nvml, process_source=lambda: list(processes or []))
    return make_app(these, Services(hardware=probe))


def no_driver() -> FakeNvml:
    return FakeNvml([FakeGpu()], init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)


def on_cpu(fake: FakeOllama) -> None:
    """MODEL loaded at 100% CPU, its /api/ps digest the runner's blob."""
    fake.set_running(MODEL, size_vram=0).digest = f"sha256:{HEX}"


async def test_cpu_only_at_80x24_one_driver_line_processes_and_ollama(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    on_cpu(fake_ollama)
    app = dashboard_app(settings, fake_ollama, no_driver(), FAKE_PROCESSES)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        ollama = screen.query_one(OllamaPanel)
        top = screen.query_one(TopProcesses)
        await wait_for(pilot, lambda: ollama.last is not None and f"· {MODEL}" in top.text)
        text = screen_text(app)
        gpu_lines = [line for line in text.splitlines() if line.strip().startswith("GPU ")]
        assert len(gpu_lines) == 1 and "none usable:" in gpu_lines[0]
        assert "NVIDIA driver" in gpu_lines[0]
        assert "CPU-only mode" not in text  # the four-line notice is gone
        assert not screen.query_one(NoticeBar).notices
        assert f"Ollama {fake_ollama.version}" in text and MODEL in text and "100% CPU" in text
        assert "Processes" in text and f"ollama runner · {MODEL}" in text
        assert "llama-server · Qwen3-8B-Q4_K_M.gguf" in top.text and "firefox" in top.text
        # The diagnosis is said beside the model (the panel may run below the fold at 24 rows).
        assert "runs entirely on the CPU: this machine has no usable GPU" in ollama.text


async def test_cpu_only_at_40x12_shows_a_gauge(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = dashboard_app(settings, fake_ollama, no_driver(), FAKE_PROCESSES)
    async with app.run_test(size=(40, 12)) as pilot:
        await first_sample(pilot)
        lines = screen_text(app).splitlines()
        assert any(line.startswith(" GPU  none usable") for line in lines)
        gauges = [line for line in lines if "│ CPU " in line or "│ RAM " in line]
        assert gauges and any("%" in line for line in gauges), "\n".join(lines)


async def test_with_a_gpu_the_user_shows_and_the_stop_key_unloads_through_ollama(
        settings: Settings, fake_ollama: FakeOllama, ollama_runner: FakeRunner) -> None:
    fake_ollama.set_running(MODEL).digest = f"sha256:{HEX}"
    app = dashboard_app(settings, fake_ollama, rtx_4090_with_ollama(ollama_runner.pid))
    user = psutil.Process(ollama_runner.pid).username()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        await wait_for(pilot, lambda: screen.query_one(OllamaPanel).last is not None)
        assert user in screen_text(app)
        assert "▶0" in screen_text(app)  # the runner the stop key acts on
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and f"ollama stop {MODEL}" in dialog.message
        assert MODEL in fake_ollama.running  # nothing happens before the answer
        await pilot.press("y")
        await wait_for(pilot, lambda: MODEL not in fake_ollama.running)
        assert ollama_runner.process.poll() is None  # Ollama ends its runner, not llamadeck


@pytest.mark.parametrize("answer", ["n", "y"])
async def test_a_runner_no_model_names_is_stopped_by_signal_after_asking(
        settings: Settings, fake_ollama: FakeOllama, ollama_runner: FakeRunner, answer: str) -> None:
    app = dashboard_app(settings, fake_ollama, rtx_4090_with_ollama(ollama_runner.pid))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        await wait_for(pilot, lambda: screen.query_one(OllamaPanel).last is not None)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert f"SIGTERM to ollama runner, pid {ollama_runner.pid}" in app.screen.message  # type: ignore[attr-defined]
        await pilot.press(answer)
        if answer == "y":
            await wait_for(pilot, lambda: ollama_runner.process.poll() is not None)
        else:
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
            assert ollama_runner.process.poll() is None


async def test_cpu_only_s_marks_the_next_runner_and_x_unloads_its_model(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    on_cpu(fake_ollama)
    app = dashboard_app(settings, fake_ollama, no_driver(), FAKE_PROCESSES)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        top = screen.query_one(TopProcesses)
        await wait_for(pilot, lambda: f"· {MODEL}" in top.text)
        assert top.selected == 900002  # the llama-server holds the most RAM, so it is first
        await pilot.press("s")
        assert top.selected == 900001 and "▶ 900001" in top.text
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert f"ollama stop {MODEL}" in app.screen.message  # type: ignore[attr-defined]
        await pilot.press("y")  # through the API: no signal goes to the fake record's pid
        await wait_for(pilot, lambda: MODEL not in fake_ollama.running)
