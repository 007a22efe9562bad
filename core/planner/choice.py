"""Which row to take, and what a row does as the context grows.

Two questions a user with a 12-24 GB card asks of a plan. `best_row` marks
the row for their stated goal: the fastest, the best quality that still runs
at a readable speed, or the longest context on the GPU. `context_ladder`
replans one quant at growing contexts, so a partial-offload row shows how
`-ngl` and speed fall as the context grows instead of one "-".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import PlannerError
from core.facts.types import ModelFacts
from core.planner.plan import plan
from core.planner.types import Plan, QuantRow

GOALS: tuple[str, ...] = ("quality", "speed", "context")
# A reply reads comfortably from about this speed: quality is not bought below it when a faster row runs.
READABLE_TPS = 10.0
LADDER: tuple[int, ...] = (2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144)


def parse_goal(text: str) -> str:
    value = text.strip().lower()
    if value not in GOALS:
        raise PlannerError(f"The goal is one of {', '.join(GOALS)}, not {text!r}.")
    return value


def best_row(p: Plan, goal: str = "quality") -> QuantRow | None:
    """The row to recommend for `goal`, or None when no row runs at all.

    * speed: the highest decode speed.
    * quality: the most bits per weight among the rows that run at a readable
      speed (READABLE_TPS), preferring rows entirely on the GPU; without
      either, the fastest.
    * context: the largest context that stays entirely on the GPU; without
      one, the smallest row (it leaves the most room for the cache).
    """
    runs = [r for r in p.rows if r.placement != "none" and r.decode_tps is not None]
    if not runs:
        return None
    fastest = max(runs, key=lambda r: r.decode_tps or 0.0)
    if goal == "speed":
        return fastest
    if goal == "context":
        on_gpu = [r for r in runs if r.max_ctx_on_gpu]
        if on_gpu:
            return max(on_gpu, key=lambda r: (r.max_ctx_on_gpu or 0, r.bits_per_weight))
        return min(runs, key=lambda r: r.memory.weights)
    readable = [r for r in runs if (r.decode_tps or 0.0) >= READABLE_TPS]
    for pool in ([r for r in readable if r.placement == "gpu"], readable):
        if pool:
            return max(pool, key=lambda r: r.bits_per_weight)
    return fastest


@dataclass(frozen=True)
class LadderStep:
    """One context for one quant: where it runs and how fast."""

    ctx: int  # per conversation
    placement: str
    n_gpu_layers: int
    n_layers: int
    expert_layers_on_cpu: int
    decode_tps: float | None
    kv_cache: int


def context_ladder(facts: ModelFacts, p: Plan, quant: str, steps: Sequence[int] = LADDER) -> list[LadderStep]:
    """`quant` replanned at each context of `steps` up to the trained one (and the one asked for)."""
    inputs = p.inputs
    s = inputs.settings
    trained = facts.context_length or max(steps)
    contexts = sorted({c for c in steps if c < trained} | {min(trained, max(steps)), inputs.ctx})
    parallel = None if s.runtime == "llama-server" and s.kv_unified else s.n_seq
    out = []
    for ctx in contexts:
        row = plan(facts, inputs.machine, ctx=ctx, kv_type=inputs.kv_type, flash_attn=s.flash_attn,
                   runtime=s.runtime, parallel=parallel, quants=(quant,), decode_depth=inputs.decode_depth,
                   fit_margin=s.fit_margin, gpu_overhead=s.gpu_overhead, repack=s.repack).rows[0]
        out.append(LadderStep(ctx, row.placement, row.n_gpu_layers, row.n_layers, row.expert_layers_on_cpu,
                              row.decode_tps, row.memory.kv_cache))
        if row.placement == "none":
            break  # a longer context only needs more
    return out
