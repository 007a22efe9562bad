"""The planner screen's workers and the messages they answer with.

Three jobs, each in the worker kind its blocking calls need: the hardware
probe (NVML and psutil block: a thread), the model lookup (file and Hub reads
in a thread, Ollama's /api/show on the event loop: an async worker that
hands the blocking part to a thread) and the plan itself (pure math, 5-30 ms
for a 70B model: a thread, so typing in a field never stutters). Each
request carries a number; an answer to an older request is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.message import Message
from textual.screen import Screen

from core.config import Settings
from core.errors import LlamadeckError
from core.hardware.probe import HardwareProbe
from core.hardware.types import MachineInfo, SystemSample
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.planner.machine import hypothetical_spec, spec_from_machine_info
from core.planner.plan import plan
from core.planner.report import parse_flash_attn
from core.planner.source import PlannedModel, resolve_model
from core.planner.types import MachineSpec, Plan
from tui.services import Services
from tui.widgets.plan_inputs import PlanChoices


@dataclass(frozen=True)
class PlanRequest:
    number: int
    model: PlannedModel
    choices: PlanChoices
    info: MachineInfo | None
    sample: SystemSample | None


class MachineProbed(Message):
    def __init__(self, info: MachineInfo, sample: SystemSample | None) -> None:
        super().__init__()
        self.info = info
        self.sample = sample


class ModelLoaded(Message):
    def __init__(self, number: int, model: PlannedModel) -> None:
        super().__init__()
        self.number = number
        self.model = model


class ModelLoadFailed(Message):
    def __init__(self, number: int, spec: str, sentence: str) -> None:
        super().__init__()
        self.number = number
        self.spec = spec
        self.sentence = sentence


class PlanComputed(Message):
    """A fresh plan. A newer one replaces an older one still queued."""

    def __init__(self, request: PlanRequest, plan: Plan) -> None:
        super().__init__()
        self.request = request
        self.plan = plan

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PlanComputed | PlanFailed)


class PlanFailed(Message):
    def __init__(self, request: PlanRequest, sentence: str) -> None:
        super().__init__()
        self.request = request
        self.sentence = sentence

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PlanComputed | PlanFailed)


def machine_spec(choices: PlanChoices, info: MachineInfo | None, sample: SystemSample | None) -> MachineSpec:
    """The machine the choices name: the cards typed, or this one (whole cards, or what is free now)."""
    if choices.cards is not None:
        return hypothetical_spec(choices.cards, choices.ram_gb)
    if info is None:
        raise LlamadeckError("This machine has not been probed yet.")
    if choices.free_now and sample is not None:
        free = [g.memory_free for g in sample.gpus]
        return spec_from_machine_info(info, gpu_free=free, ram_available=sample.ram_available)
    return spec_from_machine_info(info)


def compute(request: PlanRequest) -> Plan:
    c = request.choices
    machine = machine_spec(c, request.info, request.sample)
    return plan(request.model.facts, machine, ctx=c.ctx, kv_type=c.kv_type,
                flash_attn=parse_flash_attn(c.flash_attn), runtime=c.runtime, parallel=c.parallel)


class PlannerWorkers(Screen[None]):
    """The workers of PlannerScreen, which provides `settings`, `services` and `probe`."""

    settings: Settings
    services: Services
    probe: HardwareProbe

    @work(thread=True, exclusive=True, group="probe")
    def probe_machine(self) -> None:
        """Static facts plus one reading (for "free now"); the probe itself never raises."""
        try:
            info = self.probe.machine_info()
            sample = self.probe.sample()
        except Exception as exc:  # a broken probe must show, not end the worker silently
            self.app.call_from_thread(self.notify, f"Reading this machine failed ({type(exc).__name__}: "
                                      f"{exc}).", severity="error")
            return
        self.post_message(MachineProbed(info, sample))

    @work(exclusive=True, group="model")
    async def load_model(self, number: int, spec: str, host: str | None) -> None:
        def opener() -> OllamaClient:
            return self.services.ollama(select_host(self.settings, host))

        try:
            model = await resolve_model(spec, opener)
        except LlamadeckError as exc:
            self.post_message(ModelLoadFailed(number, spec, str(exc)))
        except Exception as exc:  # an unexpected reader bug: a sentence on screen, never a traceback
            self.post_message(ModelLoadFailed(number, spec, f"Reading {spec} failed ({type(exc).__name__}: "
                                                            f"{exc})."))
        else:
            self.post_message(ModelLoaded(number, model))

    @work(thread=True, exclusive=True, group="plan")
    def compute_plan(self, request: PlanRequest) -> None:
        try:
            result = compute(request)
        except LlamadeckError as exc:
            self.post_message(PlanFailed(request, str(exc)))
        except Exception as exc:  # a planner bug: say so in place, keep the screen alive
            self.post_message(PlanFailed(request, f"The planner failed on this input ({type(exc).__name__}: "
                                                  f"{exc})."))
        else:
            self.post_message(PlanComputed(request, result))
