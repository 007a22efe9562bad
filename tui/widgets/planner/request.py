"""One plan request: the model, the choices in the input bar and this machine, numbered by the screen.

`compute` is what the plan table's worker runs in a thread (pure math, 5-30 ms
for a 70B model, so typing in a field never stutters); the number lets the
screen drop the answer to an older request.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.hardware.types import MachineInfo, SystemSample
from core.planner.machine import machine_spec
from core.planner.plan import plan
from core.planner.report import parse_flash_attn
from core.planner.rpc import ask_servers, with_rpc
from core.planner.source import PlannedModel
from core.planner.types import Plan
from tui.widgets.planner.inputs import PlanChoices


@dataclass(frozen=True)
class PlanRequest:
    number: int
    model: PlannedModel
    choices: PlanChoices
    info: MachineInfo | None
    sample: SystemSample | None


def compute(request: PlanRequest) -> Plan:
    c = request.choices
    machine = machine_spec(c.cards, ram_gb=c.ram_gb, info=request.info,
                           sample=request.sample if c.free_now else None)
    machine = with_rpc(machine, ask_servers(c.rpc))  # asks bare HOST:PORTs (this runs in a thread)
    return plan(request.model.facts, machine, ctx=c.ctx, kv_type=c.kv_type,
                flash_attn=parse_flash_attn(c.flash_attn), runtime=c.runtime, parallel=c.parallel)
