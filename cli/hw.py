"""`llamadeck hw`: the dashboard's facts and samples, headless.

For scripts, SSH one-liners and bug reports: plain text with no colour or
Textual, or JSON (`--json`, one object; with `--watch`, one object per line).
Every number comes from the same `HardwareProbe` the dashboard uses, and the
text uses the dashboard's units, so the two never disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from core.config import Settings
from core.errors import HardwareError
from core.hardware.probe import HardwareProbe, measure_ram_bandwidth
from core.hardware.types import BandwidthResult, GpuInfo, GpuSample, MachineInfo, SystemSample, to_jsonable
from core.units import NA, format_bytes, format_percent, format_rate, format_used_total

MIN_WATCH_SECONDS = 0.25
# The probe's CPU load is measured since its previous reading; a one-shot
# report waits this long after start-up so the first number means something.
SETTLE_SECONDS = 0.25


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hw",
        help="print GPU, CPU, RAM and disk facts and a live sample",
        description="Print what the dashboard shows: static hardware facts and a live sample. "
                    "Sizes in --json output are bytes.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object (NDJSON with --watch)")
    parser.add_argument("--watch", type=_watch_seconds, metavar="SECONDS",
                        help="print a new sample every SECONDS until Ctrl-C")
    parser.add_argument("--bandwidth", action="store_true",
                        help="also measure RAM bandwidth with a short copy benchmark (about a second)")
    parser.set_defaults(func=main)


def _watch_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not value >= MIN_WATCH_SECONDS:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be at least {MIN_WATCH_SECONDS} seconds, not {text}")
    return value


def main(args: argparse.Namespace, settings: Settings) -> int:
    probe = HardwareProbe.from_settings(settings)
    width = shutil.get_terminal_size((100, 24)).columns
    try:
        return run(args, probe, out=sys.stdout, width=width)
    except BrokenPipeError:
        # `llamadeck hw --watch 1 --json | head -3`: the reader left, which is a normal end.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        probe.close()


def run(
    args: argparse.Namespace,
    probe: HardwareProbe,
    *,
    out: TextIO,
    width: int = 100,
    max_samples: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    settle: float = SETTLE_SECONDS,
    measure: Callable[[], BandwidthResult] = measure_ram_bandwidth,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """The command with its collaborators passed in; tests bound `--watch` with `max_samples`."""
    info = probe.machine_info()
    bandwidth = measure() if args.bandwidth else None
    if bandwidth is not None:
        try:
            probe.remember_bandwidth(bandwidth)  # `llamadeck plan` uses it from now on
        except HardwareError as exc:
            print(f"llamadeck hw: {exc}", file=sys.stderr)
    if settle > 0:
        sleep(settle)
    if args.watch is None:
        sample = probe.sample()
        if args.json:
            out.write(json.dumps(report(info, sample, bandwidth), indent=2) + "\n")
        else:
            out.write(render_report(info, sample, bandwidth, width))
        return 0
    next_tick = clock()
    count = 0
    try:
        while max_samples is None or count < max_samples:
            sample = probe.sample()
            if args.json:
                out.write(json.dumps(report(info, sample, bandwidth), separators=(",", ":")) + "\n")
            elif count == 0:
                out.write(render_report(info, sample, bandwidth, width))
            else:
                out.write("\n" + render_watch(info, sample, width))
            out.flush()
            count += 1
            if max_samples is not None and count >= max_samples:
                break
            # Ticks stay on a fixed grid so sampling cost does not add drift; after a stall
            # (a suspended laptop) the grid restarts instead of firing a burst of samples.
            next_tick += args.watch
            now = clock()
            if next_tick < now:
                next_tick = now
            sleep(next_tick - now)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends
    return 0


# --------------------------------------------------------------------------- JSON


def report(
    info: MachineInfo, sample: SystemSample, bandwidth: BandwidthResult | None = None
) -> dict[str, Any]:
    """One JSON-ready object: static facts and the live sample merged per device; sizes in bytes."""
    live = {g.index: g for g in sample.gpus}
    gpus = []
    for gpu in info.gpus:
        entry = to_jsonable(gpu)
        reading = live.get(gpu.index)
        if reading is not None:
            entry.update(to_jsonable(reading))
            entry["memory_free"] = reading.memory_free
        gpus.append(entry)
    return {
        "host": {"hostname": info.hostname, "os": info.os},
        "timestamp": sample.timestamp,
        "cpu": {
            **to_jsonable(info.cpu),
            "percent": sample.cpu_percent,
            "per_cpu_percent": list(sample.per_cpu_percent),
            "load_avg": None if sample.load_avg is None else list(sample.load_avg),
        },
        "memory": {
            "ram_total": sample.ram_total,
            "ram_used": sample.ram_used,
            "ram_available": sample.ram_available,
            "swap_total": sample.swap_total,
            "swap_used": sample.swap_used,
            "ram_bandwidth": to_jsonable(bandwidth) if bandwidth is not None else None,
        },
        "gpus": gpus,
        "disks": to_jsonable(info.disks),
        "notices": _notices(info, sample),
    }


def _notices(info: MachineInfo, sample: SystemSample, *, text: bool = False, tick: bool = False) -> list[str]:
    """Static and live notices, each once; the text report skips GPU errors it already shows inline."""
    notices = dict.fromkeys((*(() if tick else info.notices), *sample.notices))
    if text or tick:
        for gpu in sample.gpus:
            notices.pop(gpu.error or "", None)
    return list(notices)


# --------------------------------------------------------------------------- text


def render_report(info: MachineInfo, sample: SystemSample, bandwidth: BandwidthResult | None,
                  width: int = 100) -> str:
    """The full plain-text report: who the machine is, then the live sample, disks and notices."""
    cpu = info.cpu
    cores = f"{cpu.physical_cores} cores / " if cpu.physical_cores else ""
    freq = f", up to {cpu.max_freq_mhz / 1000:.1f} GHz" if cpu.max_freq_mhz else ""
    lines = [
        f"{info.hostname}  ·  {info.os}",
        "",
        f"CPU    {cpu.model}, {cores}{cpu.logical_cores} threads{freq}",
        f"SIMD   {' '.join(cpu.simd) if cpu.simd else 'none of AVX/AVX2/AVX-512/AMX/NEON detected'}",
    ]
    if bandwidth is not None:
        lines.append(f"RAM bandwidth  {format_rate(bandwidth.bytes_per_second)} measured "
                     f"({bandwidth.method}, {format_bytes(bandwidth.buffer_bytes)} buffer)")
    lines += _system_lines(sample, width)
    live = {g.index: g for g in sample.gpus}
    for gpu in info.gpus:
        lines += ["", *_gpu_static_lines(gpu), *_gpu_live_lines(live.get(gpu.index), width)]
    if info.disks:
        lines += ["", "Disks"]
        label_w = max(len(d.label) for d in info.disks) + 2
        for disk in info.disks:
            if disk.free is None:
                space = "free space unknown"
            else:
                space = f"{format_bytes(disk.free)} free of {format_bytes(disk.total)}"
            where = f" on {disk.mount}" if disk.mount else ""
            missing = "  (not created yet)" if not disk.exists else ""
            lines.append(f"  {disk.label:<{label_w}}{space}{where}  {disk.path}{missing}")
    lines += _notice_lines(_notices(info, sample, text=True), width)
    return "\n".join(lines) + "\n"


def render_watch(info: MachineInfo, sample: SystemSample, width: int = 100) -> str:
    """One `--watch` tick after the first: only what changes."""
    stamp = datetime.fromtimestamp(sample.timestamp).strftime("%H:%M:%S")
    lines = [f"--- {stamp} ---", *_system_lines(sample, width)]
    names = {g.index: g.name for g in info.gpus}
    for reading in sample.gpus:
        lines += [f"GPU {reading.index}  {names.get(reading.index, '')}", *_gpu_live_lines(reading, width)]
    lines += _notice_lines(_notices(info, sample, tick=True), width)
    return "\n".join(lines) + "\n"


def _system_lines(sample: SystemSample, width: int) -> list[str]:
    load = "" if sample.load_avg is None else "  ·  load " + " ".join(f"{x:.2f}" for x in sample.load_avg)
    cores = " ".join(f"{p:.0f}" for p in sample.per_cpu_percent)
    swap = (f"{format_used_total(sample.swap_used, sample.swap_total)}" if sample.swap_total
            else "none configured")
    return [
        f"Load   {format_percent(sample.cpu_percent)} of all cores{load}",
        *textwrap.wrap(f"{cores} (%)", max(40, width), initial_indent="Cores  ", subsequent_indent=" " * 7),
        f"RAM    {format_used_total(sample.ram_used, sample.ram_total)} used, "
        f"{format_bytes(sample.ram_available)} available",
        f"Swap   {swap}" + (" used" if sample.swap_total else ""),
    ]


def _gpu_static_lines(gpu: GpuInfo) -> list[str]:
    facts = [format_bytes(gpu.memory_total)]
    if gpu.compute_capability:
        facts.append(f"CC {gpu.compute_capability}")
    if gpu.pcie_gen and gpu.pcie_width:
        facts.append(f"PCIe Gen{gpu.pcie_gen} x{gpu.pcie_width}")
    if gpu.memory_bandwidth:
        facts.append(f"{format_rate(gpu.memory_bandwidth)} peak")
    if gpu.power_limit_w:
        facts.append(f"{gpu.power_limit_w:.0f} W limit")
    lines = [f"GPU {gpu.index}  {gpu.name}  ·  " + "  ·  ".join(facts)]
    driver = [x for x in (gpu.driver_version and f"driver {gpu.driver_version}",
                          gpu.cuda_version and f"CUDA {gpu.cuda_version}", gpu.uuid) if x]
    if driver:
        lines.append("       " + "  ·  ".join(driver))
    return lines


def _gpu_live_lines(reading: GpuSample | None, width: int) -> list[str]:
    pad = "       "
    if reading is None:
        return [f"{pad}no reading"]
    if reading.error:
        return [pad + line for line in textwrap.wrap(f"! {reading.error}", max(40, width - len(pad)))]
    temp = NA if reading.temperature_c is None else f"{reading.temperature_c:.0f} °C"
    power = NA if reading.power_w is None else f"{reading.power_w:.0f} W"
    clocks = "  ".join(f"{label} {NA if v is None else f'{v} MHz'}"
                       for label, v in (("SM", reading.sm_clock_mhz), ("mem", reading.mem_clock_mhz)))
    lines = [
        f"{pad}VRAM {format_used_total(reading.memory_used, reading.memory_total)} "
        f"({format_percent(None if reading.memory_fraction is None else reading.memory_fraction * 100)})"
        f"  ·  util {format_percent(reading.util_gpu)}  ·  mem busy {format_percent(reading.util_memory)}",
        f"{pad}{temp}  ·  {power}  ·  fan {format_percent(reading.fan_percent)}  ·  {clocks}",
    ]
    if reading.processes:
        lines.append(f"{pad}{'PID':>8}  {'VRAM':>9}  PROCESS")
        for proc in reading.processes:
            pid = str(proc.pid) if proc.pid > 0 else "?"
            kind = "" if proc.kind == "compute" else f" [{proc.kind}]"
            text = f"{proc.name}{kind}" + (f"  {proc.cmdline}" if proc.cmdline else "")
            row = f"{pad}{pid:>8}  {format_bytes(proc.used_memory):>9}  {text}"
            lines.append(row if len(row) <= width else row[: max(0, width - 1)] + "…")
    return lines


def _notice_lines(notices: list[str], width: int) -> list[str]:
    if not notices:
        return []
    lines = ["", "Notices"]
    for notice in notices:
        lines += textwrap.wrap(notice, max(40, width - 2), initial_indent="! ", subsequent_indent="  ")
    return lines
