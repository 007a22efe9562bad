"""Which quantization of a model runs on a machine, how fast, and with how much context.

Pure math over a ModelFacts and a MachineSpec: no I/O, nothing printed. One
QuantRow per quantization, built from the replayed tensor types
(core.planner.weights), llama.cpp's run-time buffers (core.planner.memory), its layer
placement (core.planner.placement) and a bandwidth model of speed (core.planner.speed). The
CLI's `plan --json` and the planner screen both render exactly this.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from itertools import accumulate, compress

from core.errors import PlannerError
from core.facts.quants import DEFAULT_QUANTS, QuantFormat, quant_format
from core.facts.types import ModelFacts
from core.planner.fit_context import fit_context
from core.planner.memory import (
    ContextShape,
    context_shape,
    graph_dims,
    kv_layout,
    ollama_auto_batch,
    output_buffer_bytes,
    runtime_settings,
)
from core.planner.placement import PlacementResult, Placer
from core.planner.repack import repack_table
from core.planner.row_context import CtxProbe, RowContext, ctx_for_settings, kv_read
from core.planner.speed import DEFAULT_SPEED, SpeedModel, active_share, decode_tps, prompt_tps
from core.planner.types import MachineSpec, MemoryBreakdown, Plan, PlanInputs, QuantRow, RuntimeSettings
from core.planner.weights import WeightTable, active_unit_weights, gguf_overhead, tensor_types, weight_table

__all__ = [
    "DEFAULT_QUANTS",
    "blog_estimate",
    "file_size",
    "kv_cache_bytes",
    "max_context_on_gpu",
    "plan",
    "tensor_types",
]


def file_size(facts: ModelFacts, quant: str, *, imatrix: bool | None = None) -> int:
    """Bytes of the GGUF llama-quantize writes: padded tensor data plus the header it copies."""
    return weight_table(facts, quant, imatrix=imatrix).padded_bytes + gguf_overhead(facts)[0]


def blog_estimate(facts: ModelFacts, quant: str) -> int:
    """The usual rule of thumb, parameters x bytes per parameter x 1.2, shown beside the real plan.

    Bytes per parameter come from the number in the quant's name (Q4_K_M: 4
    bits, F16: 16), as the blog posts take them.
    """
    fmt = quant_format(quant)
    m = re.search(r"(\d+)", fmt.name)
    bits = int(m.group(1)) if m else 16
    return int(facts.n_params * bits / 8 * 1.2)


def kv_cache_bytes(
    facts: ModelFacts,
    *,
    ctx: int,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
    runtime: str = "llama-server",
    parallel: int | None = None,
) -> int:
    """The KV cache llama.cpp allocates for this context (all layers, all sequences)."""
    s = runtime_settings(
        facts, runtime=runtime, ctx=ctx, kv_type=kv_type, flash_attn=flash_attn, parallel=parallel
    )
    return sum(kv_layout(facts, s).layer_bytes(context_shape(facts, s)))


def _row_settings(rc: RowContext, wt: WeightTable, kv_total: int) -> RuntimeSettings:
    s = rc.settings
    if s.runtime != "ollama" or not rc.machine.gpus or s.n_batch != 0:
        return s
    available = sum(g.memory for g in rc.machine.gpus)
    small = any(g.memory <= 8 * 1024**3 for g in rc.machine.gpus)
    b = ollama_auto_batch(s.n_ctx, wt.tensor_bytes + kv_total, available, not s.flash_attn, small)
    return dataclasses.replace(s, n_batch=b, n_ubatch=b, n_outputs=min(b, s.n_seq))


def _placer(rc: RowContext, wt: WeightTable, s: RuntimeSettings) -> tuple[ContextShape, Placer]:
    shape, kv_layers = ctx_for_settings(rc, s)
    repack = repack_table(wt, rc.machine.cpu_repack_types) if s.repack else None
    out_buf = output_buffer_bytes(rc.facts, s)
    return shape, Placer(wt, kv_layers, rc.dims, shape, s, rc.machine, out_buf, repack)


def _place(
    rc: RowContext, wt: WeightTable, s: RuntimeSettings
) -> tuple[RuntimeSettings, ContextShape, Placer, PlacementResult, int | None]:
    """Placement as llama.cpp's --fit makes it; without a given context, the context fit picks first."""
    if not rc.auto_ctx:
        shape, placer = _placer(rc, wt, s)
        return s, shape, placer, placer.place(), None
    streams = 1 if s.kv_unified else s.n_seq
    fc = fit_context(lambda n: _placer(rc, wt, dataclasses.replace(s, n_ctx=n))[1], s.n_ctx, streams,
                     moe=any(wt.layer_expert_bytes))  # fmt: skip
    s = dataclasses.replace(s, n_ctx=fc.n_ctx)
    shape, placer = _placer(rc, wt, s)
    result = placer.place_default() if fc.layers_fixed else placer.place(check_default=not fc.refill)
    return s, shape, placer, result, fc.n_ctx


def _row_notices(wt: WeightTable, fmt: QuantFormat) -> list[str]:
    notices: list[str] = []
    if wt.n_fallback:
        notices.append(
            f"{wt.n_fallback} tensor(s) have rows that do not fill {fmt.base_type} blocks and fall back to "
            "a 32-weight type, as llama-quantize does."
        )
    if fmt.needs_imatrix:
        notices.append(f"llama-quantize makes {fmt.name} only with an importance matrix (--imatrix).")
    return notices


def _build_row(rc: RowContext, quant: str, imatrix: bool | None) -> QuantRow:
    fmt = quant_format(quant)
    wt = weight_table(rc.facts, fmt.name, imatrix=imatrix)
    s = rc.settings
    if s.runtime == "ollama" and s.n_batch == 0:
        first = rc.memo.get(("ollama-512",))
        if first is None:
            first = rc.memo[("ollama-512",)] = dataclasses.replace(s, n_batch=512, n_ubatch=512)
        _, kv0 = ctx_for_settings(rc, first)  # type: ignore[arg-type]
        s = _row_settings(rc, wt, sum(kv0))
    s, shape, placer, result, fit_ctx = _place(rc, wt, s)
    devs = result.devices
    memory = MemoryBreakdown(
        weights=sum(d.weights for d in devs),
        kv_cache=sum(d.kv_cache for d in devs),
        compute=sum(d.compute for d in devs),
        output=sum(d.output for d in devs),
        overhead=sum(d.overhead for d in devs),
        devices=devs,
    )
    share = active_share(wt, rc.active_weights)
    depth_kv = kv_read(rc, s)
    decode = prompt = None
    if result.placement != "none":
        hidden = rc.dims.n_embd * 4  # f32 hidden states cross each RPC device's boundary
        decode = decode_tps(share, result.assignment, rc.machine, kv_bytes_read=depth_kv, model=rc.speed,
                            hidden_bytes=hidden)
        prompt = prompt_tps(share, result.assignment, rc.machine, shape.n_ubatch, model=rc.speed,
                            hidden_bytes=hidden)
    notices = _row_notices(wt, fmt)
    n_layers = len(wt.layer_bytes)
    a = result.assignment
    fractional = {blk for blk, _, _ in a.fractional()}
    return QuantRow(
        quant=fmt.name,
        file_size=wt.padded_bytes + rc.header,
        tensor_bytes=wt.tensor_bytes,
        bits_per_weight=wt.bits_per_weight,
        memory=memory,
        placement=result.placement,
        n_gpu_layers=a.n_gpu_layers,
        n_layers=n_layers,
        tensor_split=result.tensor_split,
        expert_layers_on_cpu=a.expert_layers_on_cpu,
        decode_tps=decode,
        prompt_tps=prompt,
        ppl_delta=fmt.ppl_delta,
        quality=fmt.hint,
        max_ctx_on_gpu=CtxProbe(rc, placer, s).max_ctx() if result.placement != "none" else None,
        fit_ctx=fit_ctx,
        needs_imatrix=fmt.needs_imatrix,
        notices=tuple(notices),
        settings=s,
        expert_cpu_layers=tuple(b for b in compress(range(n_layers), a.unit_map()[1][:n_layers])
                                if b not in fractional),
        fractional_layers=a.fractional(),
    )


def plan(
    facts: ModelFacts,
    machine: MachineSpec,
    *,
    ctx: int | None,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
    runtime: str = "llama-server",
    parallel: int | None = None,
    quants: Sequence[str] = DEFAULT_QUANTS,
    imatrix: bool | None = None,
    n_batch: int | None = None,
    n_ubatch: int | None = None,
    decode_depth: int = 0,
    fit_margin: int | None = None,
    gpu_overhead: int | None = None,
    speed: SpeedModel = DEFAULT_SPEED,
    repack: bool = True,
) -> Plan:
    """One row per quant for `facts` on `machine` at context `ctx`.

    `ctx` is in the runtime's own terms: llama-server's -c (shared by its
    slots), Ollama's num_ctx (per request; the KV cache holds num_ctx x
    parallel). `flash_attn=None` is llama.cpp's "auto", on for CUDA and CPU.
    `imatrix=None` plans each quant the way it is made in practice: with an
    importance matrix where llama-quantize requires one.
    `ctx=None` is llama-server (or llama-cli) without -c: llama.cpp's --fit
    starts from the trained context and shrinks it before it moves layers
    (core.planner.fit_context); each row's `fit_ctx` says what it settles on.
    """
    trained = facts.context_length or 131072
    run_ctx = _checked_ctx(facts, ctx, runtime, trained)
    settings = runtime_settings(
        facts, runtime=runtime, ctx=run_ctx, kv_type=kv_type, flash_attn=flash_attn, parallel=parallel,
        n_batch=n_batch, n_ubatch=n_ubatch,
    )  # fmt: skip
    if runtime == "ollama" and n_batch is None and n_ubatch is None:
        settings = dataclasses.replace(settings, n_batch=0, n_ubatch=0)  # decided per row, as Ollama does
    if fit_margin is not None:
        settings = dataclasses.replace(settings, fit_margin=fit_margin)
    if gpu_overhead is not None:
        settings = dataclasses.replace(settings, gpu_overhead=gpu_overhead)
    if not repack:
        settings = dataclasses.replace(settings, repack=False)
    header, measured = gguf_overhead(facts)
    rc = dataclasses.replace(_row_context(facts, machine, settings, speed, decode_depth, trained, header),
                             auto_ctx=ctx is None)  # fmt: skip
    rows = tuple(_build_row(rc, q, imatrix) for q in quants)
    inputs = PlanInputs(
        model=facts.name, architecture=facts.architecture, ctx=run_ctx, kv_type=kv_type,
        settings=rows_settings(settings), machine=machine, decode_depth=decode_depth, auto_ctx=ctx is None,
    )  # fmt: skip
    return Plan(inputs=inputs, rows=rows, notices=_plan_notices(facts, machine, run_ctx, trained, measured))


def _checked_ctx(facts: ModelFacts, ctx: int | None, runtime: str, trained: int) -> int:
    """The context to set the runtime up with: the one given, or the trained one for fit to shrink."""
    if ctx is not None and ctx <= 0:
        raise PlannerError("The context size must be a positive number of tokens.")
    if ctx is None and runtime == "ollama":
        raise PlannerError("Ollama always starts llama-server with a context (num_ctx, or its default).",
                           hint="Give the context Ollama will use.")  # fmt: skip
    if not facts.tensors:
        raise PlannerError(f"{facts.name} has no tensor table to plan from.")
    return trained if ctx is None else ctx


def _row_context(facts: ModelFacts, machine: MachineSpec, settings: RuntimeSettings, speed: SpeedModel,
                 decode_depth: int, trained: int, header: int) -> RowContext:
    layout = kv_layout(facts, settings)
    per_cell = list(zip(layout.per_cell, layout.is_swa, strict=True))
    return RowContext(
        facts=facts,
        machine=machine,
        settings=settings,
        dims=graph_dims(facts),
        active_weights=active_unit_weights(facts),
        speed=speed,
        decode_depth=decode_depth,
        ctx_limit=trained,
        layout=layout,
        header=header,
        cells_full=[0, *accumulate(0 if w else c for c, w in per_cell)],
        cells_swa=[0, *accumulate(c if w else 0 for c, w in per_cell)],
        memo={},
    )


def _plan_notices(facts: ModelFacts, machine: MachineSpec, ctx: int, trained: int,
                  header_measured: bool) -> tuple[str, ...]:
    notices = list(machine.notices) + list(facts.notices)
    if ctx > trained:
        notices.append(f"{ctx} tokens is more than the {trained} {facts.name} was trained for.")
    if not facts.known_architecture:
        notices.append(
            f"llamadeck does not know the {facts.architecture} architecture; planned with generic rules."
        )
    if not header_measured:
        notices.append("File sizes include an estimated GGUF header (metadata and vocabulary).")
    return tuple(notices)


def rows_settings(s: RuntimeSettings) -> RuntimeSettings:
    """The settings as the inputs show them (Ollama's per-row batch shows as its 512 default)."""
    if s.n_batch == 0:
        return dataclasses.replace(s, n_batch=512, n_ubatch=512, n_outputs=min(512, s.n_seq))
    return s


def max_context_on_gpu(
    facts: ModelFacts,
    machine: MachineSpec,
    quant: str,
    *,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
    runtime: str = "llama-server",
    parallel: int | None = None,
) -> int | None:
    """The largest context for which `quant` still sits entirely on the GPUs, or None if none does."""
    p = plan(
        facts, machine, ctx=256, kv_type=kv_type, flash_attn=flash_attn, runtime=runtime,
        parallel=parallel, quants=(quant,),
    )  # fmt: skip
    return p.rows[0].max_ctx_on_gpu
