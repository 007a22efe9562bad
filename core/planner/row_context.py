"""What every row of a plan shares, and the context probe that asks how far a row stays on the GPUs.

Split from core.planner.plan so that file keeps to the rows themselves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.facts.types import ModelFacts
from core.planner.memory import (
    ContextShape,
    GraphDims,
    KvLayout,
    compute_estimate,
    context_shape,
    pipeline_extra,
    total_ctx,
)
from core.planner.placement import Placer
from core.planner.speed import SpeedModel
from core.planner.types import MachineSpec, RuntimeSettings


@dataclass(frozen=True)
class RowContext:
    """Everything one row needs that does not depend on the quant."""

    facts: ModelFacts
    machine: MachineSpec
    settings: RuntimeSettings
    dims: GraphDims
    active_weights: tuple[float, ...]
    speed: SpeedModel
    decode_depth: int
    ctx_limit: int
    layout: KvLayout
    header: int
    # per-cell KV bytes of layers [0, i), full-attention and sliding-window apart, for the context probe
    cells_full: list[int]
    cells_swa: list[int]
    # what depends only on the settings and a context, shared by the rows (and their context searches)
    memo: dict[tuple[object, ...], object]
    auto_ctx: bool = False  # no context given: llama.cpp's --fit picks one per row (fit_context)


def ctx_for_settings(rc: RowContext, s: RuntimeSettings) -> tuple[ContextShape, list[int]]:
    key = ("ctx", s)
    hit = rc.memo.get(key)
    if hit is None:
        shape = context_shape(rc.facts, s)
        hit = rc.memo[key] = (shape, rc.layout.layer_bytes(shape))
    return hit  # type: ignore[return-value]


def kv_read(rc: RowContext, s: RuntimeSettings) -> list[int] | None:
    """Cache one sequence has filled at the decode depth, per unit (the output layer has none)."""
    if not rc.decode_depth:
        return None
    key = ("depth", s)
    hit = rc.memo.get(key)
    if hit is None:
        depth = dataclasses.replace(s, n_ctx=rc.decode_depth, n_seq=1, kv_unified=True)
        hit = rc.memo[key] = [*rc.layout.layer_bytes(context_shape(rc.facts, depth)), 0]
    return hit  # type: ignore[return-value]


class CtxProbe:
    """Answers "does the whole model still fit on the GPUs at context c?" in O(GPUs) per question.

    The default split does not depend on the context, so weights and the
    per-cell KV cost of each GPU are summed once; only the cell counts and
    the compute buffer change with c, and those are the same for every row
    with these settings, so they are kept in the plan's memo.
    """

    def __init__(self, rc: RowContext, placer: Placer, s: RuntimeSettings) -> None:
        self.rc = rc
        self.s = s
        a = placer.default_split()
        self.a = a
        n_cached = len(rc.cells_full) - 1  # MTP layers have no cache
        self.parts: list[tuple[int, int, int, bool, int]] = []
        for d in range(len(placer.caps)):
            w, _, _ = placer._gpu_parts(a, d, partial=False)
            lo, hi = a.starts[d], min(a.ends[d], placer.n, n_cached)
            full = swa = 0
            if hi > lo:
                full = rc.cells_full[hi] - rc.cells_full[lo]
                swa = rc.cells_swa[hi] - rc.cells_swa[lo]
            self.parts.append((w, full, swa, a.ends[d] == placer.units, placer.caps[d] - placer.overheads[d]))

    def _trial(self, user_ctx: int) -> tuple[int, int, int, int, int, int]:
        """Full and sliding-window cells, the compute peak without / with the output layer, and what
        pipeline parallelism adds on the first and on a later GPU."""
        s = self.s
        key = ("probe", s, user_ctx)
        hit = self.rc.memo.get(key)
        if hit is None:
            # flash attention, the only other input, is s's
            shape = context_shape(self.rc.facts, s, total_ctx(user_ctx, s.n_seq, s.kv_unified))
            dims = self.rc.dims
            hit = self.rc.memo[key] = (
                shape.kv_size * shape.n_stream,
                shape.swa_size * shape.n_stream,
                compute_estimate(dims, shape, s, on_gpu=True, has_output=False).peak,
                compute_estimate(dims, shape, s, on_gpu=True, has_output=True).peak,
                (pp := pipeline_extra(dims, shape, s)).first,
                pp.later,
            )
        return hit  # type: ignore[return-value]

    def fits(self, user_ctx: int) -> bool:
        full_cells, swa_cells, compute, compute_out, pp_first, pp_later = self._trial(user_ctx)
        for d, (w, full, swa, has_out, cap) in enumerate(self.parts):
            if not (w or full or has_out):
                continue
            pp = 0 if len(self.parts) < 2 else pp_first if d == 0 else pp_later
            if w + full * full_cells + swa * swa_cells + (compute_out if has_out else compute) + pp > cap:
                return False
        return True

    def max_ctx(self) -> int | None:
        """The largest multiple of 256 up to the trained context that fits, by binary search."""
        if not self.parts or not self.fits(256):
            return None
        lo, hi = 1, max(1, self.rc.ctx_limit // 256)
        if self.fits(hi * 256):
            return hi * 256
        while lo < hi - 1:
            mid = (lo + hi) // 2
            if self.fits(mid * 256):
                lo = mid
            else:
                hi = mid
        return lo * 256
