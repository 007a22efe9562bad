"""The context llama.cpp's `--fit` settles on when none is given (llama-server without -c).

Read from common/fit.cpp (`common_params_fit_impl`, llama.cpp as vendored in
llama-cpp-python 0.3.36), step 2:

* Without -c the context starts at the trained one (times the streams of a
  non-unified cache). Memory is first projected with every layer on the
  GPUs (llama.cpp's default split); if each GPU then keeps its margin
  (-fitt, 1 GiB) free, nothing changes.
* Otherwise, if the total over the GPUs is short, the context shrinks first,
  never below -fitc (4096 per stream): memory is projected again at that
  minimum and the context interpolated linearly between the two projections
  to where the total meets the GPUs' free memory less their margins, rounded
  down to 256 per stream. With several GPUs the target is first lowered by
  (GPUs + 1) x the weights of one layer / 2 (dense) or / 6 (MoE), because
  whole layers (or tensors) do not fill a GPU exactly.
* With one GPU a context found that way ends fit: every layer stays on the
  GPU. With several, or when even the minimum context is short, fit goes on
  to move layers (core.planner.placement) at the context it reached, filling
  the GPUs back to front even where the default split would now fit.
* A context given with -c is never changed.

The projections here are the planner's own memory model, so the context it
finds can differ from llama.cpp's by a 256-token step where the two differ
by a few MiB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.planner.placement import Placer

FIT_MIN_CTX = 4096  # -fitc: the smallest context fit shrinks to, per stream


@dataclass(frozen=True)
class FitContext:
    n_ctx: int  # total cells (-c) fit settles on
    layers_fixed: bool  # fit stopped after the context: every layer stays on the GPUs
    # fit shrank the context for several GPUs and goes on to move layers without looking at the
    # default split again, even where that would now fit
    refill: bool = False


def _used(placer: Placer) -> tuple[list[int], int]:
    """Per GPU what the default split needs (fit's projection), and the weights on the GPUs."""
    a = placer.default_split()
    used, model = [], 0
    for d in range(len(placer.caps)):
        w, kv, c = placer._gpu_parts(a, d, partial=False)
        used.append(w + kv + c + placer.overheads[d])
        model += w
    return used, model


def fit_context(make_placer: Callable[[int], Placer], n_max: int, n_streams: int, *,
                moe: bool, n_min: int = FIT_MIN_CTX) -> FitContext:  # fmt: skip
    """The context fit picks, starting from `n_max` total cells; `make_placer(n)` plans at n cells."""
    top = make_placer(n_max)
    nd = len(top.caps)
    if nd == 0:
        return FitContext(n_max, layers_fixed=False)
    used_max, model = _used(top)
    if all(u <= cap for u, cap in zip(used_max, top.caps, strict=True)):
        return FitContext(n_max, layers_fixed=True)
    target = sum(top.caps)  # free memory less the margins (and any driver overhead, in `used`)
    n_min_total = n_min * n_streams
    if sum(used_max) <= target or n_max <= n_min_total:
        return FitContext(n_max, layers_fixed=False)
    if nd > 1:
        target -= (nd + 1) * (model // top.n) // (6 if moe else 2)
    used_min = sum(_used(make_placer(n_min_total))[0])
    if target <= used_min:
        return FitContext(n_min_total, layers_fixed=False)
    n = n_min_total + (n_max - n_min_total) * (target - used_min) // (sum(used_max) - used_min)
    align = 256 * n_streams
    n = max(n - n % align, n_min_total)
    return FitContext(n, layers_fixed=nd == 1, refill=nd > 1)
