"""Pilot tests of the dashboard: the real probe reads a fake NVML and the real psutil."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pynvml
import pytest
from textual.geometry import Region
from textual.pilot import Pilot

from tests.fakes.fake_nvml import FakeGpu, FakeNvml, FakeProcess, GiB, h100_sxm, rtx_3090
from tests.tui.conftest import (
    AppFactory,
    FakeRunner,
    dashboard,
    first_sample,
    rtx_4090_with_ollama,
    screen_text,
    wait_for,
)
from tui.screens.dashboard.sampler import SampleTaken
from tui.screens.dashboard.screen import DashboardScreen
from tui.widgets.dashboard.gpu_panel import GpuPanel
from tui.widgets.dashboard.gpu_process_table import GpuProcessTable
from tui.widgets.dashboard.machine_facts import MachineFacts
from tui.widgets.dashboard.system_panel import SystemPanel
from tui.widgets.gauge import Gauge
from tui.widgets.notice_bar import NoticeBar

SIZES = [(80, 24), (120, 40)]


def panel(screen: DashboardScreen, gpu: int) -> GpuPanel:
    return screen.query_one(f"#gpu-{gpu}", GpuPanel)


def meter(screen: DashboardScreen, gpu: int, name: str) -> Gauge:
    return panel(screen, gpu).gauge(name)


def line_of(gpu_panel: GpuPanel, name: str) -> str:
    """The text one item of a panel draws, as on screen."""
    row = gpu_panel.row_of(name)
    assert row is not None, f"{name} is not shown"
    return "".join(segment.text for segment in gpu_panel.render_line(row))


@pytest.mark.parametrize("size", SIZES)
async def test_fake_gpu_readings_and_vram_holder_are_on_screen(
    build_app: AppFactory, ollama_runner: FakeRunner, size: tuple[int, int]
) -> None:
    app = build_app(rtx_4090_with_ollama(ollama_runner.pid))
    async with app.run_test(size=size) as pilot:
        await first_sample(pilot)
        text = screen_text(app)
        assert "NVIDIA GeForce RTX 4090" in text
        assert "15.0/24.0 GiB" in text  # VRAM used/total
        assert "37%" in text  # GPU utilisation
        assert "61 °C" in text
        assert "182/450 W" in text
        assert "driver 550.78" in text and "CUDA 12.4" in text
        assert "1008 GB/s" in text  # 384-bit x 10501 MHz x 2
        # The holder: a real process that psutil names `ollama runner`, with its VRAM and GPU.
        assert "ollama runner" in text
        assert str(ollama_runner.pid) in text
        assert "14.0 GiB" in text
        assert "sha256-6a0746a1ec1a" in text  # the model blob, shortened
        # The footer still fits (it lays out its keys a frame later on a busy machine).
        await wait_for(pilot, lambda: "q Quit" in screen_text(app) and "? Help" in screen_text(app))


@pytest.mark.parametrize("size", SIZES)
async def test_every_gauge_fits_without_scrolling_for_one_gpu(
    build_app: AppFactory, ollama_runner: FakeRunner, size: tuple[int, int]
) -> None:
    app = build_app(rtx_4090_with_ollama(ollama_runner.pid))
    async with app.run_test(size=size) as pilot:
        screen = await first_sample(pilot)
        body = screen.query_one("#dash-body")
        assert body.max_scroll_y == 0, screen_text(app)
        text = screen_text(app)
        for label in ("VRAM", "Util", "Temp", "Power", "CPU", "RAM", "Swap", "Free", "GPU memory"):
            assert label in text


async def test_process_table_follows_the_gpu(build_app: AppFactory, ollama_runner: FakeRunner) -> None:
    nvml = rtx_4090_with_ollama(ollama_runner.pid)
    app = build_app(nvml, refresh_seconds=0.25)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await first_sample(pilot)
        table = screen.query_one(GpuProcessTable)
        assert [p.pid for p in table.processes] == [ollama_runner.pid]

        nvml.gpus[0].processes[0].used_memory = 20 * GiB
        await wait_for(pilot, lambda: "20.0 GiB" in screen_text(app))
        assert table.row_count == 1

        nvml.gpus[0].processes.clear()
        await wait_for(pilot, lambda: "No process holds GPU memory." in screen_text(app))
        assert table.row_count == 0


@pytest.mark.parametrize(
    ("used", "expected"),
    [(int(12 * GiB), "ok"), (int(20 * GiB), "warn"), (int(22.5 * GiB), "danger")],
)
async def test_vram_level_classes(
    build_app: AppFactory, ollama_runner: FakeRunner, used: int, expected: str
) -> None:
    app = build_app(rtx_4090_with_ollama(ollama_runner.pid, used=used))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        vram = meter(screen, 0, "vram")
        assert vram.level == expected
        # The level is drawn: the value's style follows it.
        gpu = panel(screen, 0)
        value = [s for s in gpu.render_line(gpu.row_of("vram") or 0) if s.text.strip()][-1]
        assert value.style is not None
        assert bool(value.style.reverse) == (expected == "danger")
        assert bool(value.style.bold) == (expected != "ok")


async def test_vram_danger_appears_and_clears_live(build_app: AppFactory, ollama_runner: FakeRunner) -> None:
    nvml = rtx_4090_with_ollama(ollama_runner.pid)
    app = build_app(nvml, refresh_seconds=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        assert meter(screen, 0, "vram").level != "danger"
        nvml.gpus[0].memory_used = int(23.5 * GiB)  # 98 %
        await wait_for(pilot, lambda: meter(screen, 0, "vram").level == "danger")
        await wait_for(pilot, lambda: "23.5/24.0 GiB" in screen_text(app))
        nvml.gpus[0].memory_used = 4 * GiB
        await wait_for(pilot, lambda: meter(screen, 0, "vram").level == "ok")
        await wait_for(pilot, lambda: "4.0/24.0 GiB" in screen_text(app))


@pytest.mark.parametrize(("temperature", "expected"), [(60, "ok"), (86, "warn"), (92, "danger")])
async def test_temperature_levels(
    build_app: AppFactory, ollama_runner: FakeRunner, temperature: int, expected: str
) -> None:
    app = build_app(rtx_4090_with_ollama(ollama_runner.pid, temperature=temperature))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        assert meter(screen, 0, "temp").level == expected


async def test_danger_is_visible_without_colour(
    build_app: AppFactory, ollama_runner: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NO_COLOR the danger reading must still stand out: it is drawn reversed and bold."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = build_app(rtx_4090_with_ollama(ollama_runner.pid, used=22 * GiB))
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        gpu = panel(screen, 0)

        def value_style(name: str) -> tuple[bool, bool]:
            segments = list(gpu.render_line(gpu.row_of(name) or 0))
            value = next(s for s in reversed(segments) if s.text.strip())
            return bool(value.style and value.style.reverse), bool(value.style and value.style.bold)

        assert value_style("vram") == (True, True)
        assert value_style("util")[0] is False
        # Filled and empty cells use different glyphs, not just different colours.
        bar = line_of(gpu, "vram")
        assert "█" in bar and "░" in bar


async def test_cpu_only_notice_when_the_nvml_library_is_missing(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()], init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        # No GPU box and no GPU-memory table: the CPU panel has the width.
        assert not screen.query_one("#gpus").display
        assert not screen.query_one("#procs").display
        assert not screen.query(GpuPanel)
        # One line says why (#14); the full sentence stays for `llamadeck hw`.
        assert not screen.query_one(NoticeBar).notices
        text = screen_text(app)
        assert "GPU  none usable: " in text and "NVIDIA driver" in text
        assert "CPU-only mode" not in text
        assert screen.info is not None and any("libnvidia-ml.so.1" in n for n in screen.info.notices)
        assert screen.query_one(SystemPanel).display


async def test_driver_library_mismatch_is_explained(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()], init_error=pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        assert "NVIDIA driver and module versions differ (reboot)" in screen_text(app)
        assert screen.info is not None
        assert any("different versions" in n and "reboot" in n for n in screen.info.notices)


async def test_a_lost_gpu_shows_its_error_and_the_rest_keeps_updating(
    build_app: AppFactory, ollama_runner: FakeRunner
) -> None:
    nvml = FakeNvml([
        FakeGpu(processes=[FakeProcess(pid=ollama_runner.pid, used_memory=14 * GiB)], memory_used=15 * GiB),
        rtx_3090(),
    ])
    app = build_app(nvml, refresh_seconds=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        lost = screen.query_one("#gpu-1", GpuPanel)
        assert not lost.has_class("-error")

        nvml.lose_gpu(1)
        await wait_for(pilot, lambda: lost.has_class("-error"))
        assert "stopped answering" in screen_text(app)
        assert meter(screen, 1, "vram").value_text == "n/a"

        nvml.gpus[0].util_gpu = 88
        await wait_for(pilot, lambda: meter(screen, 0, "util").value_text == "88%")
        assert app.is_running
        assert app.return_code is None


async def test_process_listing_not_permitted(build_app: AppFactory) -> None:
    nvml = FakeNvml([FakeGpu(memory_used=10 * GiB)], no_permission_processes=True)
    app = build_app(nvml)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        text = screen_text(app)
        assert "Not allowed to list the processes" in text
        assert "10.0/24.0 GiB" in text  # the gauges still work


async def test_several_gpus_each_get_a_panel(build_app: AppFactory) -> None:
    nvml = FakeNvml([h100_sxm(), h100_sxm()])
    app = build_app(nvml)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await first_sample(pilot)
        assert [p.info.index for p in screen.query(GpuPanel)] == [0, 1]
        assert screen.query_one("#gauges").has_class("-multi-gpu")
        # At 120x40 (tall) one GPU's history rows are 4 high; two GPUs share: 2 each.
        assert {p.history_rows for p in screen.query(GpuPanel)} == {2}
        assert screen.query_one(SystemPanel).history_rows == 2
        text = screen_text(app)
        assert "2× NVIDIA H100 80GB HBM3" in text
        assert meter(screen, 1, "vram").value_text == "1.0/80.0 GiB"


async def test_history_height_follows_the_terminal_height(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([h100_sxm(), h100_sxm()]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await first_sample(pilot)
        gpus, system = list(screen.query(GpuPanel)), screen.query_one(SystemPanel)
        assert [p.history_rows for p in gpus] == [2, 2] and system.history_rows == 2
        # Short: two GPUs keep their gauges on screen and drop the history and clock lines.
        await pilot.resize_terminal(100, 24)
        await wait_for(pilot, lambda: [p.history_rows for p in gpus] == [0, 0])
        assert system.history_rows == 2
        await wait_for(pilot, lambda: gpus[0].outer_size.height == 4 + 2)  # four gauges inside the border
        assert gpus[0].row_of("util-history") is None and gpus[0].row_of("details") is None
        await pilot.resize_terminal(100, 30)
        # A row of each history and the clock line come back.
        await wait_for(pilot, lambda: gpus[0].outer_size.height == 4 + 2 + 1 + 2)
        assert "SM/mem" in line_of(gpus[0], "details")


async def test_a_slow_driver_shows_the_dashboard_first_and_the_gpus_when_they_answer(
    build_app: AppFactory,
) -> None:
    gate = threading.Event()
    app = build_app(FakeNvml([h100_sxm(), rtx_3090()], init_gate=gate))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "Probing the hardware" in screen_text(app))
        screen = dashboard(app)
        assert not screen.query(GpuPanel)
        assert "RAM" in screen_text(app)  # the rest of the dashboard is drawn meanwhile
        gate.set()
        await first_sample(pilot)
        assert [p.info.index for p in screen.query(GpuPanel)] == [0, 1]
        assert screen.query_one("#gauges").has_class("-multi-gpu")
        await wait_for(pilot, lambda: "RTX 3090" in screen_text(app))


async def test_keys_scroll_the_body_when_it_overflows(build_app: AppFactory) -> None:
    # Four GPUs in 40x12: far more than fits. Nothing has focus; the keys still scroll.
    app = build_app(FakeNvml([h100_sxm() for _ in range(4)]))
    async with app.run_test(size=(40, 12)) as pilot:
        screen = await first_sample(pilot)
        body = screen.query_one("#dash-body")
        assert screen.focused is None
        assert body.max_scroll_y > 0
        await pilot.press("down")
        await wait_for(pilot, lambda: body.scroll_y == 1)
        await pilot.press("end")
        await wait_for(pilot, lambda: body.scroll_y == body.max_scroll_y)
        await pilot.press("pageup")
        await wait_for(pilot, lambda: body.scroll_y < body.max_scroll_y)
        await pilot.press("home")
        await wait_for(pilot, lambda: body.scroll_y == 0)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["plus"], 2.0),
        (["plus", "plus"], 5.0),
        (["plus"] * 8, 10.0),  # never slower than 10 s
        (["minus"], 0.5),
        (["minus"] * 6, 0.25),  # never faster than 0.25 s
        (["minus", "plus"], 1.0),
    ],
)
async def test_refresh_keys_change_the_interval_within_bounds(
    build_app: AppFactory, keys: list[str], expected: float
) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        await pilot.press(*keys)
        assert screen.interval == expected
        assert f"every {expected:g} s" in screen_text(app)


async def readings_during(pilot: Pilot[object], screen: DashboardScreen, seconds: float) -> int:
    """How many distinct readings reached the screen in `seconds` (stale ones may be dropped)."""
    seen = {id(screen.last_sample)}
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await pilot.pause(0.05)
        seen.add(id(screen.last_sample))
    return len(seen) - 1


async def test_the_interval_drives_the_sampling(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]), refresh_seconds=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        assert await readings_during(pilot, screen, 3.0) >= 3  # ideally 12
        await pilot.press(*["plus"] * 6)  # 10 s: one reading right away, the next in 10 s
        await pilot.pause(0.5)
        assert await readings_during(pilot, screen, 1.5) == 0


async def test_configured_refresh_between_steps(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]), refresh_seconds=0.75)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        assert screen.interval == 0.75
        await pilot.press("minus")
        assert screen.interval == 0.5


async def test_sampling_keeps_going_and_pause_stops_it(build_app: AppFactory) -> None:
    nvml = FakeNvml([FakeGpu()])
    app = build_app(nvml, refresh_seconds=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        first = screen.last_sample
        await wait_for(pilot, lambda: screen.last_sample is not first)

        await pilot.press("p")
        assert screen.paused and "paused" in screen_text(app)
        await pilot.pause(0.4)  # a reading already under way may still land
        frozen = screen.last_sample
        await pilot.pause(0.8)
        assert screen.last_sample is frozen

        await pilot.press("p")
        await wait_for(pilot, lambda: screen.last_sample is not frozen)


async def test_ram_bandwidth_is_measured_on_demand(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([]))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await first_sample(pilot)
        facts = screen.query_one(MachineFacts)
        assert "b: measure bandwidth" in facts.text
        await pilot.press("b")
        await wait_for(pilot, lambda: screen.bandwidth is not None, timeout=30)
        assert screen.bandwidth is not None and screen.bandwidth.bytes_per_second > 0
        assert "GB/s" in facts.text.splitlines()[1]
        assert "measure bandwidth" not in facts.text


async def test_notices_are_hidden_on_a_healthy_box(build_app: AppFactory, ollama_runner: FakeRunner) -> None:
    app = build_app(rtx_4090_with_ollama(ollama_runner.pid))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        bar = screen.query_one(NoticeBar)
        assert bar.notices == ()
        assert not bar.display


async def test_unchanged_readings_do_not_repaint_the_gauges(
    build_app: AppFactory, ollama_runner: FakeRunner
) -> None:
    """Idle cost: a tick with the same numbers must not repaint the meters or the table."""
    app = build_app(rtx_4090_with_ollama(ollama_runner.pid))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        sample = screen.last_sample
        assert sample is not None
        await pilot.pause()
        gpu = panel(screen, 0)
        table = screen.query_one(GpuProcessTable)
        repaints: list[object] = []
        gpu.refresh = lambda *a, **k: repaints.extend(a or ["all"]) or gpu  # type: ignore[method-assign]
        table.refresh = lambda *a, **k: repaints.append("table") or table  # type: ignore[method-assign]
        later = dataclasses.replace(sample, timestamp=sample.timestamp + 1)
        screen.show_sample(SampleTaken(later))
        # A second later the history may have moved on by a column; the gauges must not repaint.
        gauge_rows = {gpu.row_of(name) for name in ("vram", "util", "temp", "power")}
        assert gauge_rows == {0, 1, 2, 3}
        assert "all" not in repaints and "table" not in repaints, repaints
        assert all(isinstance(r, Region) and r.y > 3 for r in repaints), repaints

