"""Regenerate the SVG screenshots in `screenshots/`. Run it on purpose, then review the diff.

    .venv/bin/python scripts/screenshots.py              # every screen
    .venv/bin/python scripts/screenshots.py dashboard    # just one

The GPU in these pictures is not real hardware: it is the fake NVML module
from `tests/fakes/fake_nvml.py` posing as an RTX 4090 24 GiB, played through
a short scenario (idle, `ollama run` loads a 14 GiB model, it generates).
Everything else is real and read the way the app always reads it: the real
HardwareProbe, psutil for CPU, RAM, swap and disks of the machine running
this script, and a real process named `ollama runner` (a sleeping Python
started by the script) that the fake GPU reports as holding 14 GiB, so the
process table is real psutil output.

To fill the few minutes of history without waiting for them, the probe's
clock runs 20x fast (each reading is stamped 5 s after the last) while the
app samples every 0.25 s; the app is then set back to its 1 s default
before the picture is taken. The hostname is fixed to `gpu-box` and the
model folders live in a temporary directory, so nothing about the user who
runs this ends up in the SVG. The PID of the runner and this machine's
CPU/RAM readings do change from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
import types
from collections.abc import Callable, Coroutine
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import hardware  # noqa: E402
from core.config import Settings  # noqa: E402
from core.hardware import HardwareProbe  # noqa: E402
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, FakeProcess, GiB  # noqa: E402
from tests.tui.conftest import start_fake_runner, stop  # noqa: E402
from tui.app import make_app  # noqa: E402
from tui.screens.dashboard import HISTORY_S, DashboardScreen  # noqa: E402
from tui.services import Services  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (100, 30)
HOSTNAME = "gpu-box"
STEP_S = 5.0  # virtual seconds between two readings


class Scenario:
    """What the fake RTX 4090 is doing at a given virtual second, from idle to generating."""

    def __init__(self, gpu: FakeGpu, runner: FakeProcess) -> None:
        self.gpu = gpu
        self.runner = runner
        self.random = random.Random(4090)

    def at(self, t: float) -> None:
        gpu, rnd = self.gpu, self.random
        idle_until, loaded_at = 60.0, 75.0
        if t < idle_until:  # desktop idle: driver context only
            gpu.memory_used, self.runner.used_memory = int(0.6 * GiB), 0
            gpu.util_gpu, gpu.power_mw, gpu.temperature = rnd.randint(0, 2), 21_000, 38
            gpu.sm_clock, gpu.mem_clock = 210, 405
        elif t < loaded_at:  # `ollama run`: weights stream into VRAM
            share = (t - idle_until) / (loaded_at - idle_until)
            self.runner.used_memory = int(14 * GiB * share)
            gpu.memory_used = int(0.6 * GiB) + self.runner.used_memory
            gpu.util_gpu, gpu.power_mw, gpu.temperature = rnd.randint(8, 25), 95_000, 44
            gpu.sm_clock, gpu.mem_clock = 2520, 10501
        else:  # generating: memory-bound decode keeps the card busy and warm
            warm = 1 - math.exp(-(t - loaded_at) / 40)
            self.runner.used_memory = 14 * GiB
            gpu.memory_used = int(15.1 * GiB)
            gpu.util_gpu = rnd.randint(88, 97)
            gpu.util_memory = rnd.randint(70, 82)
            gpu.power_mw = rnd.randint(318_000, 352_000)
            gpu.temperature = int(45 + 22 * warm)
            gpu.sm_clock, gpu.mem_clock = 2745, 10501
            gpu.fan = int(30 + 25 * warm)


def fast_clock(scenario: Scenario, start: float) -> types.SimpleNamespace:
    """A stand-in for the `time` module inside core.hardware: each reading is STEP_S later."""
    state = {"t": 0.0}

    def now() -> float:
        state["t"] += STEP_S
        scenario.at(state["t"])
        return start + state["t"]

    return types.SimpleNamespace(time=now, monotonic=time.monotonic, perf_counter=time.perf_counter)


async def shoot_dashboard(workdir: Path) -> str:
    gpu = FakeGpu()
    runner_process = start_fake_runner(workdir / "runner")
    try:
        holder = FakeProcess(pid=runner_process.pid, used_memory=0)
        gpu.processes.append(holder)
        scenario = Scenario(gpu, holder)
        scenario.at(0)
        models = workdir / "ollama-models"
        models.mkdir()
        settings = Settings(refresh_seconds=0.25, ollama_models_dir=models, hf_cache_dir=workdir / "hf-cache")
        probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([gpu]))
        app = make_app(settings, Services(hardware=probe))
        readings = int(HISTORY_S / STEP_S) + 2
        clock = fast_clock(scenario, start=1_700_000_000.0)
        fixed_host = mock.patch("socket.gethostname", return_value=HOSTNAME)
        with fixed_host, mock.patch.object(hardware, "time", clock):
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                assert isinstance(screen, DashboardScreen)
                deadline = time.monotonic() + 60
                while (screen.last_sample is None or screen.last_sample.timestamp < 1_700_000_000.0
                       + readings * STEP_S) and time.monotonic() < deadline:
                    await pilot.pause(0.1)
                # Back to the default 1 s; that takes one reading at once, and the
                # picture is taken well before the next.
                before = screen.last_sample
                screen.set_interval_seconds(1.0)
                while screen.last_sample is before and time.monotonic() < deadline:
                    await pilot.pause(0.05)
                await pilot.pause(0.2)
                return app.export_screenshot(title="llamadeck")
    finally:
        stop(runner_process)


SHOTS: dict[str, Callable[[Path], Coroutine[object, object, str]]] = {
    "dashboard": shoot_dashboard,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"screens to shoot: {', '.join(SHOTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SHOTS]
    if unknown:
        parser.error(f"no screenshot named {', '.join(unknown)}; known: {', '.join(SHOTS)}")
    OUT.mkdir(exist_ok=True)
    for name in args.names or list(SHOTS):
        with tempfile.TemporaryDirectory(prefix=f"llamadeck-shot-{name}-") as tmp:
            svg = asyncio.run(SHOTS[name](Path(tmp)))
        target = OUT / f"{name}.svg"
        target.write_text(svg, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
