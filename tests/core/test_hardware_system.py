"""CPU, RAM, swap, load and disks from the real machine; RAM bandwidth measured for real."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psutil
import pytest

from core.config import Settings
from core.errors import HardwareError
from core.hardware.bandwidth import measure_ram_bandwidth
from core.hardware.cpu import parse_cpuinfo, percent_between
from core.hardware.disks import disk_info
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml

XEON_SAPPHIRE_RAPIDS = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw \
avx512vl avx512vbmi avx512_vnni avx512_bf16 avx_vnni amx_bf16 avx512_fp16 amx_tile amx_int8

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2
"""

RYZEN_5950X = """\
processor\t: 0
model name\t: AMD Ryzen 9 5950X 16-Core Processor
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
"""

OLD_CORE_I7 = """\
processor\t: 0
model name\t: Intel(R) Core(TM) i7 CPU 920 @ 2.67GHz
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt
"""

GRAVITON3 = """\
processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma \
lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm \
svebf16 i8mm bf16 dgh rng
CPU implementer\t: 0x41
"""


@pytest.mark.parametrize(
    ("text", "model", "simd"),
    [
        (XEON_SAPPHIRE_RAPIDS, "Intel(R) Xeon(R) Platinum 8480+",
         ("avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
          "avx512vbmi", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")),
        (RYZEN_5950X, "AMD Ryzen 9 5950X 16-Core Processor", ("avx", "avx2", "fma", "f16c")),
        (OLD_CORE_I7, "Intel(R) Core(TM) i7 CPU 920 @ 2.67GHz", ()),
        (GRAVITON3, None, ("asimd", "asimdhp", "asimddp", "i8mm", "bf16", "sve")),
        ("", None, ()),
    ],
)
def test_parse_cpuinfo(text: str, model: str | None, simd: tuple[str, ...]) -> None:
    assert parse_cpuinfo(text) == (model, simd)


def test_cpu_facts_come_from_this_machine(tmp_path: Path) -> None:
    info = HardwareProbe(nvml=FakeNvml([]), sysfs_root=tmp_path).machine_info()
    assert info.cpu.logical_cores == psutil.cpu_count()
    assert info.cpu.physical_cores == psutil.cpu_count(logical=False)
    assert info.cpu.model
    assert info.ram_total == psutil.virtual_memory().total
    assert info.swap_total == psutil.swap_memory().total
    assert info.hostname and info.os


def _times(user: float, idle: float, iowait: float = 0.0, guest: float = 0.0) -> object:
    times_type = type(psutil.cpu_times())
    values = dict.fromkeys(times_type._fields, 0.0)
    values.update(user=user, idle=idle)
    if "iowait" in values:
        values["iowait"] = iowait
    if "guest" in values:
        values["guest"] = guest
    return times_type(**values)


@pytest.mark.parametrize(
    ("before", "after", "percent"),
    [
        (_times(100, 100), _times(150, 150), 50.0),
        (_times(100, 100), _times(200, 100), 100.0),
        (_times(100, 100), _times(100, 200), 0.0),
        (_times(100, 100, iowait=10), _times(125, 150, iowait=35), 25.0),  # waiting on I/O is not busy
        (_times(100, 100), _times(100, 100), 0.0),  # no time passed
    ],
)
def test_percent_between(before: object, after: object, percent: float) -> None:
    assert percent_between(before, after) == percent


def test_guest_time_is_not_counted_twice() -> None:
    if "guest" not in type(psutil.cpu_times())._fields:
        pytest.skip("no guest time on this platform")
    # Guest time is already inside user time: 50 of 100 jiffies busy, not 100 of 150.
    assert percent_between(_times(0, 0), _times(50, 50, guest=50)) == 50.0


def test_cpu_load_sees_a_busy_core(tmp_path: Path) -> None:
    probe = HardwareProbe(nvml=FakeNvml([]), sysfs_root=tmp_path)
    probe.sample()
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass
    sample = probe.sample()
    assert len(sample.per_cpu_percent) == psutil.cpu_count()
    assert all(0.0 <= p <= 100.0 for p in sample.per_cpu_percent)
    assert max(sample.per_cpu_percent) > 50.0  # this thread kept one core busy the whole time
    mean = sum(sample.per_cpu_percent) / len(sample.per_cpu_percent)
    assert sample.cpu_percent == pytest.approx(mean, abs=0.1)


def test_memory_and_load_in_a_sample(tmp_path: Path) -> None:
    sample = HardwareProbe(nvml=FakeNvml([]), sysfs_root=tmp_path).sample()
    assert sample.ram_used + sample.ram_available == sample.ram_total == psutil.virtual_memory().total
    assert 0 < sample.ram_used < sample.ram_total
    assert 0 <= sample.swap_used <= sample.swap_total
    assert sample.load_avg is not None and len(sample.load_avg) == 3
    assert sample.timestamp == pytest.approx(time.time(), abs=5)


# --------------------------------------------------------------------------- disks


def test_disk_of_an_existing_folder(tmp_path: Path) -> None:
    info, notice = disk_info("GGUF dir", tmp_path)
    usage = shutil.disk_usage(tmp_path)
    assert notice is None
    assert (info.label, info.path, info.exists) == ("GGUF dir", str(tmp_path), True)
    assert info.total == usage.total
    assert info.free is not None and abs(info.free - usage.free) < 256 * 2**20
    assert info.mount is not None and str(tmp_path.resolve()).startswith(info.mount)


def test_disk_of_a_folder_not_created_yet_is_its_parents_filesystem(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "yet" / "models"
    info, notice = disk_info("Ollama models", missing)
    assert notice is None
    assert info.exists is False and info.path == str(missing)
    assert info.total == shutil.disk_usage(tmp_path).total
    assert info.mount == disk_info("x", tmp_path)[0].mount


def test_a_file_where_a_folder_should_be_is_not_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "models").write_text("oops")
    info, _ = disk_info("GGUF dir", tmp_path / "models")
    assert info.exists is False and info.total == shutil.disk_usage(tmp_path).total


def test_from_settings_watches_every_model_folder(tmp_path: Path) -> None:
    settings = Settings(ollama_models_dir=tmp_path / "ollama", hf_cache_dir=tmp_path / "hf",
                        gguf_dirs=(tmp_path / "a", tmp_path / "b"))
    (tmp_path / "a").mkdir()
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([]))
    disks = probe.machine_info().disks
    assert [(d.label, d.path, d.exists) for d in disks] == [
        ("Ollama models", str(tmp_path / "ollama"), False),
        ("Hugging Face cache", str(tmp_path / "hf"), False),
        ("GGUF dir", str(tmp_path / "a"), True),
        ("GGUF dir", str(tmp_path / "b"), False),
    ]
    (tmp_path / "hf").mkdir()
    assert [d.exists for d in probe.disks()] == [False, True, True, False]  # fresh, unlike machine_info


# --------------------------------------------------------------------------- RAM bandwidth


def test_ram_bandwidth_is_measured() -> None:
    result = measure_ram_bandwidth(8 * 2**20, min_seconds=0.02, threads=2)
    assert result.buffer_bytes == 8 * 2**20
    # Any machine that runs this copies more than 100 MB/s and less than 10 TB/s.
    assert 1e8 < result.bytes_per_second < 1e13
    assert result.seconds >= 0.02
    assert "2 threads" in result.method


def test_ram_bandwidth_refuses_a_buffer_that_fits_in_registers() -> None:
    with pytest.raises(HardwareError, match="at least 64 KiB"):
        measure_ram_bandwidth(1024)


def test_probe_shared_between_threads_starts_nvml_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    fake = FakeNvml([FakeGpu(), FakeGpu()])
    probe = HardwareProbe(nvml=fake, sysfs_root=tmp_path)
    with ThreadPoolExecutor(4) as pool:
        samples = list(pool.map(lambda _: probe.sample(), range(16)))
    assert fake.calls["nvmlInit"] == 1
    assert fake.calls["nvmlDeviceGetHandleByIndex"] == 2
    assert all([g.error for g in s.gpus] == [None, None] for s in samples)
