"""The dashboard on two fake GPUs, for benchmarks and hand testing without NVIDIA.

    .venv/bin/python -m bench.fake_gpu_app

The GPUs come from the fake NVML module the tests use (tests/fakes/fake_nvml.py);
everything else (psutil, sysfs, Textual) is real.
"""

from __future__ import annotations

import gc
import os
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cli.main import pause_gc_for_start_up

if TYPE_CHECKING:
    from tests.fakes.fake_nvml import FakeNvml

GiB = 2**30


def fake_nvml() -> FakeNvml:
    from tests.fakes.fake_nvml import FakeGpu, FakeNvml, FakeProcess, rtx_3090

    busy = FakeGpu(memory_used=int(15.2 * GiB), util_gpu=87, temperature=71, power_mw=310_000,
                   processes=[FakeProcess(pid=os.getpid(), used_memory=int(14.1 * GiB))])
    return FakeNvml([busy, rtx_3090()])


class LazyFakeNvml(ModuleType):
    """Builds the fake on first use, as the real probe imports `pynvml` on first use.

    The probe first touches NVML in its prefetch thread, so importing the
    real `pynvml` (which the fake takes its errors and structs from) and
    building the fake happen there, where the real module's import and
    `nvmlInit` happen on a GPU box, and not on the main thread before the
    UI starts.
    """

    def __init__(self) -> None:
        super().__init__("pynvml")
        self._lock = threading.Lock()
        self._fake: FakeNvml | None = None

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._fake is None:
                self._fake = fake_nvml()
        return getattr(self._fake, name)


def main() -> None:
    """Starts as `llamadeck` does (cli.main.run_tui), with the fake GPUs in the probe."""
    pause_gc_for_start_up()
    try:
        _run()
    finally:
        gc.enable()


def _run() -> None:
    from core.config import load_settings
    from core.hardware.probe import HardwareProbe
    from tui.services import build_services

    settings = load_settings()
    services = build_services(settings)
    services.hardware.close()
    services.hardware = HardwareProbe.from_settings(settings, nvml=LazyFakeNvml())
    services.hardware.prefetch()
    from tui.app import make_app

    make_app(settings, services).run()


if __name__ == "__main__":
    main()
