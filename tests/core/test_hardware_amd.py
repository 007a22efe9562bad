"""AMD cards read from a sysfs tree built in tmp_path (real file reading, amdgpu's file layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.hardware.amd import AmdGpus, pci_device_name
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml

GiB = 2**30


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def amd_card(sys_root: Path, n: int, *, device_id: str = "0x744c", product: str | None = "Radeon RX 7900 XTX",
             vram_total: int = 24 * GiB, vram_used: int = 6 * GiB, busy: int | None = 37,
             hwmon: bool = True) -> Path:
    device = sys_root / "class" / "drm" / f"card{n}" / "device"
    write(device / "vendor", "0x1002")
    write(device / "device", device_id)
    write(device / "mem_info_vram_total", str(vram_total))
    write(device / "mem_info_vram_used", str(vram_used))
    if busy is not None:
        write(device / "gpu_busy_percent", str(busy))
    if product is not None:
        write(device / "product_name", product)
    write(device / "pp_dpm_mclk", "0: 96Mhz\n1: 456Mhz\n2: 1250Mhz *")
    if hwmon:
        mon = device / "hwmon" / "hwmon4"
        write(mon / "temp1_input", "54000")
        write(mon / "power1_average", "187000000")
        write(mon / "power1_cap", "327000000")
        write(mon / "pwm1", "102")
        write(mon / "pwm1_max", "255")
        write(mon / "freq1_input", "2371000000")
    # A connector folder sits next to the card in real sysfs and must not be taken for a GPU.
    (sys_root / "class" / "drm" / f"card{n}-DP-1").mkdir(parents=True, exist_ok=True)
    return device


def other_card(sys_root: Path, n: int, vendor: str) -> None:
    device = sys_root / "class" / "drm" / f"card{n}" / "device"
    write(device / "vendor", vendor)
    write(device / "mem_info_vram_total", str(8 * GiB))


def test_amd_card_static_facts_and_live_reading(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    amd_card(sys_root, 0)
    probe = HardwareProbe(nvml=FakeNvml([]), sysfs_root=sys_root)

    (info,) = probe.machine_info().gpus
    assert (info.vendor, info.name, info.index) == ("amd", "Radeon RX 7900 XTX", 0)
    assert info.memory_total == 24 * GiB
    assert info.power_limit_w == 327.0
    assert probe.machine_info().notices == ()

    (reading,) = probe.sample().gpus
    assert (reading.memory_used, reading.memory_total, reading.memory_free) == (6 * GiB, 24 * GiB, 18 * GiB)
    assert reading.util_gpu == 37.0
    assert reading.temperature_c == 54.0
    assert (reading.power_w, reading.power_limit_w) == (187.0, 327.0)
    assert reading.fan_percent == 40.0  # pwm 102 of 255
    assert reading.sm_clock_mhz == 2371  # hwmon freq1_input, in Hz
    assert reading.mem_clock_mhz == 1250  # the `*` line of pp_dpm_mclk
    assert reading.error is None


def test_live_values_are_reread_each_sample(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    device = amd_card(sys_root, 0)
    probe = HardwareProbe(nvml=FakeNvml([]), sysfs_root=sys_root)
    probe.sample()
    write(device / "mem_info_vram_used", str(20 * GiB))
    write(device / "gpu_busy_percent", "99")
    reading = probe.sample().gpus[0]
    assert (reading.memory_used, reading.util_gpu) == (20 * GiB, 99.0)


def test_missing_optional_files_leave_fields_none(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    amd_card(sys_root, 1, busy=None, hwmon=False, product=None, device_id="0xabcd")
    probe = HardwareProbe(nvml=FakeNvml([]), sysfs_root=sys_root)
    (info,) = probe.machine_info().gpus
    assert info.name.startswith("AMD") and info.power_limit_w is None
    (reading,) = probe.sample().gpus
    assert reading.memory_used == 6 * GiB
    assert (reading.util_gpu, reading.temperature_c, reading.power_w, reading.fan_percent) == (None,) * 4


def test_only_amdgpu_cards_are_listed(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    other_card(sys_root, 0, "0x8086")  # an Intel iGPU
    other_card(sys_root, 1, "0x10de")  # an NVIDIA card: NVML reports those
    amd_card(sys_root, 2, product="Radeon PRO W7900")
    amd_card(sys_root, 10, product="Radeon RX 7600")  # card10 sorts after card2, as the kernel numbers it
    no_vram = sys_root / "class" / "drm" / "card3" / "device"  # an old card on the `radeon` driver
    write(no_vram / "vendor", "0x1002")
    infos = HardwareProbe(nvml=FakeNvml([]), sysfs_root=sys_root).machine_info().gpus
    assert [(g.index, g.name) for g in infos] == [(0, "Radeon PRO W7900"), (1, "Radeon RX 7600")]


def test_amd_gpus_are_indexed_after_nvidia_gpus(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    amd_card(sys_root, 0)
    probe = HardwareProbe(nvml=FakeNvml([FakeGpu(), FakeGpu()]), sysfs_root=sys_root)
    info, sample = probe.machine_info(), probe.sample()
    assert [(g.index, g.vendor) for g in info.gpus] == [(0, "nvidia"), (1, "nvidia"), (2, "amd")]
    assert [g.index for g in sample.gpus] == [0, 1, 2]
    assert sample.gpus[2].memory_used == 6 * GiB


def test_no_nvidia_driver_on_an_amd_machine_is_not_a_problem(tmp_path: Path) -> None:
    import pynvml

    sys_root = tmp_path / "sys"
    amd_card(sys_root, 0)
    fake = FakeNvml([], init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    info = HardwareProbe(nvml=fake, sysfs_root=sys_root).machine_info()
    assert [g.vendor for g in info.gpus] == ["amd"]
    assert info.notices == ()


def test_a_card_that_disappears_is_marked(tmp_path: Path) -> None:
    import shutil

    sys_root = tmp_path / "sys"
    device = amd_card(sys_root, 0)
    probe = HardwareProbe(nvml=FakeNvml([]), sysfs_root=sys_root)
    probe.machine_info()
    shutil.rmtree(device.parent)
    sample = probe.sample()
    assert sample.gpus[0].error is not None and "disappeared" in sample.gpus[0].error
    assert sample.notices == (sample.gpus[0].error,)


PCI_IDS = """\
# comment
1000  Broadcom / LSI
\t0001  53c810
1002  Advanced Micro Devices, Inc. [AMD/ATI]
\t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]
\t\t1002 0e3a  Radeon RX 6900 XT
\t744c  Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]
10de  NVIDIA Corporation
\t744c  not an AMD card
"""


@pytest.mark.parametrize(
    ("device", "name"),
    [
        ("0x744c", "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]"),
        ("0x73BF", "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]"),
        ("0x0001", None),  # that id belongs to another vendor
        ("0x1234", None),
    ],
)
def test_pci_ids_lookup(tmp_path: Path, device: str, name: str | None) -> None:
    db = tmp_path / "pci.ids"
    db.write_text(PCI_IDS)
    assert pci_device_name("0x1002", device, [tmp_path / "missing.ids", db]) == name


def test_card_without_product_name_is_named_from_pci_ids(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    amd_card(sys_root, 0, product=None, device_id="0x744c")
    db = tmp_path / "pci.ids"
    db.write_text(PCI_IDS)
    amd = AmdGpus(sys_root, pci_ids=[db])
    amd.start()
    assert amd.infos[0].name == "AMD Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]"
    bare = AmdGpus(sys_root, pci_ids=[])
    bare.start()
    assert bare.infos[0].name == "AMD GPU (PCI device 0x744c)"
