"""`llamadeck hw`: text and JSON output against the fake NVML, and the real CLI entry point."""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path

import psutil
import pynvml
import pytest

import cli.main as cli
from cli import hw
from core.hardware.bandwidth import measure_ram_bandwidth
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, FakeProcess, GiB, h100_sxm

TOP_LEVEL = {"host", "timestamp", "cpu", "memory", "gpus", "disks", "notices"}


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser("hw").parse_args(["hw", *argv])


@pytest.fixture
def fake() -> FakeNvml:
    return FakeNvml([
        FakeGpu(memory_used=15 * GiB, processes=[FakeProcess(os.getpid(), 14 * GiB)]),
        h100_sxm(),
    ])


@pytest.fixture
def probe(fake: FakeNvml, tmp_path: Path) -> HardwareProbe:
    models = tmp_path / "models"
    models.mkdir()
    return HardwareProbe(disk_paths=[("Ollama models", models), ("GGUF dir", tmp_path / "later")],
                         nvml=fake, sysfs_root=tmp_path / "sys")


def run(args: argparse.Namespace, probe: HardwareProbe, **kwargs: object) -> str:
    out = io.StringIO()
    kwargs.setdefault("settle", 0)
    assert hw.run(args, probe, out=out, **kwargs) == 0  # type: ignore[arg-type]
    return out.getvalue()


def test_text_report(probe: HardwareProbe) -> None:
    text = run(parse(), probe)

    assert "\x1b" not in text  # plain text: no colour codes, whatever the terminal
    assert ("GPU 0  NVIDIA GeForce RTX 4090  ·  24.0 GiB  ·  CC 8.9  ·  PCIe Gen4 x16  ·  1008 GB/s peak"
            in text)
    assert "GPU 1  NVIDIA H100 80GB HBM3" in text and "3352 GB/s peak" in text
    assert "driver 550.78  ·  CUDA 12.4  ·  GPU-4090-0000" in text
    assert "VRAM 15.0/24.0 GiB (62%)" in text
    assert "fan n/a" in text  # the H100 has no fan reading
    me = psutil.Process()
    assert f"{os.getpid():>8}   14.0 GiB  {me.name()}" in text
    assert "Ollama models" in text and "GGUF dir" in text and "(not created yet)" in text
    assert "Notices" not in text
    narrow = run(parse(), probe, width=60)
    (row,) = [line for line in narrow.splitlines() if line.lstrip().startswith(str(os.getpid()))]
    assert len(row) == 60 and row.endswith("…")  # long command lines are cut to the terminal


def test_json_report(probe: HardwareProbe, fake: FakeNvml) -> None:
    doc = json.loads(run(parse("--json"), probe))

    assert set(doc) == TOP_LEVEL
    gpu0, gpu1 = doc["gpus"]
    assert (gpu0["name"], gpu0["vendor"], gpu0["index"]) == ("NVIDIA GeForce RTX 4090", "nvidia", 0)
    assert (gpu0["memory_total"], gpu0["memory_used"], gpu0["memory_free"]) == (24 * GiB, 15 * GiB, 9 * GiB)
    assert gpu0["memory_bandwidth"] == pytest.approx(1008.1e9, rel=1e-3)
    assert gpu0["processes"] == [{"gpu_index": 0, "pid": os.getpid(), "name": psutil.Process().name(),
                                  "cmdline": gpu0["processes"][0]["cmdline"], "used_memory": 14 * GiB,
                                  "kind": "compute", "user": psutil.Process().username()}]
    assert gpu1["fan_percent"] is None and gpu1["error"] is None
    assert doc["memory"]["ram_total"] == psutil.virtual_memory().total
    assert doc["memory"]["ram_used"] + doc["memory"]["ram_available"] == doc["memory"]["ram_total"]
    assert doc["memory"]["ram_bandwidth"] is None
    assert doc["cpu"]["logical_cores"] == len(doc["cpu"]["per_cpu_percent"]) == psutil.cpu_count()
    assert isinstance(doc["cpu"]["simd"], list)
    assert [(d["label"], d["exists"]) for d in doc["disks"]] == [("Ollama models", True), ("GGUF dir", False)]
    assert all(isinstance(d["free"], int) for d in doc["disks"])
    assert doc["notices"] == []


def test_watch_json_prints_one_fresh_object_per_line(probe: HardwareProbe, fake: FakeNvml) -> None:
    waits: list[float] = []
    now = [1000.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds + 0.1  # sleeping overshoots a little, as it does
        fake.gpus[0].memory_used += 1 * GiB  # the card fills up between ticks

    out = run(parse("--json", "--watch", "2"), probe, max_samples=3, sleep=sleep, clock=lambda: now[0])

    lines = out.splitlines()
    assert len(lines) == 3
    docs = [json.loads(line) for line in lines]
    assert all(set(d) == TOP_LEVEL for d in docs)
    assert [d["gpus"][0]["memory_used"] for d in docs] == [15 * GiB, 16 * GiB, 17 * GiB]
    assert waits == pytest.approx([2.0, 1.9])  # ticks stay on a 2 s grid instead of drifting
    assert docs[0]["timestamp"] <= docs[1]["timestamp"] <= docs[2]["timestamp"]


def test_watch_after_a_stall_does_not_fire_a_burst(probe: HardwareProbe) -> None:
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds + (30 if len(waits) == 1 else 0)  # the laptop was suspended during the first wait

    run(parse("--json", "--watch", "1"), probe, max_samples=4, sleep=sleep, clock=lambda: now[0])
    assert waits == [1.0, 0.0, 1.0]


def test_watch_text_prints_the_report_then_only_live_blocks(probe: HardwareProbe) -> None:
    out = run(parse("--watch", "1"), probe, max_samples=3, sleep=lambda s: None)
    assert out.count("Disks") == 1 and out.count("driver 550.78") == 2  # once per GPU, first block only
    assert out.count("--- ") == 2
    assert out.count("VRAM 15.0/24.0 GiB") == 3


def test_ctrl_c_ends_a_watch_cleanly(probe: HardwareProbe) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    out = run(parse("--watch", "1", "--json"), probe, sleep=interrupted)
    assert len(out.splitlines()) == 1


def test_lost_gpu_is_reported_once_in_text(probe: HardwareProbe, fake: FakeNvml) -> None:
    probe.machine_info()
    fake.lose_gpu(1)
    text = run(parse(), probe)
    assert text.count("stopped answering") == 1
    assert "VRAM 15.0/24.0 GiB" in text  # GPU 0 still reads

    doc = json.loads(run(parse("--json"), probe))
    assert "stopped answering" in doc["gpus"][1]["error"]
    assert any("stopped answering" in n for n in doc["notices"])


def test_cpu_only_machine(tmp_path: Path) -> None:
    fake = FakeNvml([], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    probe = HardwareProbe(nvml=fake, sysfs_root=tmp_path)
    text = run(parse(), probe, width=80)
    assert "GPU 0" not in text
    notices = text.split("Notices\n", 1)[1]
    assert "modprobe nvidia" in notices and "CPU-only" in notices
    assert all(len(line) <= 80 for line in notices.splitlines())
    doc = json.loads(run(parse("--json"), probe))
    assert doc["gpus"] == [] and "CPU-only" in doc["notices"][0]


def test_bandwidth_measurement(probe: HardwareProbe) -> None:
    def measure() -> object:
        return measure_ram_bandwidth(4 * 2**20, min_seconds=0.01, threads=1)

    doc = json.loads(run(parse("--json", "--bandwidth"), probe, measure=measure))
    bandwidth = doc["memory"]["ram_bandwidth"]
    assert bandwidth["bytes_per_second"] > 1e8 and bandwidth["buffer_bytes"] == 4 * 2**20
    text = run(parse("--bandwidth"), probe, measure=measure)
    assert "RAM bandwidth" in text and "numpy copy, 1 thread" in text


def test_bandwidth_is_only_measured_when_asked(probe: HardwareProbe) -> None:
    def measure() -> object:
        raise AssertionError("measured without --bandwidth")

    assert "RAM bandwidth" not in run(parse(), probe, measure=measure)


@pytest.mark.parametrize(
    ("value", "message"),
    [("0.1", "at least 0.25 seconds"), ("soon", "number of seconds"), ("nan", "at least 0.25 seconds")],
)
def test_bad_watch_interval_is_refused(value: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("--watch", value)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_real_command_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Through `llamadeck hw --json` with the real pynvml, whatever this machine has."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.main(["hw", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert set(doc) == TOP_LEVEL
    assert doc["gpus"] or doc["notices"]
    assert captured.err == ""
    assert cli.main(["hw"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(doc["host"]["hostname"]) and "\x1b" not in text


def test_many_cores_wrap_to_the_terminal(probe: HardwareProbe) -> None:
    from dataclasses import replace

    sample = replace(probe.sample(), per_cpu_percent=tuple(float(i % 101) for i in range(192)))
    text = hw.render_watch(probe.machine_info(), sample, width=80)
    core_lines = ("Cores  " + text.split("Cores  ", 1)[1].split("\nRAM", 1)[0]).splitlines()
    assert len(core_lines) > 5 and all(len(line) <= 80 for line in core_lines)
    words = " ".join(core_lines).split()
    assert words[:4] == ["Cores", "0", "1", "2"] and len(words) == 1 + 192 + 1  # label, cores, "(%)"
