"""One plan request: the model, the choices in the input bar and this machine, numbered by the screen.

`compute` is what the plan table's worker runs in a thread (pure math, 5-30 ms
for a 70B model, so typing in a field never stutters); the number lets the
screen drop the answer to an older request.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import LlamadeckError
from core.hardware.types import MachineInfo, SystemSample
from core.planner.machine import hypothetical_spec, spec_from_machine_info
from core.planner.plan import plan
from core.planner.report import parse_flash_attn
from core.planner.source import PlannedModel
from core.planner.types import MachineSpec, Plan
from tui.widgets.plan_inputs import PlanChoices


@dataclass(frozen=True)
class PlanRequest:
    number: int
    model: PlannedModel
    choices: PlanChoices
    info: MachineInfo | None
    sample: SystemSample | None


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
