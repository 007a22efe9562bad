"""Where the planner's inputs come from: this machine (the hardware probe) and the model being planned.

A widget with nothing to show: it owns the two lookups so the screen only
wires their answers. Each runs in the worker kind its blocking calls need:
the hardware probe (NVML and psutil block: a thread) and the model lookup
(file and Hub reads in a thread, Ollama's /api/show on the event loop: an
async worker that hands the blocking part to a thread). A model lookup
carries the number the screen gave it; the screen drops older answers.
"""

from __future__ import annotations

from textual import work
from textual.message import Message
from textual.widget import Widget

from core.config import Settings
from core.errors import LlamadeckError
from core.hardware.probe import measure_ram_bandwidth
from core.hardware.types import MachineInfo, SystemSample
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.planner.source import PlannedModel, resolve_model
from tui.services import Services


class PlanSources(Widget):
    """`probe_machine()` answers `MachineProbed`; `load_model` answers `ModelLoaded` or `ModelLoadFailed`."""

    DEFAULT_CSS = "PlanSources { display: none; }"

    class MachineProbed(Message):
        def __init__(self, sources: PlanSources, info: MachineInfo, sample: SystemSample | None) -> None:
            super().__init__()
            self.sources = sources
            self.info = info
            self.sample = sample

        @property
        def control(self) -> PlanSources:
            return self.sources

    class ModelLoaded(Message):
        def __init__(self, sources: PlanSources, number: int, model: PlannedModel) -> None:
            super().__init__()
            self.sources = sources
            self.number = number
            self.model = model

        @property
        def control(self) -> PlanSources:
            return self.sources

    class ModelLoadFailed(Message):
        def __init__(self, sources: PlanSources, number: int, spec: str, sentence: str) -> None:
            super().__init__()
            self.sources = sources
            self.number = number
            self.spec = spec
            self.sentence = sentence

        @property
        def control(self) -> PlanSources:
            return self.sources

    def __init__(self, settings: Settings, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.settings = settings
        self.services = services

    @work(thread=True, exclusive=True, group="probe")
    def probe_machine(self) -> None:
        """Static facts plus one reading (for "free now"); the probe itself never raises."""
        probe = self.services.hardware
        try:
            info = probe.machine_info()
            sample = probe.sample()
        except Exception as exc:  # a broken probe must show, not end the worker silently
            self.app.call_from_thread(self.app.notify, f"Reading this machine failed ({type(exc).__name__}: "
                                      f"{exc}).", severity="error")
            return
        self.post_message(self.MachineProbed(self, info, sample))

    @work(thread=True, exclusive=True, group="probe")
    def measure_bandwidth(self) -> None:
        """Measure RAM bandwidth (about a second), keep it for later plans, then answer `MachineProbed`."""
        probe = self.services.hardware
        try:
            result = measure_ram_bandwidth()
        except LlamadeckError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error", timeout=8)
            return
        try:
            probe.remember_bandwidth(result)
        except LlamadeckError as exc:  # measured but not kept: this plan still uses it
            self.app.call_from_thread(self.app.notify, str(exc), severity="warning", timeout=8)
        self.app.call_from_thread(self.app.notify, f"RAM bandwidth {result.bytes_per_second / 1e9:.1f} GB/s "
                                  f"({result.method}); the plan now uses it.")
        self.app.call_from_thread(self.probe_machine)  # read the facts again, now with the figure

    @work(exclusive=True, group="model")
    async def load_model(self, number: int, spec: str, host: str | None) -> None:
        def opener() -> OllamaClient:
            return self.services.ollama(select_host(self.settings, host))

        try:
            model = await resolve_model(spec, opener)
        except LlamadeckError as exc:
            self.post_message(self.ModelLoadFailed(self, number, spec, str(exc)))
        except Exception as exc:  # an unexpected reader bug: a sentence on screen, never a traceback
            self.post_message(self.ModelLoadFailed(self, number, spec, f"Reading {spec} failed "
                                                   f"({type(exc).__name__}: {exc})."))
        else:
            self.post_message(self.ModelLoaded(self, number, model))
