"""Fixtures that build the real app around the real HardwareProbe with a fake NVML.

Only the NVML boundary is fake. psutil is real, so the process that "holds
VRAM" on the fake GPU is a real process that looks like Ollama's model runner
to psutil: its executable is named `ollama` and its argv is
`ollama runner --model .../sha256-... --ctx-size 8192 ...`.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

from core.config import Settings
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, FakeProcess, GiB
from tui.app import LlamadeckApp, make_app
from tui.screens.dashboard.screen import DashboardScreen
from tui.services import Services

BLOB = (
    "/usr/share/ollama/.ollama/models/blobs/"
    "sha256-6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa"
)
RUNNER_ARGS = ("runner", "--model", BLOB, "--ctx-size", "8192", "--batch-size", "512",
               "--n-gpu-layers", "49", "--threads", "16", "--port", "40123")


@dataclass
class FakeRunner:
    pid: int
    process: subprocess.Popen[bytes]


def start_fake_runner(workdir: Path) -> subprocess.Popen[bytes]:
    """A sleeping Python whose comm is `ollama` and whose argv is an `ollama runner` command line."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "ollama"
    if not exe.exists():
        exe.symlink_to(os.path.realpath(sys.executable))
    (workdir / "runner").write_text("import time\ntime.sleep(600)\n", encoding="utf-8")
    return subprocess.Popen(
        [str(exe), *RUNNER_ARGS], cwd=workdir, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def ollama_runner(tmp_path: Path) -> Iterator[FakeRunner]:
    process = start_fake_runner(tmp_path / "runner")
    try:
        yield FakeRunner(process.pid, process)
    finally:
        stop(process)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    models = tmp_path / "ollama-models"
    models.mkdir()
    return Settings(refresh_seconds=1.0, ollama_models_dir=models, hf_cache_dir=tmp_path / "hf")


AppFactory = Callable[..., LlamadeckApp]


@pytest.fixture
def build_app(settings: Settings) -> AppFactory:
    """`build_app(FakeNvml(...), refresh_seconds=...)`: the real app, real probe, fake NVML."""

    def build(nvml: FakeNvml, **overrides: object) -> LlamadeckApp:
        from dataclasses import replace

        these = replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]
        probe = HardwareProbe.from_settings(these, nvml=nvml)
        return make_app(these, Services(hardware=probe))

    return build


def rtx_4090_with_ollama(
    runner_pid: int, *, used: int = 15 * GiB, held: int = 14 * GiB, **gpu: object
) -> FakeNvml:
    """An RTX 4090 at work: 15 of 24 GiB used, 14 GiB of it by the `ollama runner` process."""
    fields: dict[str, object] = dict(memory_used=used, util_gpu=37, temperature=61, power_mw=182_000,
                                    sm_clock=2520, mem_clock=10501)
    fields.update(gpu)
    return FakeNvml([FakeGpu(processes=[FakeProcess(pid=runner_pid, used_memory=held)], **fields)])  # type: ignore[arg-type]


def screen_text(app: App[object]) -> str:
    """What the terminal shows, as plain text (no colours), for asserting on visible content."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def wait_for(pilot: Pilot[object], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let workers and messages run until `condition()` holds; fail clearly if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s:\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)
    await pilot.pause()


def dashboard(app: App[object]) -> DashboardScreen:
    screen = app.screen
    assert isinstance(screen, DashboardScreen), f"expected the dashboard, got {screen!r}"
    return screen


async def first_sample(pilot: Pilot[object]) -> DashboardScreen:
    """Wait until the dashboard has its static facts and one live reading on screen."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen)
                   and pilot.app.screen.last_sample is not None)
    return dashboard(pilot.app)
