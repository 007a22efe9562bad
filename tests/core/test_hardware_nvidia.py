"""The NVIDIA probe against a fake `pynvml` at the NVML boundary; psutil is real."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pynvml
import pytest

from core.hardware.nvidia import cuda_version_text, theoretical_bandwidth
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, FakeProcess, GiB, h100_sxm, rtx_3090

MiB = 2**20


def probe_for(fake: FakeNvml, tmp_path: Path) -> HardwareProbe:
    """A probe that sees only the fake NVML (an empty sysfs, so no AMD cards from the host)."""
    return HardwareProbe(nvml=fake, sysfs_root=tmp_path / "sys")


@pytest.fixture
def three_gpus() -> FakeNvml:
    return FakeNvml([FakeGpu(), rtx_3090(), h100_sxm()])


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


# --------------------------------------------------------------------------- pure math


@pytest.mark.parametrize(
    ("bus_bits", "mem_mhz", "expected_gb_s"),
    [
        (384, 10501, 1008.1),  # RTX 4090, GDDR6X 21 Gbps
        (384, 9751, 936.1),  # RTX 3090, GDDR6X 19.5 Gbps
        (5120, 2619, 3352.3),  # H100 SXM, HBM3
        (5120, 1215, 1555.2),  # A100 40GB, HBM2
        (256, 7001, 448.1),  # RTX 3070, GDDR6 14 Gbps
    ],
)
def test_theoretical_bandwidth_matches_spec_sheets(bus_bits: int, mem_mhz: int, expected_gb_s: float) -> None:
    assert theoretical_bandwidth(bus_bits, mem_mhz) == pytest.approx(expected_gb_s * 1e9, rel=1e-3)


@pytest.mark.parametrize(("bus", "clock"), [(None, 10501), (384, None), (0, 10501), (384, 0)])
def test_theoretical_bandwidth_is_unknown_without_both_numbers(bus: int | None, clock: int | None) -> None:
    assert theoretical_bandwidth(bus, clock) is None


@pytest.mark.parametrize(("raw", "text"), [(12040, "12.4"), (12020, "12.2"), (11080, "11.8"),
                                           (13000, "13.0"), (0, None), (None, None)])
def test_cuda_version_decoding(raw: int | None, text: str | None) -> None:
    assert cuda_version_text(raw) == text


# --------------------------------------------------------------------------- static facts


def test_static_facts_of_several_gpus(three_gpus: FakeNvml, tmp_path: Path) -> None:
    info = probe_for(three_gpus, tmp_path).machine_info()

    assert [g.name for g in info.gpus] == ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3090",
                                          "NVIDIA H100 80GB HBM3"]
    assert [g.index for g in info.gpus] == [0, 1, 2]
    assert [g.uuid for g in info.gpus] == ["GPU-4090-0000", "GPU-3090-0001", "GPU-H100-0002"]
    assert [g.memory_total for g in info.gpus] == [24 * GiB, 24 * GiB, 80 * GiB]
    assert [g.compute_capability for g in info.gpus] == ["8.9", "8.6", "9.0"]
    assert [g.power_limit_w for g in info.gpus] == [450.0, 350.0, 700.0]
    # The max link, not the idle-trained current one (the fake says Gen1 now).
    assert [(g.pcie_gen, g.pcie_width) for g in info.gpus] == [(4, 16), (4, 16), (5, 16)]
    assert {(g.vendor, g.driver_version, g.cuda_version) for g in info.gpus} == {("nvidia", "550.78", "12.4")}
    assert [g.memory_bus_width_bits for g in info.gpus] == [384, 384, 5120]
    assert [g.max_memory_clock_mhz for g in info.gpus] == [10501, 9751, 2619]
    bandwidths = [g.memory_bandwidth for g in info.gpus]
    assert bandwidths == pytest.approx([1008.1e9, 936.1e9, 3352.3e9], rel=1e-3)
    assert info.notices == ()


def test_machine_info_is_computed_once(three_gpus: FakeNvml, tmp_path: Path) -> None:
    probe = probe_for(three_gpus, tmp_path)
    first = probe.machine_info()
    assert probe.machine_info() is first
    assert three_gpus.calls["nvmlDeviceGetName"] == 3


def test_prefetch_reads_the_facts_once_in_the_background(three_gpus: FakeNvml, tmp_path: Path) -> None:
    probe = probe_for(three_gpus, tmp_path)
    probe.prefetch()
    thread = probe._prefetch
    probe.prefetch()  # a second call starts nothing new
    assert thread is not None and probe._prefetch is thread
    thread.join(10)
    assert three_gpus.calls["nvmlDeviceGetName"] == 3  # read in the background...
    assert len(probe.machine_info().gpus) == 3
    assert three_gpus.calls["nvmlDeviceGetName"] == 3  # ...and not again


def test_known_machine_info_waits_for_the_prefetch_only_as_long_as_asked(tmp_path: Path) -> None:
    gate = threading.Event()
    probe = probe_for(FakeNvml([FakeGpu()], init_gate=gate), tmp_path)
    assert probe.known_machine_info(wait=0.5) is None  # nothing started: nothing to wait for
    probe.prefetch()
    started = time.monotonic()
    assert probe.known_machine_info(wait=0.2) is None  # the driver is still in init
    assert 0.15 <= time.monotonic() - started < 5
    assert probe.known_machine_info() is None
    gate.set()
    info = probe.known_machine_info(wait=10)
    assert info is not None and len(info.gpus) == 1


def test_prefetch_after_close_does_nothing(three_gpus: FakeNvml, tmp_path: Path) -> None:
    probe = probe_for(three_gpus, tmp_path)
    probe.close()
    probe.prefetch()
    assert probe._prefetch is None
    assert three_gpus.calls["nvmlDeviceGetName"] == 0


def test_pcie_falls_back_to_current_link_when_max_is_unsupported(tmp_path: Path) -> None:
    gpu = FakeGpu(not_supported={"nvmlDeviceGetMaxPcieLinkGeneration", "nvmlDeviceGetMaxPcieLinkWidth"},
                  pcie_curr_gen=3, pcie_curr_width=8)
    info = probe_for(FakeNvml([gpu]), tmp_path).machine_info()
    assert (info.gpus[0].pcie_gen, info.gpus[0].pcie_width) == (3, 8)


def test_cuda_version_falls_back_to_the_unversioned_call(tmp_path: Path) -> None:
    # An older nvidia-ml-py without the _v2 call.
    fake = FakeNvml([FakeGpu()], cuda_version=12020, missing={"nvmlSystemGetCudaDriverVersion_v2"})
    info = probe_for(fake, tmp_path).machine_info()
    assert info.gpus[0].cuda_version == "12.2"
    assert fake.calls["nvmlSystemGetCudaDriverVersion"] == 1


# --------------------------------------------------------------------------- live samples


def test_sample_reads_every_live_field(tmp_path: Path) -> None:
    gpu = FakeGpu(memory_used=14 * GiB, util_gpu=97, util_memory=40, temperature=71, power_mw=352_500,
                  sm_clock=2520, mem_clock=10501, fan=55)
    probe = probe_for(FakeNvml([gpu]), tmp_path)
    (reading,) = probe.sample().gpus

    assert reading.index == 0
    assert (reading.memory_used, reading.memory_total, reading.memory_free) == (14 * GiB, 24 * GiB, 10 * GiB)
    assert reading.memory_fraction == pytest.approx(14 / 24)
    assert (reading.util_gpu, reading.util_memory) == (97.0, 40.0)
    assert reading.temperature_c == 71.0
    assert (reading.power_w, reading.power_limit_w) == (352.5, 450.0)  # milliwatts become watts
    assert (reading.sm_clock_mhz, reading.mem_clock_mhz) == (2520, 10501)
    assert reading.fan_percent == 55.0
    assert reading.error is None


def test_sample_tracks_changes_between_readings(tmp_path: Path) -> None:
    fake = FakeNvml([FakeGpu(memory_used=1 * GiB)])
    probe = probe_for(fake, tmp_path)
    assert probe.sample().gpus[0].memory_used == 1 * GiB
    fake.gpus[0].memory_used = 20 * GiB
    fake.gpus[0].temperature = 83
    reading = probe.sample().gpus[0]
    assert (reading.memory_used, reading.temperature_c) == (20 * GiB, 83.0)


def test_nvml_is_initialised_once_and_handles_are_cached(three_gpus: FakeNvml, tmp_path: Path) -> None:
    probe = probe_for(three_gpus, tmp_path)
    for _ in range(5):
        probe.sample()
    assert three_gpus.calls["nvmlInit"] == 1
    assert three_gpus.calls["nvmlDeviceGetHandleByIndex"] == 3
    assert three_gpus.calls["nvmlDeviceGetMemoryInfo"] == 3 + 5 * 3  # static read + one per sample


def test_sample_before_machine_info_still_has_one_entry_per_gpu(three_gpus: FakeNvml, tmp_path: Path) -> None:
    probe = probe_for(three_gpus, tmp_path)
    sample = probe.sample()
    info = probe.machine_info()
    assert [g.index for g in sample.gpus] == [g.index for g in info.gpus] == [0, 1, 2]


def test_an_unsupported_field_is_none_and_nothing_else_changes(three_gpus: FakeNvml, tmp_path: Path) -> None:
    sample = probe_for(three_gpus, tmp_path).sample()
    h100 = sample.gpus[2]
    assert h100.fan_percent is None  # datacenter cards have no fan to report
    assert h100.error is None
    assert h100.temperature_c == 41.0 and h100.memory_used == 1 * GiB
    assert sample.gpus[0].fan_percent == 30.0
    assert sample.notices == ()


def test_a_card_that_supports_almost_nothing_still_shows_memory(tmp_path: Path) -> None:
    unsupported = {"nvmlDeviceGetUtilizationRates", "nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage",
                   "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetClockInfo", "nvmlDeviceGetFanSpeed",
                   "nvmlDeviceGetMemoryBusWidth"}
    probe = probe_for(FakeNvml([FakeGpu(not_supported=unsupported)]), tmp_path)
    info, reading = probe.machine_info().gpus[0], probe.sample().gpus[0]
    assert info.memory_bandwidth is None and info.power_limit_w is None
    assert reading.memory_used == 1 * GiB and reading.error is None
    assert (reading.util_gpu, reading.temperature_c, reading.power_w, reading.sm_clock_mhz) == (None,) * 4


# --------------------------------------------------------------------------- processes


def test_processes_are_named_from_the_real_process_table(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    gpu = FakeGpu(processes=[
        FakeProcess(os.getpid(), 300 * MiB, "graphics"),
        FakeProcess(sleeper.pid, 14 * GiB),
    ])
    (reading,) = probe_for(FakeNvml([gpu]), tmp_path).sample().gpus

    biggest, mine = reading.processes
    assert (biggest.pid, biggest.name, biggest.cmdline) == (sleeper.pid, "sleep", "sleep 60")
    assert (biggest.used_memory, biggest.kind, biggest.gpu_index) == (14 * GiB, "compute", 0)
    me = psutil.Process()
    assert (mine.pid, mine.kind, mine.used_memory) == (os.getpid(), "graphics", 300 * MiB)
    assert (mine.name, mine.cmdline) == (me.name(), shlex.join(me.cmdline()))


def test_processes_that_cannot_be_looked_up_are_still_listed(tmp_path: Path) -> None:
    gone = 2**22 + 12345  # above Linux's pid_max: certainly no such process here
    gpu = FakeGpu(processes=[FakeProcess(gone, 2 * GiB), FakeProcess(None, None)])
    (reading,) = probe_for(FakeNvml([gpu]), tmp_path).sample().gpus

    by_pid = {p.pid: p for p in reading.processes}
    assert set(by_pid) == {gone, 0}
    assert by_pid[gone].used_memory == 2 * GiB
    assert by_pid[gone].name == "(not visible)"
    assert "PID namespace" in by_pid[gone].cmdline
    assert by_pid[0].used_memory is None and by_pid[0].name == "(unknown)"


def test_a_compute_and_graphics_process_is_listed_once(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    gpu = FakeGpu(processes=[FakeProcess(sleeper.pid, 1 * GiB, "compute"),
                             FakeProcess(sleeper.pid, 1 * GiB, "graphics")])
    (reading,) = probe_for(FakeNvml([gpu]), tmp_path).sample().gpus
    assert [(p.pid, p.kind, p.used_memory) for p in reading.processes] == [(sleeper.pid, "compute", 1 * GiB)]


def test_ollama_runner_is_named_by_its_subcommand(tmp_path: Path) -> None:
    # A real process whose executable is called `ollama` and whose first argument is `runner`.
    (tmp_path / "ollama").symlink_to(sys.executable)
    (tmp_path / "runner").write_text("import time\ntime.sleep(60)\n")
    proc = subprocess.Popen([str(tmp_path / "ollama"), "runner", "--model", "blob"], cwd=tmp_path)
    try:
        gpu = FakeGpu(processes=[FakeProcess(proc.pid, 5 * GiB)])
        (reading,) = probe_for(FakeNvml([gpu]), tmp_path).sample().gpus
    finally:
        proc.kill()
        proc.wait()
    (runner,) = reading.processes
    assert runner.name == "ollama runner"
    assert runner.cmdline.endswith("ollama runner --model blob")


def test_process_listing_not_permitted_leaves_the_rest_of_the_reading(tmp_path: Path) -> None:
    fake = FakeNvml([FakeGpu(memory_used=3 * GiB, processes=[FakeProcess(os.getpid(), 1 * GiB)])],
                    no_permission_processes=True)
    sample = probe_for(fake, tmp_path).sample()
    (reading,) = sample.gpus
    assert reading.processes == ()
    assert reading.memory_used == 3 * GiB and reading.error is None
    assert len(sample.notices) == 1
    assert "Not allowed to list the processes using GPU 0" in sample.notices[0]


def test_bindings_newer_than_the_driver_only_lose_the_process_list(tmp_path: Path) -> None:
    fake = FakeNvml([FakeGpu(processes=[FakeProcess(os.getpid(), 1 * GiB)])])

    def mismatch(handle: object) -> list[object]:
        raise pynvml.NVMLLibraryMismatchError("Unversioned function called ...")

    fake.nvmlDeviceGetComputeRunningProcesses = mismatch  # type: ignore[method-assign]
    sample = probe_for(fake, tmp_path).sample()
    assert sample.gpus[0].processes == ()
    assert sample.gpus[0].error is None and sample.gpus[0].memory_used == 1 * GiB


# --------------------------------------------------------------------------- failure modes


def test_gpu_lost_mid_run_marks_only_that_gpu(three_gpus: FakeNvml, tmp_path: Path) -> None:
    probe = probe_for(three_gpus, tmp_path)
    assert all(g.error is None for g in probe.sample().gpus)

    three_gpus.lose_gpu(1)
    sample = probe.sample()

    lost = sample.gpus[1]
    assert lost.error is not None and "GPU 1 (NVIDIA GeForce RTX 3090) stopped answering" in lost.error
    assert "dmesg" in lost.error
    assert lost.memory_used is None and lost.memory_total == 24 * GiB
    assert [g.error for g in (sample.gpus[0], sample.gpus[2])] == [None, None]
    assert [g.memory_used for g in (sample.gpus[0], sample.gpus[2])] == [1 * GiB, 1 * GiB]
    assert sample.notices == (lost.error,)
    assert len(probe.machine_info().gpus) == 3


def test_gpu_lost_before_start_is_listed_with_an_error(tmp_path: Path) -> None:
    fake = FakeNvml([FakeGpu(), rtx_3090()])
    fake.lose_gpu(0)
    probe = probe_for(fake, tmp_path)
    info = probe.machine_info()
    assert [g.name for g in info.gpus] == ["NVIDIA GPU 0", "NVIDIA GeForce RTX 3090"]
    assert any("GPU 0" in n and "stopped answering" in n for n in info.notices)
    sample = probe.sample()
    assert sample.gpus[0].error is not None
    assert sample.gpus[1].error is None and sample.gpus[1].memory_used == 1 * GiB


@pytest.mark.parametrize(
    ("code", "phrases"),
    [
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, ("libnvidia-ml.so.1", "CPU-only mode", "nvidia-smi")),
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, ("not loaded", "modprobe nvidia", "CPU-only mode")),
        (pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, ("different versions", "reboot", "CPU-only mode")),
        (pynvml.NVML_ERROR_NO_PERMISSION, ("/dev/nvidia", "CPU-only mode")),
        (pynvml.NVML_ERROR_UNKNOWN, ("NVML could not start (Unknown Error)", "CPU-only mode")),
    ],
)
def test_nvml_that_cannot_start_means_cpu_only_mode(
    code: int, phrases: tuple[str, ...], tmp_path: Path
) -> None:
    fake = FakeNvml([FakeGpu()], init_error=code)
    probe = probe_for(fake, tmp_path)
    info = probe.machine_info()
    sample = probe.sample()
    probe.close()

    assert info.gpus == () and sample.gpus == ()
    assert len(info.notices) == 1
    for phrase in phrases:
        assert phrase in info.notices[0]
    assert info.cpu.logical_cores >= 1 and sample.ram_total > 0  # the rest of the machine still reads
    assert fake.calls["nvmlShutdown"] == 0  # nothing to shut down after a failed init


def test_missing_pynvml_module_means_cpu_only_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    info = HardwareProbe(sysfs_root=tmp_path).machine_info()
    assert info.gpus == ()
    assert "nvidia-ml-py" in info.notices[0] and "CPU-only mode" in info.notices[0]


def test_no_gpu_at_all(tmp_path: Path) -> None:
    probe = probe_for(FakeNvml([]), tmp_path)
    info = probe.machine_info()
    assert info.gpus == () and probe.sample().gpus == ()
    assert info.notices == ("No GPU was found (NVML sees no NVIDIA GPU and sysfs shows no AMD GPU), so "
                            "llamadeck runs in CPU-only mode and models will run on the CPU.",)


def test_an_unexpected_exception_in_a_probe_becomes_a_notice(tmp_path: Path) -> None:
    fake = FakeNvml([FakeGpu(), rtx_3090()])
    probe = probe_for(fake, tmp_path)
    probe.machine_info()

    def broken(handle: object, version: object = None) -> object:
        raise RuntimeError("binding bug")

    fake.nvmlDeviceGetMemoryInfo = broken  # type: ignore[method-assign]
    sample = probe.sample()
    assert len(sample.gpus) == 2 and all(g.error for g in sample.gpus)
    assert any("RuntimeError: binding bug" in n for n in sample.notices)


def test_close_shuts_nvml_down_once(three_gpus: FakeNvml, tmp_path: Path) -> None:
    probe = probe_for(three_gpus, tmp_path)
    probe.sample()
    probe.close()
    probe.close()
    assert three_gpus.calls["nvmlShutdown"] == 1
    assert three_gpus.initialised == 0
    after = probe.sample()  # a late tick from a worker must not crash or re-initialise
    assert [g.error for g in after.gpus] == ["The hardware probe was closed."] * 3
    assert three_gpus.calls["nvmlInit"] == 1


def test_real_pynvml_never_raises_here(tmp_path: Path) -> None:
    """Whatever this machine has (a GPU or none), the real binding gives facts or a reason."""
    probe = HardwareProbe(sysfs_root=tmp_path)
    try:
        info, sample = probe.machine_info(), probe.sample()
    finally:
        probe.close()
    assert len(sample.gpus) == len(info.gpus)
    assert info.gpus or info.notices
