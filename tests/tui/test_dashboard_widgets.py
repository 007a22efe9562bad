"""The dashboard widgets' own logic: bars, history slices, shortening, levels, formatting."""

from __future__ import annotations

import dataclasses
import random

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult

from core.hardware.types import CpuInfo, DiskInfo, GpuInfo, GpuProcess, MachineInfo
from core.units import format_bytes, format_rate, format_used_total
from tui.screens.dashboard.sampler import next_refresh
from tui.widgets.dashboard.gpu_panel import vram_level
from tui.widgets.dashboard.gpu_process_table import GpuProcessTable, fit, shorten_cmdline
from tui.widgets.dashboard.history import History, core_glyphs, draw_rows, slice_peaks
from tui.widgets.dashboard.machine_facts import bandwidth_text, cpu_line, cpu_model, gpu_line, simd_summary
from tui.widgets.dashboard.system_panel import swap_level
from tui.widgets.disk_free import disks_text, is_low
from tui.widgets.gauge import Gauge, bar_cells, level_for

GiB = 2**30


@pytest.mark.parametrize(
    ("fraction", "width", "filled", "empty"),
    [
        (0.0, 10, "", "░" * 10),
        (1.0, 10, "█" * 10, ""),
        (0.5, 10, "█" * 5, "░" * 5),
        (0.55, 10, "█" * 5 + "▌", "░" * 4),  # 44 eighths: 5 full cells and a half
        (1.7, 4, "████", ""),  # clamped
        (-1.0, 4, "", "░░░░"),
        (None, 3, "", "░░░"),  # no reading: an empty track, not a zero that looks measured
    ],
)
def test_bar_cells(fraction: float | None, width: int, filled: str, empty: str) -> None:
    assert bar_cells(fraction, width) == (filled, empty)
    assert len(filled + empty) == width


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "ok"), (84.9, "ok"), (85.0, "warn"), (89.9, "warn"), (90.0, "danger")]
)
def test_level_for_temperature_thresholds(value: float | None, expected: str) -> None:
    assert level_for(value, 85.0, 90.0) == expected


@pytest.mark.parametrize(
    ("percent", "expected"), [(None, "ok"), (80.0, "ok"), (80.1, "warn"), (90.0, "warn"), (90.1, "danger")]
)
def test_vram_danger_is_strictly_above_90_percent(percent: float | None, expected: str) -> None:
    assert vram_level(percent) == expected


@pytest.mark.parametrize(
    ("used", "total", "expected"),
    [(0, 8 * GiB, "ok"), (1, 8 * GiB, "warn"), (1 * GiB, 8 * GiB, "danger"), (5, 0, "warn")],
)
def test_any_swap_in_use_is_marked(used: int, total: int, expected: str) -> None:
    assert swap_level(used, total) == expected


def test_slice_peaks_keep_the_peak_of_each_slice_and_hold_gaps() -> None:
    # 10 s window, 5 columns: 2 s slices; "now" at t=109 is in slice 54 (108-110).
    samples = [(100.5, 10.0), (101.5, 40.0), (102.2, 5.0), (106.0, 70.0), (108.9, 20.0)]
    assert slice_peaks(samples, 109.0, 10.0, 5) == [40.0, 5.0, 5.0, 70.0, 20.0]
    # Before the first sample, columns stay empty; samples older than the window drop out.
    assert slice_peaks([(107.0, 1.0)], 109.0, 10.0, 5) == [None, None, None, 1.0, 1.0]
    assert slice_peaks([(50.0, 99.0)], 109.0, 10.0, 5) == [None] * 5


def test_draw_rows_fixed_scale_and_height() -> None:
    assert draw_rows([None, 0.0, 50.0, 100.0], 100.0, 1) == [" ▁▄█"]
    # Two rows: 50 % fills the bottom row exactly, 75 % half of the top one.
    assert draw_rows([50.0, 75.0, 100.0], 100.0, 2) == [" ▄█", "███"]


def test_incremental_history_matches_the_reference_computation() -> None:
    """History keeps per-slice peaks incrementally; it must draw what slice_peaks says."""
    rnd = random.Random(7)
    history = History(window_s=60.0)
    t = 1_000.0
    for step in range(300):
        t += rnd.choice((0.25, 0.5, 1.0, 3.0))
        history.push(t, None if rnd.random() < 0.05 else rnd.uniform(0, 100))
        columns = 40 if step < 200 else 24  # a narrower terminal part way through
        expected = draw_rows(slice_peaks(history.samples, t, 60.0, columns), 100.0, 2)
        assert history.rows(columns, 2) == expected
    assert all(t - 60.0 <= when <= t for when, _ in history.samples)


def test_gauge_parts_fit_the_width_and_keep_the_value() -> None:
    gauge = Gauge("VRAM")
    assert gauge.set(0.5, "12.0/24.0 GiB", "warn")
    assert not gauge.set(0.5004, "12.0/24.0 GiB", "warn")  # jitter under a thousandth
    label, filled, empty, value = gauge.parts(40)
    assert (label, value) == ("VRAM ", "12.0/24.0 GiB")
    assert len(label) + 1 + len(filled + empty) + 1 + len(value) == 40
    assert filled == "█" * 10
    # Too narrow for a bar: label and value only, the value never cut.
    assert gauge.parts(20) == ("VRAM ", "", "", "12.0/24.0 GiB")


def test_core_glyphs_share_cells_by_peak() -> None:
    assert core_glyphs([0.0, 100.0, 50.0], 10) == "▁█▄"
    # Eight cores in four cells: each cell shows the busier of its pair.
    assert core_glyphs([0, 100, 0, 0, 50, 0, 0, 0], 4) == "█▁▄▁"
    assert core_glyphs([], 10) == ""


@pytest.mark.parametrize(
    ("cmdline", "name", "width", "expected"),
    [
        (
            "/usr/local/bin/ollama runner --model /usr/share/ollama/.ollama/models/blobs/sha256-"
            + "6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa --ctx-size 8192",
            "ollama runner",
            60,
            "sha256-6a0746a1ec1a --ctx-size 8192",
        ),
        (
            "/opt/llama.cpp/build/bin/llama-server -m /home/u/models/Qwen2.5-7B-Q4_K_M.gguf --port 8080",
            "llama-server",
            60,
            "-m Qwen2.5-7B-Q4_K_M.gguf --port 8080",
        ),
        ("python3 -m vllm.entrypoints.api_server --model=/data/m", "python3", 20, "-m vllm.entrypoints…"),
        ("", "(access denied)", 20, ""),
    ],
)
def test_shorten_cmdline(cmdline: str, name: str, width: int, expected: str) -> None:
    assert shorten_cmdline(cmdline, width, name=name) == expected
    assert len(shorten_cmdline(cmdline, width, name=name)) <= width


def test_fit_counts_terminal_cells_for_chinese_paths() -> None:
    # A model file named in Chinese: each character takes two cells.
    name = "通义千问-7B-对话版.gguf"
    assert fit(name, 40) == name
    cut = fit(name, 10)
    assert cut.endswith("…") and cell_len(cut) <= 10 and cut.startswith("通义千问")


async def test_process_table_draws_rows_largest_first_and_counts_what_does_not_fit() -> None:
    class Harness(App[None]):
        CSS = "GpuProcessTable { max-height: 5; }"

        def compose(self) -> ComposeResult:
            yield GpuProcessTable()

    procs = [GpuProcess(gpu_index=i % 2, pid=100 + i, name=f"proc{i}", cmdline=f"/usr/bin/proc{i} --n {i}",
                        used_memory=(i + 1) * GiB) for i in range(7)]
    async with Harness().run_test(size=(80, 10)) as pilot:
        table = pilot.app.query_one(GpuProcessTable)
        table.show(procs)
        await pilot.pause()
        lines = ["".join(seg.text for seg in table.render_line(y)).rstrip() for y in range(table.size.height)]
        assert table.size.height == 5
        assert lines[0].split() == ["GPU", "PID", "User", "Process", "VRAM", "Command"]
        # Largest first: proc6 (7 GiB), proc5, proc4; the last line counts the four smallest.
        assert [line.split()[2] for line in lines[1:4]] == ["proc6", "proc5", "proc4"]
        assert lines[1].split()[:2] == ["0", "106"] and "7.0 GiB" in lines[1] and "--n 6" in lines[1]
        assert lines[4].strip() == "… 4 more holding 10.0 GiB"
        assert table.row_count == 7

        table.show(procs[:2])
        await pilot.pause()
        assert table.size.height == 3  # header and two rows: the box shrinks with them
        table.show([], empty_text="Nobody holds GPU memory.")
        await pilot.pause()
        assert table.row_count == 0 and table.size.height == 1
        # The one line says so instead of showing a header over nothing.
        assert "".join(seg.text for seg in table.render_line(0)).strip() == "Nobody holds GPU memory."


@pytest.mark.parametrize(
    ("current", "direction", "expected"),
    [(1.0, +1, 2.0), (1.0, -1, 0.5), (10.0, +1, 10.0), (0.25, -1, 0.25), (0.75, +1, 1.0), (0.75, -1, 0.5)],
)
def test_next_refresh_steps_stay_in_bounds(current: float, direction: int, expected: float) -> None:
    assert next_refresh(current, direction) == expected


def test_units() -> None:
    assert format_bytes(14 * GiB) == "14.0 GiB"
    assert format_bytes(1536 * GiB) == "1.5 TiB"
    assert format_bytes(None) == "n/a"
    assert format_used_total(15 * GiB, 24 * GiB) == "15.0/24.0 GiB"
    assert format_used_total(512 * 2**20, 24 * GiB) == "0.5/24.0 GiB"  # both in the total's unit
    assert format_used_total(None, 24 * GiB) == "n/a"
    assert format_rate(1008e9) == "1008 GB/s"
    assert format_rate(52.3e9) == "52.3 GB/s"


def test_simd_summary_names_what_llama_cpp_picks_kernels_by() -> None:
    sapphire = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                "amx_tile", "amx_int8", "amx_bf16")
    assert simd_summary(sapphire) == "AVX2 AVX-512 (VNNI BF16) AMX"
    assert simd_summary(("avx", "avx2", "fma")) == "AVX2"
    assert simd_summary(("asimd", "asimddp", "i8mm", "sve", "sve2")) == "NEON dotprod i8mm SVE2"
    assert simd_summary(()) == "no AVX/NEON"


def test_cpu_model_drops_trademark_noise() -> None:
    assert cpu_model("Intel(R) Xeon(R) Gold 6430 CPU @ 2.10GHz") == "Intel Xeon Gold 6430 @ 2.10GHz"
    assert cpu_model("AMD Ryzen 9 7950X 16-Core Processor") == "AMD Ryzen 9 7950X 16-Core"


def test_gpu_line_groups_identical_cards() -> None:
    h100 = GpuInfo(0, "nvidia", "NVIDIA H100 80GB HBM3", None, 80 * GiB, driver_version="550.78",
                   cuda_version="12.4", memory_bandwidth=3.35e12)
    line = gpu_line((h100, dataclasses.replace(h100, index=1)))
    assert line == "GPU  2× NVIDIA H100 80GB HBM3 80.0 GiB 3350 GB/s · driver 550.78 · CUDA 12.4"
    assert "none found" in gpu_line(())


def test_disks_text_groups_one_filesystem_and_flags_low_space() -> None:
    roomy = DiskInfo("Ollama models", "/a", True, "/", 2000 * GiB, 400 * GiB)
    same_fs = DiskInfo("Hugging Face cache", "/b", False, "/", 2000 * GiB, 400 * GiB)
    tight = DiskInfo("GGUF dir", "/c", True, "/data", 1000 * GiB, 12 * GiB)
    text = disks_text((roomy, same_fs, tight))
    assert text.startswith("Free  ")
    assert "Ollama models, Hugging Face cache: 400 GiB of 2.0 TiB" in text
    assert "GGUF dir: 12.0 GiB of 1000 GiB LOW" in text
    assert not is_low(roomy) and is_low(tight)
    unreadable = DiskInfo("GGUF dir", "/x", False, None, None, None)
    assert "GGUF dir: unreadable" in disks_text((unreadable,))


def test_machine_info_line_uses_real_dataclasses() -> None:
    """Guards the facts widget against drift in core.hardware.types' field names."""
    info = MachineInfo("box", "Linux", CpuInfo("AMD Ryzen 9 7950X 16-Core Processor", 16, 32, ("avx2",)),
                       64 * GiB, 8 * GiB, (), ())
    line = cpu_line(info, bandwidth_text(None, measuring=False))
    assert line == "CPU  AMD Ryzen 9 7950X 16-Core · 16c/32t · AVX2 · RAM 64.0 GiB (b: measure bandwidth)"
