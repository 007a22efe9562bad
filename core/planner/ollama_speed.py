"""The planner's decode speed for a model Ollama already holds, from its /api/show.

Compare (Ctrl+F on the chat screen) sets this prediction beside the measured
speed, so a model that runs far below what its size allows (partly on the
CPU, a thermal limit) stands out.
"""

from __future__ import annotations

from typing import Protocol

from core.errors import LlamadeckError
from core.facts.load import facts_from_ollama_show
from core.hardware.types import MachineInfo
from core.ollama.types import ShowInfo
from core.planner.machine import spec_from_machine_info
from core.planner.plan import plan

DEFAULT_OLLAMA_CTX = 4096  # what Ollama runs a model with when nobody sets num_ctx


class MachineSource(Protocol):
    """What reads this machine (core.hardware.probe.HardwareProbe)."""

    def machine_info(self) -> MachineInfo: ...


def predicted_decode_tps(probe: MachineSource, show: ShowInfo, ctx: int) -> tuple[float | None, str | None]:
    """The planner's decode tok/s for this model's quantization on this machine, or (None, why not).

    Blocking (it probes the machine once and builds the model's tensor table); call it in a thread.
    """
    raw = {"model_info": dict(show.model_info),
           "details": {"quantization_level": show.details.quantization_level}}
    quant = show.details.quantization_level
    if not quant:
        return None, "Ollama does not say which quantization this is."
    try:
        facts = facts_from_ollama_show(show.name, raw)
        machine = spec_from_machine_info(probe.machine_info())
        rows = plan(facts, machine, ctx=ctx, runtime="ollama", quants=[quant]).rows
    except (LlamadeckError, KeyError, ValueError) as err:
        return None, str(err)
    return (rows[0].decode_tps if rows else None), None
