"""The machine a plan is for: which RAM bandwidth and CPU figures its speeds use, and saying so."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.errors import HardwareError, PlannerError
from core.facts import catalog
from core.hardware.bandwidth_store import load_bandwidth, save_bandwidth, store_path
from core.hardware.types import BandwidthResult, CpuInfo, MachineInfo
from core.planner.machine import (
    ASSUMED_CLOCK_MHZ,
    DEFAULT_RAM_BANDWIDTH,
    machine_spec,
    parse_ram_bandwidth,
    parse_threads,
)
from core.planner.plan import plan
from core.planner.report import speed_basis

GiB = 1024**3


def info(*, bw: float | None = None, when: str = "", clock: float | None = 4000.0,
         cores: int | None = 2) -> MachineInfo:
    cpu = CpuInfo("Test CPU", cores, 2, ("avx2", "fma"), clock)
    return MachineInfo("box", "Linux", cpu, int(23.5 * GiB), 0, (), (), ram_bandwidth=bw,
                       ram_bandwidth_measured_at=when)


def test_a_measured_bandwidth_is_used_and_named_with_its_date() -> None:
    m = machine_spec(None, info=info(bw=20.7e9, when="2026-12-07T21:40:00+00:00"))
    assert m.ram_bandwidth == 20.7e9 and m.ram_bandwidth_source == "measured 2026-12-07"
    assert not any("bandwidth" in n for n in m.notices)
    assert speed_basis(m) == "Speeds use RAM at 20.7 GB/s (measured 2026-12-07), 2 CPU threads."


def test_without_a_measurement_the_assumption_is_said_and_how_to_measure() -> None:
    m = machine_spec(None, info=info())
    assert m.ram_bandwidth == DEFAULT_RAM_BANDWIDTH and m.ram_bandwidth_source == "assumed"
    assert any("--measure-bw" in n for n in m.notices)


def test_cpu_speed_on_8b_q4_follows_the_measured_bandwidth() -> None:
    """The issue's case: 2 vCPUs, 20.7 GB/s measured; 60 GB/s assumed made CPU decode ~3x optimistic."""
    facts = catalog.facts("llama3.1:8b")
    slow = plan(facts, machine_spec(None, info=info(bw=20.7e9)), ctx=4096, quants=("Q4_K_M",)).rows[0]
    fast = plan(facts, machine_spec(None, info=info()), ctx=4096, quants=("Q4_K_M",)).rows[0]
    assert slow.placement == fast.placement == "cpu"
    assert slow.decode_tps is not None and fast.decode_tps is not None
    assert slow.decode_tps < fast.decode_tps * 0.4
    assert slow.decode_tps < 5  # an 8B Q4_K_M reads ~4.6 GiB a token


def test_given_figures_win_over_measured_ones() -> None:
    m = machine_spec(None, info=info(bw=20.7e9, when="2026-12-07"), ram_bandwidth_gbs=40, cpu_threads=8)
    assert (m.ram_bandwidth, m.ram_bandwidth_source, m.cpu_threads) == (40e9, "given", 8)
    assert m.cpu_tflops == pytest.approx(8 * 4.0 * 32 / 1000)
    h = machine_spec(["4090"], ram_gb=64, ram_bandwidth_gbs=90, cpu_threads=16)
    assert (h.ram_bandwidth, h.ram_bandwidth_source, h.cpu_threads) == (90e9, "given", 16)
    assert not any("bandwidth" in n for n in h.notices)
    assert h.cpu_tflops == pytest.approx(16 * ASSUMED_CLOCK_MHZ / 1000 * 32 / 1000)


def test_a_known_core_count_with_no_clock_is_not_called_unknown() -> None:
    m = machine_spec(None, info=info(clock=None, cores=2))
    assert m.cpu_tflops == pytest.approx(2 * ASSUMED_CLOCK_MHZ / 1000 * 32 / 1000)
    notes = [n for n in m.notices if n.startswith("The CPU")]
    assert notes == ["The CPU does not report its clock; CPU prompt speed assumes 3 GHz on 2 cores."]
    unknown = machine_spec(None, info=info(clock=None, cores=None))
    assert any("core count is unknown" in n for n in unknown.notices)


def test_typed_figures_are_checked() -> None:
    assert parse_ram_bandwidth("20.7") == 20.7 and parse_threads("8") == 8
    for bad in ("fast", "0", "-3"):
        with pytest.raises(PlannerError):
            parse_ram_bandwidth(bad)
    for bad in ("0", "two", "1.5"):
        with pytest.raises(PlannerError):
            parse_threads(bad)


def test_the_store_keeps_a_measurement_with_its_date(tmp_path: Path) -> None:
    result = BandwidthResult(20.7e9, 256 * 2**20, 0.4, "numpy copy, 2 threads, best of 5",
                             "2026-12-07T21:40:00")
    save_bandwidth(result)
    assert store_path().is_file() and load_bandwidth() == result
    doc = json.loads(store_path().read_text())
    doc["host"] = "another-box"  # a cache folder shared with another machine
    store_path().write_text(json.dumps(doc))
    assert load_bandwidth() is None
    store_path().write_text("{ not json")
    assert load_bandwidth() is None
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(HardwareError, match="could not keep it"):
        save_bandwidth(result, blocked / "ram-bandwidth.json")
    assert dataclasses.asdict(result)["measured_at"] == "2026-12-07T21:40:00"
