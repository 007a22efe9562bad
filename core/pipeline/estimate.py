"""What a job would make, said before it is queued: the predicted size and where the planner places it.

The new-job form shows this while the user types (tui/screens/jobs/new_job.py);
the sentences live here so that any other front end says the same thing.
It reads the model's headers only: a Hub repo's size is known once the
pre-flight has listed its files, so that case says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.errors import LlamadeckError
from core.facts.gguf import facts_from_gguf, facts_from_hf_dir
from core.facts.quants import quant_format
from core.facts.types import ModelFacts
from core.pipeline.disk import predicted_size
from core.pipeline.ollama_checks import FIT_CONTEXT
from core.pipeline.sources import resolve_source
from core.pipeline.types import JobSpec
from core.planner.plan import plan
from core.planner.types import MachineSpec
from core.units import format_bytes

NO_QUANT = "none"  # the form's choice for "keep the converted GGUF as it is"
DEFAULT_QUANT = "Q4_K_M"


@dataclass(frozen=True)
class Estimate:
    text: str
    problem: bool = False  # the source cannot be read: shown as an error


def canonical_quant(name: str | None) -> str:
    """A hand-off's quant as the form lists it ("q4_k" -> "Q4_K_M"); unknown ones fall back to Q4_K_M."""
    if name is None or not name.strip():
        return DEFAULT_QUANT
    if name.strip().lower() == NO_QUANT:
        return NO_QUANT
    try:
        return quant_format(name).name
    except LlamadeckError:
        return DEFAULT_QUANT


def job_problem(spec: JobSpec) -> str | None:
    """What stops the job from being queued at all; everything else is the pre-flight's to find."""
    try:
        resolve_source(spec.source)
    except LlamadeckError as exc:
        return str(exc)
    if spec.ollama_name is not None and any(c.isspace() for c in spec.ollama_name):
        return "An Ollama model name has no spaces (for example qwen2.5-7b:q4_k_m)."
    return None


def fit_phrase(facts: ModelFacts, quant: str, machine: MachineSpec, runtime: str) -> str:
    """Where the planner places `quant` on this machine, in a few words."""
    row = plan(facts, machine, ctx=FIT_CONTEXT, runtime=runtime, quants=(quant,)).rows[0]
    speed = f", about {row.decode_tps:.0f} tokens/s" if row.decode_tps else ""
    return {
        "gpu": f"fits on the GPU at {FIT_CONTEXT} context{speed}",
        "partial": f"partly on the GPU ({row.n_gpu_layers} of {row.n_layers + 1} layers){speed}",
        "cpu": f"runs on the CPU{speed}",
    }.get(row.placement, f"does not fit this machine at {FIT_CONTEXT} context")


def job_estimate(source_text: str, quant: str | None, runtime: str,
                 machine: Callable[[], MachineSpec]) -> Estimate:
    """The sentence for `source_text` made into `quant` and run by `runtime`.

    `machine` is only called when there is a size to place (it may probe the hardware).
    """
    if not source_text.strip():
        return Estimate("Name a source to see the planner's size for it.")
    try:
        source = resolve_source(source_text)
        if source.kind == "hf-repo":
            return Estimate("The size is predicted once the pre-flight has listed the repo's files "
                            "(nothing is downloaded before that).")
        assert source.path is not None
        facts = facts_from_gguf(source.path) if source.kind == "gguf" else facts_from_hf_dir(source.path)
    except LlamadeckError as exc:
        return Estimate(str(exc), problem=True)
    if quant is None:
        return Estimate(f"{facts.name}: no quantize stage; the converted GGUF is the result.")
    size = predicted_size(facts, quant)
    if size is None:
        return Estimate(f"{quant}: the size cannot be predicted before the tensor table is known.")
    bpw = f" ({size * 8 / facts.n_params:.2f} bits/weight)" if facts.n_params else ""
    text = f"{quant}: {format_bytes(size)} predicted{bpw}"
    try:
        text += f"; {fit_phrase(facts, quant, machine(), runtime)} ({runtime})."
    except LlamadeckError as exc:
        text += f"; fit not checked: {exc}"
    return Estimate(text)
