"""What `ollama ps` will show for a model: size, size in VRAM, CPU/GPU split, context.

Since v0.30 Ollama's runner is upstream llama-server; it computes a few
arguments and leaves placement to llama.cpp's `--fit`. The rules below were
read from Ollama v0.32.15 (the newest release stored; v0.33.0-rc2 has the
same files) and are cited where they are used:

- llm/llama_server.go `startLlamaServer`: `-c num_ctx x parallel -np
  parallel`, `--cache-type-k/-v` only when OLLAMA_KV_CACHE_TYPE is set,
  `--flash-attn on|off|auto`, `-b/-ub num_batch`, `-ngl` only when num_gpu is
  set (0 included); `extraEnvsForStart` sets LLAMA_ARG_FIT_TARGET only for a
  model with an offloaded projector, else an inherited value passes through.
- llm/llama_server.go `MemorySize` / `memoryParsingWriter`: `size` is every
  buffer llama-server logs (model, KV, compute, output), `size_vram` those
  of GPU backends (not CPU*, not *_Host); no CUDA context. With every layer
  offloaded and no fit overflow, size = size_vram ("100% GPU").
- server/sched.go `load`, `automaticGenerationBatch`, `selectLlamaServerPlacement`;
  server/routes.go `Serve` (the VRAM-based default context) and
  `modelOptions`; llm/server.go `NewLlamaServer` (num_ctx capped at the
  trained context); cmd/cmd.go `ListRunningHandler` (the PROCESSOR text).

llama.cpp's part (common/fit.cpp of the llama.cpp the tests build): with -ngl
given, fit stops ("n_gpu_layers already set by user") and the last N layers
go to the GPUs; a quantized V cache turns flash attention "auto" on and
fails with it "off" (src/llama-context.cpp).

Pure: the memory comes from core.planner.plan; nothing is read here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.errors import PlannerError
from core.facts.types import ModelFacts
from core.ollama.server_settings import OllamaServerSettings
from core.ollama.types import RunningModel
from core.planner.assignment import Assignment
from core.planner.memory import context_shape, graph_dims, kv_layout, ollama_auto_batch, output_buffer_bytes
from core.planner.placement import Placer
from core.planner.plan import file_size, plan
from core.planner.types import DeviceMemory, GpuSpec, MachineSpec, QuantRow
from core.planner.weights import weight_table

GIB = 1024**3
MIB = 1024**2
FIT_TARGET_DEFAULT_MIB = 1024  # llama.cpp's -fitt default
# server/sched.go `load`: architectures Ollama runs with one slot whatever OLLAMA_NUM_PARALLEL says
ONE_SLOT_ARCHS = frozenset({"mllama", "qwen3vl", "qwen3vlmoe", "qwen35", "qwen35moe", "qwen3next", "lfm2",
                            "lfm2moe", "nemotron_h", "nemotron_h_moe", "nemotron_h_omni"})


@dataclass(frozen=True)
class OllamaPrediction:
    """One model loaded by one Ollama server, as `/api/ps` will report it, and why."""

    model: str
    num_ctx: int  # /api/ps context_length: per conversation
    num_parallel: int
    num_batch: int
    kv_type: str  # "f16" when OLLAMA_KV_CACHE_TYPE is not set
    flash_attention: str  # "on" | "off" | "auto", as passed to llama-server
    size: int
    size_vram: int
    kv_cache: int  # of `size`, the KV cache (all slots)
    n_gpu_layers: int  # units on GPUs (the output layer counts as one)
    n_units: int  # blocks + the output layer
    expert_layers_on_cpu: int
    gpus_used: int
    args: tuple[str, ...]  # llama-server's arguments after the model (port and logging left out)
    env: tuple[tuple[str, str], ...]  # what Ollama adds to llama-server's environment
    reasons: tuple[str, ...]  # one sentence per value: which rule and setting gave it
    error: str | None = None  # the load fails (nothing would show in `ollama ps`)

    @property
    def processor(self) -> str:
        """The PROCESSOR column `ollama ps` would print."""
        return RunningModel(self.model, self.size, self.size_vram).processor


def default_context(vram_total: int, gpu_overhead: int, n_gpus: int) -> int:
    """server/routes.go `Serve`: by total VRAM less OLLAMA_GPU_OVERHEAD per GPU, 47/23 GiB thresholds."""
    total = vram_total - gpu_overhead * n_gpus
    if total >= 47 * GIB:
        return 262144
    if total >= 23 * GIB:
        return 32768
    return 4096


def _num_ctx(facts: ModelFacts, s: OllamaServerSettings, vram_total: int, n_gpus: int,
             vision: bool) -> tuple[int, str]:
    if s.num_ctx is not None:
        ctx, why = s.num_ctx, f"num_ctx {s.num_ctx} from {s.source('num_ctx')}"
    elif s.context_length:
        ctx = s.context_length
        why = f"OLLAMA_CONTEXT_LENGTH={ctx} ({s.source('context_length')})"
    else:
        ctx = default_context(vram_total, s.gpu_overhead, n_gpus)
        gib = (vram_total - s.gpu_overhead * n_gpus) / GIB
        why = (f"Ollama's default for {gib:.1f} GiB of VRAM (4096 under 23 GiB, 32768 under 47 GiB, "
               f"262144 above; OLLAMA_CONTEXT_LENGTH not set: {s.source('context_length')})")
        if s.gpu_overhead:
            why += ", less OLLAMA_GPU_OVERHEAD per GPU"
    ctx = max(ctx, 4)  # server/sched.go getRunner
    if vision and ctx < 2048:
        ctx, why = 2048, why + "; raised to 2048 for a vision model"
    trained = facts.context_length
    if trained and ctx > trained:  # llm/server.go NewLlamaServer
        ctx, why = trained, why + f"; capped at the {trained} it was trained for"
    return ctx, f"Context {ctx}: {why}."


def _parallel(facts: ModelFacts, s: OllamaServerSettings, completion: bool) -> tuple[int, str]:
    n = max(s.num_parallel, 1)
    why = f"OLLAMA_NUM_PARALLEL={n} ({s.source('num_parallel')})"
    if not completion and n != 1:
        return 1, f"One slot: an embedding model always gets one ({why} ignored)."
    if facts.architecture in ONE_SLOT_ARCHS and n != 1:
        return 1, f"One slot: Ollama runs {facts.architecture} with one ({why} ignored)."
    return n, f"{n} slot{'s' if n > 1 else ''}: {why}; the KV cache holds num_ctx x slots."


def ollama_vram_estimate(facts: ModelFacts, weights_file: int, ctx_total: int) -> int:
    """llm/llama_server.go `PredictServerVRAM`: file size + f16 K and V at min KV heads x embd/heads."""
    kv_heads = min(facts.head_count_kv) if facts.head_count_kv else 1
    head_dim = facts.n_embd // facts.n_head if facts.n_head else 0
    return weights_file + 2 * facts.n_layers * max(kv_heads, 1) * head_dim * ctx_total * 2


def _gpus_for_load(machine: MachineSpec, s: OllamaServerSettings, predicted: int) -> tuple[GpuSpec, ...]:
    """server/sched.go `selectLlamaServerPlacement`: one GPU when the estimate fits in 80 % of one."""
    gpus = machine.gpus
    if len(gpus) <= 1 or s.num_gpu == 0 or s.sched_spread:
        return gpus
    fitting = [g for g in gpus if predicted <= g.memory * 80 // 100]
    return (max(fitting, key=lambda g: g.memory),) if fitting else gpus


def _forced_devices(facts: ModelFacts, machine: MachineSpec, row: QuantRow,
                    ngl: int) -> tuple[DeviceMemory, ...]:
    """-ngl N given: fit stops, the last N units go to the GPUs in llama.cpp's default split."""
    s = row.settings
    assert s is not None
    wt = weight_table(facts, row.quant)
    shape = context_shape(facts, s)
    placer = Placer(wt, kv_layout(facts, s).layer_bytes(shape), graph_dims(facts), shape, s, machine,
                    output_buffer_bytes(facts, s))
    units = placer.units
    n = max(0, min(ngl, units))
    if not machine.gpus or n == 0:
        nd = len(machine.gpus)
        return placer.usage(Assignment(units, (units,) * nd, (units,) * nd, (0,) * nd))
    split = placer.default_split()  # proportional over all units; scaled onto the last n
    start = units - n
    starts = tuple(start + (s0 * n) // units for s0 in split.starts)
    ends = tuple(start + (e0 * n) // units for e0 in split.ends)
    full = tuple(e - b for b, e in zip(starts, ends, strict=True))
    return placer.usage(Assignment(units, starts, ends, full))


def _sizes(devices: tuple[DeviceMemory, ...], all_on_gpu: bool) -> tuple[int, int]:
    """llm/llama_server.go `MemorySize`: logged buffers only (no CUDA context); all on GPU -> size = VRAM."""
    vram = sum(d.total - d.overhead for d in devices if d.is_gpu)
    host = sum(d.total - d.overhead for d in devices if not d.is_gpu)
    return (vram if all_on_gpu else vram + host), vram


def _flash(s: OllamaServerSettings, kv: str) -> tuple[str, bool | None, str | None, str]:
    """(--flash-attn value, the planner's flash_attn, an error, why) from llm/llama_server.go."""
    where = s.source("flash_attention")
    if s.flash_attention is None:
        mode, planner_fa, set_as = "auto", None, "not set"
    else:
        mode, planner_fa = ("on", True) if s.flash_attention else ("off", False)
        set_as = f"={int(s.flash_attention)}"
    why = f"Flash attention {mode}: OLLAMA_FLASH_ATTENTION {set_as} ({where})."
    error = None
    if kv not in ("f16", "f32", "bf16") and mode == "off":
        error = (f"llama-server refuses a {kv} V cache without flash attention: OLLAMA_KV_CACHE_TYPE={kv} "
                 "needs OLLAMA_FLASH_ATTENTION unset or 1, so this load fails.")
    return mode, planner_fa, error, why


@dataclass(frozen=True)
class _Launch:
    """What Ollama decides before llama-server starts: the arguments and the GPUs it may use."""

    ctx: int
    np: int
    kv: str
    fa: str
    planner_fa: bool | None
    batch: int
    gpus: tuple[GpuSpec, ...]
    args: tuple[str, ...]
    reasons: list[str]
    error: str | None


def _batch(facts: ModelFacts, s: OllamaServerSettings, ctx_total: int, completion: bool, predicted: int,
           gpus: tuple[GpuSpec, ...], fa: str) -> tuple[int, str]:
    if s.num_batch is not None:
        return s.num_batch, f"num_batch {s.num_batch} from {s.source('num_batch')}."
    if not completion:
        return min(2048, ctx_total), "num_batch for an embedding model: min(2048, num_ctx)."
    available = sum(g.memory for g in gpus)
    small = any(g.memory <= 8 * GIB for g in gpus)
    batch = ollama_auto_batch(ctx_total, predicted, available, fa == "off" and bool(gpus), small)
    return batch, f"num_batch {batch}: Ollama's automatic batch for {ctx_total} tokens of context."


def _launch(facts: ModelFacts, machine: MachineSpec, s: OllamaServerSettings, vram_total: int,
            capabilities: tuple[str, ...]) -> _Launch:
    quant = facts.file_type or ""
    completion = "completion" in capabilities or "embedding" not in capabilities
    ctx, ctx_why = _num_ctx(facts, s, vram_total, len(machine.gpus), "vision" in capabilities)
    np_, np_why = _parallel(facts, s, completion)
    kv = s.kv_cache_type or "f16"
    fa, planner_fa, error, fa_why = _flash(s, kv)
    set_as = "" if s.kv_cache_type else " not set"
    kv_why = f"KV cache {kv}: OLLAMA_KV_CACHE_TYPE{set_as} ({s.source('kv_cache_type')})."
    predicted = ollama_vram_estimate(facts, facts.file_size or file_size(facts, quant), ctx * np_)
    gpus = _gpus_for_load(machine, s, predicted)
    batch, batch_why = _batch(facts, s, ctx * np_, completion, predicted, gpus, fa)
    args = ["-c", str(ctx * np_), "-np", str(np_)]
    if s.kv_cache_type:
        args += ["--cache-type-k", s.kv_cache_type, "--cache-type-v", s.kv_cache_type]
    args += ["--flash-attn", fa, "-b", str(batch), "-ub", str(batch)]
    if s.num_gpu is not None and s.num_gpu >= 0:
        args += ["-ngl", str(s.num_gpu)]
    if len(gpus) == 1 and len(machine.gpus) > 1:
        args += ["--split-mode", "none", "--main-gpu", "0"]
    return _Launch(ctx, np_, kv, fa, planner_fa, batch, gpus, tuple(args),
                   [ctx_why, np_why, kv_why, fa_why, batch_why], error)


def predict_load(facts: ModelFacts, machine: MachineSpec, settings: OllamaServerSettings, *,
                 vram_total: int | None = None,
                 capabilities: tuple[str, ...] = ("completion",)) -> OllamaPrediction:
    """What Ollama will load for `facts` on `machine` with `settings`.

    `machine.gpus` hold what llama.cpp's fit sees free at load time;
    `vram_total` is the cards' whole memory (the default context depends on
    it; the GPUs' `memory` when not given). The model's own quant
    (`facts.file_type`) is the one planned.
    """
    quant = facts.file_type
    if not quant:
        raise PlannerError(f"Ollama did not say which quantization {facts.name} is stored in.")
    s = settings
    total = sum(g.memory for g in machine.gpus) if vram_total is None else vram_total
    ln = _launch(facts, machine, s, total, capabilities)
    units = facts.n_layers + 1
    if ln.error:
        return OllamaPrediction(facts.name, ln.ctx, ln.np, ln.batch, ln.kv, ln.fa, 0, 0, 0, 0, units, 0, 0,
                                ln.args, (), tuple(ln.reasons), ln.error)
    margin = s.fit_target_mib if s.fit_target_mib is not None else FIT_TARGET_DEFAULT_MIB
    used = dataclasses.replace(machine, gpus=ln.gpus)
    row = plan(facts, used, ctx=ln.ctx, runtime="ollama", parallel=ln.np, kv_type=ln.kv,
               flash_attn=ln.planner_fa, fit_margin=margin * MIB, quants=(quant,), n_batch=ln.batch,
               n_ubatch=ln.batch).rows[0]
    units = row.n_layers + 1
    ngl = s.num_gpu if s.num_gpu is not None and s.num_gpu >= 0 else None
    if ngl is None and not s.fit and ln.gpus:
        ngl = units  # --fit off and no -ngl: llama.cpp offloads everything
    if ngl is None:
        devices, n_gpu, experts = row.memory.devices, row.n_gpu_layers, row.expert_layers_on_cpu
        ln.reasons.append(_fit_reason(s, margin, row, len(ln.gpus) < len(machine.gpus)))
    else:
        devices, n_gpu, experts = _forced_devices(facts, used, row, ngl), min(ngl, units), 0
        why = f"num_gpu {ngl} from {s.source('num_gpu')}" if s.num_gpu is not None else "LLAMA_ARG_FIT=off"
        ln.reasons.append(f"-ngl {ngl}: {why}; llama.cpp's fit does not place layers then.")
    size, vram = _sizes(devices, bool(ln.gpus) and n_gpu >= units and experts == 0)
    env = (("LLAMA_ARG_FIT_TARGET", str(s.fit_target_mib)),) if s.fit_target_mib is not None else ()
    return OllamaPrediction(facts.name, ln.ctx, ln.np, ln.batch, ln.kv, ln.fa, size, vram,
                            sum(d.kv_cache for d in devices), n_gpu, units, experts,
                            sum(1 for d in devices if d.is_gpu and d.total), ln.args, env, tuple(ln.reasons),
                            _overflow(devices))


def _fit_reason(s: OllamaServerSettings, margin: int, row: QuantRow, single: bool) -> str:
    where = s.source("fit_target_mib") if s.fit_target_mib is not None else "llama.cpp's default"
    text = (f"No num_gpu ({s.source('num_gpu')}): llama.cpp's fit places {row.n_gpu_layers} of "
            f"{row.n_layers + 1} layers on the GPU, keeping {margin} MiB free per GPU "
            f"(LLAMA_ARG_FIT_TARGET, {where})")
    if row.expert_layers_on_cpu:
        text += f", with the routed experts of {row.expert_layers_on_cpu} layers in RAM"
    if single:
        text += "; one GPU, as OLLAMA_SCHED_SPREAD is not set and the model fits on one"
    return text + "."


def _overflow(devices: tuple[DeviceMemory, ...]) -> str | None:
    cpu = devices[-1] if devices and not devices[-1].is_gpu else None
    if cpu is not None and cpu.total - cpu.repacked > cpu.capacity:
        return "It does not fit in RAM and VRAM together: the load fails."
    return None
