"""Run-time memory besides the weights: KV cache, compute and output buffers.

Read from the pinned llama.cpp:

* Context sizes (`llama-context.cpp`): n_ctx is padded to 256; without a
  unified KV cache each of the n_seq streams gets n_ctx/n_seq cells (padded
  to 256 again). The batch is capped by n_ctx and the micro-batch by the batch.
* KV cache (`llama-kv-cache.cpp`): per layer one K tensor of
  n_embd_k_gqa x cells and one V tensor (none for MLA caches, where K is
  kv_lora_rank + rope dims wide); sliding-window layers hold
  pad256(min(cells, n_swa x (n_seq if unified) + n_ubatch)) cells
  (`llama-kv-cache-iswa.cpp`). Without flash attention V is stored
  transposed and padded to the widest layer.
* Output buffer: n_vocab x n_seq floats at start-up (`output_reserve`).
* Compute buffer: the peak of ggml's graph allocator over the worst-case
  prompt graph (n_ubatch tokens, one logit row per output). That peak is one
  of three moments of a layer, each a sum of live tensors:
  attention (the KQ scores when flash attention is off, plus the mask, Q/K/V
  and the residual stream), the FFN (gate, up and their product, the
  residual, the mask that lives until the last layer) and the output (the
  logits). The multipliers were read off the graph and checked against
  `llama-fit-params`/`llama-server` buffer lines on the CPU backend for a
  dozen shapes (exact for most, within a few MiB where the allocator
  fragments); see tests/core/test_planner_memory.py for the reference points.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core.errors import PlannerError
from core.facts.quants import is_quantized, kv_cache_type, row_bytes
from core.facts.types import ModelFacts
from core.planner.types import RuntimeSettings

RUNTIMES = ("llama-server", "ollama", "llama.cpp")
F32 = 4


def pad(n: int, to: int = 256) -> int:
    return (n + to - 1) // to * to


@dataclass(frozen=True)
class ContextShape:
    """How llama.cpp lays out the context for the settings (after its own rounding)."""

    n_ctx: int  # total cells
    n_ctx_seq: int  # cells one sequence may use
    kv_size: int  # cells per stream
    n_stream: int
    n_batch: int
    n_ubatch: int
    n_tokens: int  # tokens in the worst-case graph it reserves for
    n_outputs: int  # logit rows in that graph
    swa_size: int  # cells per stream of sliding-window layers (0 without such layers)


def context_shape(facts: ModelFacts, s: RuntimeSettings, n_ctx: int | None = None) -> ContextShape:
    """The layout for `s`, or for `s` with its context set to `n_ctx` (a search's trial, without a copy)."""
    if n_ctx is None:
        n_ctx = s.n_ctx
    if n_ctx <= 0:
        raise PlannerError("The context size must be a positive number of tokens.")
    if s.n_seq <= 0:
        raise PlannerError("The number of parallel sequences must be at least 1.")
    n_ctx = pad(n_ctx)
    if s.kv_unified:
        n_ctx_seq = kv_size = n_ctx
        n_stream = 1
    else:
        n_ctx_seq = kv_size = pad(n_ctx // s.n_seq)
        n_ctx = n_ctx_seq * s.n_seq
        n_stream = s.n_seq
    n_batch = min(n_ctx, s.n_batch)
    n_ubatch = min(n_batch, s.n_ubatch)
    n_tokens = min(n_ctx, n_ubatch)
    swa = 0
    if facts.sliding_window and any(facts.swa_layers):
        window = facts.sliding_window * (s.n_seq if s.kv_unified else 1) + n_ubatch
        swa = pad(min(kv_size, window))
    return ContextShape(
        n_ctx=n_ctx,
        n_ctx_seq=n_ctx_seq,
        kv_size=kv_size,
        n_stream=n_stream,
        n_batch=n_batch,
        n_ubatch=n_ubatch,
        n_tokens=n_tokens,
        n_outputs=min(n_tokens, max(1, s.n_outputs)),
        swa_size=swa,
    )


# --------------------------------------------------------------------------- KV cache


@dataclass(frozen=True)
class KvLayout:
    """Bytes per cell of every layer, split by whether the layer is sliding-window."""

    per_cell: tuple[int, ...]  # K + V bytes of one cell, per layer
    is_swa: tuple[bool, ...]

    def layer_bytes(self, ctx: ContextShape) -> list[int]:
        full = ctx.kv_size * ctx.n_stream
        swa = ctx.swa_size * ctx.n_stream
        return [b * (swa if w else full) for b, w in zip(self.per_cell, self.is_swa, strict=True)]


def is_mla(facts: ModelFacts) -> bool:
    """DeepSeek-style latent attention: the cache holds the compressed KV, K only."""
    return bool(facts.kv_lora_rank)


def kv_layout(facts: ModelFacts, s: RuntimeSettings) -> KvLayout:
    tk = kv_cache_type(s.type_k).name
    tv = kv_cache_type(s.type_v).name
    if is_quantized(tv) and not s.flash_attn:
        raise PlannerError(
            f"A {s.type_v} V cache needs flash attention in llama.cpp.",
            hint="Turn flash attention on, or use an f16 V cache.",
        )
    n = facts.n_layers
    kv_heads = list(facts.head_count_kv) or [facts.n_head] * n
    if len(kv_heads) < n:
        kv_heads += [kv_heads[-1]] * (n - len(kv_heads))
    swa_flags = list(facts.swa_layers[:n]) + [False] * max(0, n - len(facts.swa_layers))
    if not facts.sliding_window:
        swa_flags = [False] * n
    per_cell: list[int] = []
    if is_mla(facts):
        width = (facts.kv_lora_rank or 0) + (facts.rope_dim or 64)
        per_cell = [_row(tk, width)] * n
    else:
        v_widths = [facts.head_dim_v * h for h in kv_heads[:n]]
        v_max = max(v_widths, default=0)
        for il in range(n):
            k = facts.head_dim_k * kv_heads[il]
            v = v_widths[il] if s.flash_attn else v_max  # transposed V is padded to the widest layer
            per_cell.append((_row(tk, k) if k else 0) + (_row(tv, v) if v else 0))
    return KvLayout(tuple(per_cell), tuple(swa_flags))


@lru_cache(maxsize=256)
def _row(type_name: str, n: int) -> int:
    try:
        return row_bytes(type_name, n)
    except PlannerError as err:
        raise PlannerError(
            f"This model's KV rows ({n} values) do not fit {type_name.lower()} blocks.",
            hint="Use an f16 KV cache.",
        ) from err


def kv_cache_bytes(facts: ModelFacts, settings: RuntimeSettings) -> int:
    """The whole KV cache llama.cpp allocates for these settings."""
    return sum(kv_layout(facts, settings).layer_bytes(context_shape(facts, settings)))


# --------------------------------------------------------------------------- compute and output buffers


@dataclass(frozen=True)
class GraphDims:
    """The widths that size a layer's intermediate tensors."""

    n_embd: int
    q_width: int  # n_head x head_dim_k (for MLA: x (kv_lora_rank + rope), after absorption)
    q_proj_width: int  # what the Q projection writes (MLA: n_head x (nope + rope) before absorption)
    mla: bool
    k_width: int  # widest n_head_kv x head_dim_k
    v_width: int
    n_head: int
    n_ff: int  # dense FFN width (0 if every FFN is MoE)
    n_ff_moe: int  # routed expert width x experts used per token
    n_expert: int
    n_expert_used: int
    n_vocab: int
    has_full_attention: bool


def graph_dims(facts: ModelFacts) -> GraphDims:
    n_ff = facts.n_ff or 0
    n_ff_exp = 0
    for t in facts.tensors:
        if not n_ff and t.name.endswith("ffn_up.weight") and len(t.shape) >= 2:
            n_ff = t.shape[1]
        if not n_ff_exp and "ffn_up_exps" in t.name and len(t.shape) >= 2:
            n_ff_exp = t.shape[1]
        if n_ff and n_ff_exp:
            break
    q_proj = 0
    if is_mla(facts):
        k_width = v_width = (facts.kv_lora_rank or 0) + (facts.rope_dim or 64)
        q_width = facts.n_head * k_width
        for t in facts.tensors:
            if t.name.endswith(("attn_q_b.weight", "attn_q.weight")) and len(t.shape) >= 2:
                q_proj = t.shape[1]
                break
    else:
        kv = max(facts.head_count_kv, default=facts.n_head)
        k_width, v_width = facts.head_dim_k * kv, facts.head_dim_v * kv
        q_width = facts.n_head * facts.head_dim_k
    swa = facts.swa_layers if facts.sliding_window else ()
    return GraphDims(
        n_embd=facts.n_embd,
        q_width=q_width,
        q_proj_width=q_proj or q_width,
        mla=is_mla(facts),
        k_width=k_width,
        v_width=v_width,
        n_head=facts.n_head,
        n_ff=n_ff,
        n_ff_moe=n_ff_exp * max(1, facts.n_expert_used) if facts.n_expert > 1 else 0,
        n_expert=facts.n_expert,
        n_expert_used=facts.n_expert_used,
        n_vocab=facts.vocab_size,
        has_full_attention=not swa or not all(swa[: facts.n_layers]),
    )


@dataclass(frozen=True)
class ComputeEstimate:
    """The three candidate peaks of a device's compute buffer, exposed so a benchmark can compare each."""

    attention: int
    ffn: int
    output: int  # 0 on a device without the output layer

    @property
    def peak(self) -> int:
        return max(self.attention, self.ffn, self.output)


def compute_estimate(
    dims: GraphDims, ctx: ContextShape, s: RuntimeSettings, *, on_gpu: bool, has_output: bool
) -> ComputeEstimate:
    """The compute buffer of a device that runs whole layers (and the output layer if `has_output`)."""
    t = ctx.n_tokens
    mask_elem = 2 if s.flash_attn else F32  # the KQ mask is f16 for flash attention
    attn_cells = ctx.kv_size if dims.has_full_attention else ctx.swa_size
    mask = (ctx.kv_size + ctx.swa_size) * t * mask_elem
    e = dims.n_embd * t * F32
    q = dims.q_width * t * F32
    kv = (dims.k_width + dims.v_width) * t * F32
    scores = 0 if s.flash_attn else attn_cells * t * dims.n_head * F32
    if dims.mla:
        # the absorbed query (n_head x (kv_lora_rank + rope)) exists beside the projected one
        attention = scores + mask + 5 * e + 2 * q + dims.q_proj_width * t * F32
    else:
        attention = scores + mask + 3 * e + 2 * q + kv
    if dims.n_ff_moe:
        router = 2 * dims.n_expert * t * F32
        ffn = 3 * dims.n_ff_moe * t * F32 + dims.n_expert_used * e + router + 4 * e + mask
        if dims.n_ff:  # dense layers (leading ones in DeepSeek, shared experts) can be the larger
            ffn = max(ffn, 3 * dims.n_ff * t * F32 + 4 * e + mask)
    else:
        ffn = 3 * dims.n_ff * t * F32 + 4 * e + mask
    output = 0
    if has_output:
        # on the CPU the input embeddings share the buffer; on a GPU they stay in the host buffer
        output = dims.n_vocab * ctx.n_outputs * F32 + (e if on_gpu else 2 * e)
    return ComputeEstimate(attention, ffn, output)


def host_input_bytes(dims: GraphDims, ctx: ContextShape, s: RuntimeSettings) -> int:
    """The host-side compute buffer of a fully offloaded model: the graph inputs (embeddings, mask)."""
    mask_elem = 2 if s.flash_attn else F32
    return dims.n_embd * ctx.n_tokens * F32 + (ctx.kv_size + ctx.swa_size) * ctx.n_tokens * mask_elem


@dataclass(frozen=True)
class PipelineExtra:
    """What pipeline parallelism adds to the compute buffers: first GPU, each later GPU, host.

    llama.cpp turns it on (src/llama-context.cpp, 0.3.36) with more than one
    GPU, every layer and the output offloaded, layer split, the KV cache on
    the GPUs, no tensor overrides (so not with MoE experts in RAM), and async
    compute and events on every GPU (CUDA and RPC have both). The scheduler
    then keeps GGML_SCHED_MAX_COPIES = 4 copies of each split's inputs
    (ggml-backend.cpp), none of which the allocator may reuse. Measured on
    RPC devices with llama-fit-params for four architectures (exact to 1 MiB
    for dense models, 4 MiB for MoE): the first GPU gains 3 x (mask +
    hidden state), a later one 4 x mask + 8 x hidden state, the host
    3 x mask + 4 x hidden state, a hidden state being n_embd x n_ubatch f32.
    """

    first: int
    later: int
    host: int


def pipeline_extra(dims: GraphDims, ctx: ContextShape, s: RuntimeSettings) -> PipelineExtra:
    mask = (ctx.kv_size + ctx.swa_size) * ctx.n_tokens * (2 if s.flash_attn else F32)
    e = dims.n_embd * ctx.n_tokens * F32
    return PipelineExtra(first=3 * (mask + e), later=4 * mask + 8 * e, host=3 * mask + 4 * e)


def output_buffer_bytes(facts: ModelFacts, s: RuntimeSettings) -> int:
    """Logits for one row per sequence, reserved at start-up in host memory."""
    return facts.vocab_size * max(1, s.n_seq) * F32


# --------------------------------------------------------------------------- runtime defaults


def total_ctx(ctx: int, n_seq: int, kv_unified: bool) -> int:
    """The KV cells (-c) for `ctx` tokens per conversation.

    Separate slots each hold a whole conversation (-c = ctx x slots: Ollama's
    num_ctx x OLLAMA_NUM_PARALLEL, llama-server -np N); a unified cache
    (llama-server's default, -kvu) is one pool the slots share, so one
    conversation alone can fill all `ctx` of it.
    """
    return ctx if kv_unified else ctx * max(1, n_seq)


def runtime_settings(
    facts: ModelFacts,
    *,
    runtime: str = "llama-server",
    ctx: int,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
    parallel: int | None = None,
    n_batch: int | None = None,
    n_ubatch: int | None = None,
) -> RuntimeSettings:
    """The settings a runtime starts the model with when only the context and KV type are given.

    `ctx` is what one conversation gets. The KV cache holds it once per
    slot, except in a unified cache, which the slots share (`total_ctx`).

    * llama-server (tools/server/server.cpp): -np defaults to auto = 4 slots
      sharing one unified KV cache (-c = ctx); -np N gives N slots of ctx
      each (-c = ctx x N); -b 2048 -ub 512; the
      graph reserves one logit row per slot (n_outputs_max = n_parallel).
    * ollama (>= 0.33 runs llama-server itself, llm/llama_server.go): -np is
      OLLAMA_NUM_PARALLEL (default 1), -c = num_ctx x parallel, -b = -ub =
      num_batch (512, raised to 1024/2048 for long contexts when VRAM allows;
      pass n_batch to pin it), the KV type from OLLAMA_KV_CACHE_TYPE.
    * llama.cpp: a plain context with common defaults (llama-cli,
      llama-bench, llama-fit-params): one sequence, -b 2048 -ub 512 and
      logits reserved for the whole batch.
    """
    if runtime not in RUNTIMES:
        raise PlannerError(f"Unknown runtime {runtime!r}.", hint=f"Use one of {', '.join(RUNTIMES)}.")
    kv_cache_type(kv_type)
    fa = True if flash_attn is None else flash_attn  # "auto" resolves to on for CUDA and CPU
    if runtime == "llama-server":
        unified = parallel is None
        np_ = 4 if parallel is None else parallel
        b, ub = n_batch or 2048, n_ubatch or 512
        s = RuntimeSettings(runtime, total_ctx(ctx, np_, unified), np_, unified, b, ub, min(b, np_), kv_type,
                            kv_type, fa)
    elif runtime == "ollama":
        np_ = parallel or 1
        b = n_batch or n_ubatch or 512
        ub = n_ubatch or b
        s = RuntimeSettings(runtime, total_ctx(ctx, np_, False), np_, False, b, ub, min(b, np_), kv_type,
                            kv_type, fa)
    else:
        np_ = parallel or 1
        b, ub = n_batch or 2048, n_ubatch or 512
        s = RuntimeSettings(runtime, total_ctx(ctx, np_, False), np_, False, b, ub, b, kv_type, kv_type, fa)
    kv_layout(facts, s)  # raises early for a quantized V cache without flash attention
    return s


def ollama_auto_batch(ctx_total: int, predicted: int, available: int, fa_off: bool, small_gpu: bool) -> int:
    """Ollama's automatic num_batch (server/sched.go `automaticGenerationBatch` with generationBatchFits,
    Ollama v0.32.15), from the whole KV context (num_ctx x OLLAMA_NUM_PARALLEL).

    512 up to 4k, 1024 up to 32k, 2048 beyond; stepped back down to 512
    while the model would take more than 75 % (1024) / 60 % (2048) of the GPU
    memory or the batch's surcharge (768 MiB / 2 GiB) does not fit under
    80 %. On CUDA without flash attention it stays at 512, or 256 above 4k on
    a card of 8 GiB or less.
    """
    if fa_off and available:
        return 256 if ctx_total > 4096 and small_gpu else 512
    batch = 2048 if ctx_total > 32768 else 1024 if ctx_total > 4096 else 512
    surcharge = {2048: 2 * 1024**3, 1024: 768 * 1024**2}
    headroom = {2048: 60, 1024: 75}
    while batch > 512 and predicted and available:
        threshold = available * 80 // 100
        if (predicted <= threshold and predicted <= available * headroom[batch] // 100
                and surcharge[batch] <= threshold - predicted):
            break
        batch = 1024 if batch == 2048 else 512
    return batch
