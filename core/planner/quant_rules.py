"""A replay of llama-quantize's per-tensor type choice.

A file type such as Q4_K_M is a recipe, not a type: `llama_tensor_get_type`
in llama.cpp's `src/llama-quant.cpp` gives `output.weight` Q6_K, some
`attn_v`/`ffn_down` layers more bits, 1-D tensors nothing at all, and falls
back to a 32-block type where a row does not fill 256-weight blocks. This
module re-states those rules (read from the pinned source, not copied) so the
planner gets the file size to the byte without running llama-quantize. The
rules assume no `--tensor-type`/`--output-tensor-type` overrides, `--pure`
off, and the importance-matrix setting the caller names.

Ordering matters: llama-quantize walks the tensors sorted by block number,
then by name, and counts attn_v / ffn_down tensors as it goes; the counters
feed the "more bits for some layers" rules, so they are replayed in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from core.errors import PlannerError
from core.facts.ggml_types import GGML_TYPES
from core.facts.quants import QuantFormat, is_quantized


class Category(Enum):
    """`tensor_category` in llama-quant.cpp: broad roles found by name."""

    TOKEN_EMBD = "token_embd"
    ATTENTION_Q = "attn_q"
    ATTENTION_V = "attn_v"
    ATTENTION_K = "attn_k"
    ATTENTION_QKV = "attn_qkv"
    ATTENTION_KV_B = "attn_kv_b"
    ATTENTION_OUTPUT = "attn_output"
    FFN_UP = "ffn_up"
    FFN_GATE = "ffn_gate"
    FFN_DOWN = "ffn_down"
    OUTPUT = "output"
    OTHER = "other"

    # members are singletons, so identity hashing is exact, and C-fast in the per-quant loops
    __hash__ = object.__hash__


_ATTN_V_LIKE = frozenset({Category.ATTENTION_V, Category.ATTENTION_QKV, Category.ATTENTION_KV_B})


def tensor_category(name: str) -> Category:
    """Same first-match order as llama.cpp, so `ffn_gate_exps` is FFN_GATE and `attn_kv_b` is not attn_v."""
    if name == "output.weight":
        return Category.OUTPUT
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return Category.TOKEN_EMBD
    for needle, cat in (
        ("attn_qkv.weight", Category.ATTENTION_QKV),
        ("attn_kv_b.weight", Category.ATTENTION_KV_B),
        ("attn_v.weight", Category.ATTENTION_V),
        ("attn_k.weight", Category.ATTENTION_K),
        ("attn_q.weight", Category.ATTENTION_Q),
        ("attn_output.weight", Category.ATTENTION_OUTPUT),
        ("ffn_up", Category.FFN_UP),
        ("ffn_gate", Category.FFN_GATE),
        ("ffn_down", Category.FFN_DOWN),
    ):
        if needle in name:
            return cat
    return Category.OTHER


# Substrings that keep a 2-D+ weight out of quantization (tensor_allows_quantization).
_NEVER_QUANTIZED = (
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
)
_NEVER_QUANTIZED_EXACT = frozenset({"position_embd.weight", "token_types.weight"})
_GLM5_NEXT_KEEP = (
    "hc_",
    "indexer.attn_q_b",
    "indexer.attn_k",
    "indexer.proj",
    "indexer_compressor_gate",
    "indexer_compressor_ape",
    "ssm_f_a.weight",
    "ssm_f_b.weight",
    "ssm_g_a.weight",
    "ssm_g_b.weight",
    "ssm_beta.weight",
    "attn_kv_a_mqa.weight",
    "attn_k_b.weight",
    "attn_v_b.weight",
)


def n_dims(shape: Sequence[int]) -> int:
    """`ggml_n_dims`: trailing dimensions of size 1 do not count."""
    for i in range(len(shape) - 1, 0, -1):
        if shape[i] > 1:
            return i + 1
    return 1


def allows_quantization(name: str, shape: Sequence[int], architecture: str) -> bool:
    """Whether llama-quantize touches this tensor at all; the rest keep their source type."""
    if n_dims(shape) < 2 or not name.endswith("weight"):
        return False
    if name in _NEVER_QUANTIZED_EXACT or any(s in name for s in _NEVER_QUANTIZED):
        return False
    return not (architecture == "glm5-next" and any(s in name for s in _GLM5_NEXT_KEEP))


def _split_block(name: str) -> tuple[int, str]:
    """The layer a tensor belongs to (-1 outside the blocks: embeddings, output) and its name with
    the block number masked ("blk.#.attn_v.weight").

    Only `blk.<digits>.` names a block; read without a regex, since this runs for every tensor.
    """
    if name.startswith("blk."):
        end = name.find(".", 4)
        digits = name[4:end]
        if end > 4 and digits.isdecimal():
            return int(digits), "blk.#." + name[end + 1 :]
    return -1, name


# Architectures whose 80-layer (jais2: 68) variant llama.cpp labels LLM_TYPE_70B: only that label
# changes a rule (attn_v gets Q5_K instead of Q3_K/Q4_K).
_70B_LAYERS = {"llama": 80, "qwen2": 80, "deci": 80, "olmo": 80, "jais2": 68}


@dataclass(frozen=True)
class ModelShape:
    """The few model-wide facts the rules read (hparams in llama-quant.cpp)."""

    architecture: str
    n_layer: int  # block_count, MTP/nextn layers included (hparams.n_layer_all)
    n_head: int
    n_head_kv: int  # layer 0, as hparams.n_gqa() reads it
    n_expert: int

    @property
    def n_gqa(self) -> int:
        return self.n_head // self.n_head_kv if self.n_head_kv else 0

    @property
    def is_70b(self) -> bool:
        need = _70B_LAYERS.get(self.architecture)
        if need is None or self.n_layer != need:
            return False
        if self.architecture == "llama":
            return self.n_expert != 8 and self.n_head != self.n_head_kv
        return True


def _use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


class TensorSlot(NamedTuple):
    """One tensor as the rules see it: role, place in the walk, and the counters' values at it."""

    name: str
    shape: tuple[int, ...]
    source_type: str
    category: Category
    layer: int
    quantizable: bool
    counter: int  # i_attention_wv / i_ffn_down / i_ffn_gate / i_ffn_up at this tensor, else 0


def walk_order(names: Sequence[str]) -> list[int]:
    """Indices of `names` in llama-quantize's walk: by block number (-1 first), then by name."""
    return sorted(range(len(names)), key=lambda i: (_split_block(names[i])[0], names[i]))


def build_slots(
    tensors: Sequence[tuple[str, tuple[int, ...], str]], architecture: str
) -> tuple[list[TensorSlot], int, bool]:
    """Tensors (name, shape, source type) in walk order with their counters.

    Returns the slots, n_attention_wv (how many attn_v-like tensors exist) and
    whether the embeddings are tied (there is no `output.weight`).
    """
    split = [_split_block(t[0]) for t in tensors]
    order = walk_order([t[0] for t in tensors])
    counters = {Category.FFN_DOWN: 0, Category.FFN_GATE: 0, Category.FFN_UP: 0}
    i_wv = 0
    n_wv = 0
    tied = True
    slots: list[TensorSlot] = []
    seen: dict[tuple[str, int, bool], tuple[Category, bool]] = {}
    upper: dict[str, str] = {}
    for idx in order:
        name, shape, src = tensors[idx]
        block, masked = split[idx]
        shape = tuple(shape)
        # the rules read names only through substrings, so blk.0.x and blk.9.x classify alike
        key = (masked, n_dims(shape), name.endswith("weight"))
        hit = seen.get(key)
        if hit is None:
            hit = seen[key] = (tensor_category(name), allows_quantization(name, shape, architecture))
        cat, quantizable = hit
        if cat in _ATTN_V_LIKE:
            n_wv += 1
        if cat is Category.OUTPUT:
            tied = False
        counter = 0
        if quantizable:
            if cat in _ATTN_V_LIKE:
                counter = i_wv
                i_wv += 1
            elif cat in counters:
                counter = counters[cat]
                counters[cat] += 1
        src_upper = upper.get(src)
        if src_upper is None:
            src_upper = upper[src] = src.upper()
        slots.append(TensorSlot(name, shape, src_upper, cat, block, quantizable, counter))
    return slots, n_wv, tied


@dataclass(frozen=True)
class RuleInputs:
    """Everything model-wide a decision needs."""

    model: ModelShape
    n_attention_wv: int
    tied_embeddings: bool
    imatrix: bool


_IQ2_FAMILY = frozenset({"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"})
_IQ1_IQ2_OUTPUT_Q5K = frozenset({"IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"})
_MOE8_ATTN_OUTPUT_Q5K = frozenset(
    {"Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M", "IQ3_S", "IQ3_M"}
    | {"IQ4_XS"}
)
_ATTN_OUTPUT_BUMP = {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K", "IQ3_M": "Q4_K"}


def _mix_type(r: RuleInputs, ftype: str, default: str, slot: TensorSlot) -> str:
    """`llama_tensor_get_type_impl`: the mix's choice before the shape fallback.

    A port of that one function of llama.cpp's src/llama-quant.cpp, kept whole and in the
    source's order so it can be read against it branch by branch.
    """
    m = r.model
    arch = m.architecture
    cat = slot.category
    name = slot.name
    new = default

    if arch == "glm5-next" and any(s in name for s in ("attn_q_a", "attn_q_b", "nextn.eh_proj")):
        return "Q8_0"

    if cat is Category.OUTPUT or (r.tied_embeddings and cat is Category.TOKEN_EMBD):
        nx = slot.shape[0]
        if ftype == "MXFP4_MOE" or arch == "falcon" or nx % GGML_TYPES[new].block_size:
            return "Q8_0"
        if ftype in _IQ1_IQ2_OUTPUT_Q5K:
            return "Q5_K"
        return new if new == "Q8_0" else "Q6_K"

    if ftype == "MXFP4_MOE":
        is_expert = len(slot.shape) > 2 and slot.shape[2] > 1
        if arch == "bailingmoe3":
            is_expert = is_expert and cat in (Category.FFN_UP, Category.FFN_GATE, Category.FFN_DOWN)
        return "MXFP4" if is_expert else "Q8_0"

    if cat is Category.TOKEN_EMBD:
        if ftype in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            return "Q2_K"
        if ftype in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            return "IQ3_S"
        if ftype in ("TQ1_0", "TQ2_0", "Q2_0"):
            return "Q4_K"
        return new

    n_layer = m.n_layer
    i_layer = slot.layer if m.n_expert > 1 else slot.counter

    if ftype in _IQ2_FAMILY:
        iq2s = ftype in ("IQ2_S", "IQ2_M")
        if cat in _ATTN_V_LIKE:
            if m.n_gqa >= 4 or m.n_expert >= 4:
                return "Q4_K"
            return "IQ3_S" if iq2s else "Q2_K"
        if m.n_expert == 8 and cat is Category.ATTENTION_K:
            return "Q4_K"
        if cat is Category.FFN_DOWN:
            # this branch reads the raw counter even for MoE models
            if slot.counter < n_layer // 8:
                return "IQ3_S" if iq2s else "Q2_K"
            return new
        if cat is Category.ATTENTION_OUTPUT:
            if m.n_expert == 8:
                return "Q5_K"
            if ftype in ("IQ1_S", "IQ1_M"):
                return "IQ2_XXS"
            if iq2s:
                return "IQ3_S"
        return new

    ffn = cat in (Category.FFN_DOWN, Category.FFN_GATE, Category.FFN_UP)
    if m.n_expert > 1 and ffn and not 0 <= i_layer < n_layer:
        raise PlannerError(f"Tensor {name} is in no valid layer of this {n_layer}-layer model.")

    if cat in _ATTN_V_LIKE:
        gqa4 = m.n_gqa >= 4
        i_wv, n_wv = slot.counter, r.n_attention_wv
        if ftype == "Q2_K":
            new = "Q4_K" if gqa4 else "Q3_K"
        elif ftype == "Q2_K_S" and gqa4:
            new = "Q4_K"
        elif ftype == "IQ3_XXS":
            new = "Q4_K" if gqa4 else ("IQ3_XXS" if r.imatrix else "IQ3_S")
        elif (ftype in ("IQ3_XS", "IQ3_S") and gqa4) or ftype == "IQ3_M":
            new = "Q4_K"
        elif ftype == "Q3_K_M":
            new = "Q5_K" if i_wv < 2 else "Q4_K"
        elif ftype == "Q3_K_L" or (ftype in ("IQ4_NL", "IQ4_XS") and gqa4):
            new = "Q5_K"
        elif ftype in ("Q4_K_M", "Q5_K_M") and _use_more_bits(i_wv, n_wv):
            new = "Q6_K"
        elif ftype == "Q4_K_S" and i_wv < 4:
            new = "Q5_K"
        if m.is_70b and new in ("Q3_K", "Q4_K"):
            new = "Q5_K"
        if m.n_expert == 8:
            new = "Q8_0"
        return new

    if cat is Category.ATTENTION_K:
        if m.n_expert == 8:
            return "Q8_0"
        if ftype == "IQ3_XS":
            return "IQ3_XXS"
        if ftype == "IQ3_XXS":
            return "IQ2_S"
        return new

    if cat is Category.ATTENTION_Q:
        if ftype == "IQ3_XS":
            return "IQ3_XXS"
        if ftype == "IQ3_XXS":
            return "IQ2_S"
        return new

    if cat is Category.FFN_DOWN:
        falcon = arch == "falcon"
        first8 = i_layer < n_layer // 8
        if ftype == "Q2_K":
            return "Q3_K"
        if ftype == "Q2_K_S":
            return "Q4_K" if first8 else new
        if ftype == "IQ3_XXS" and not r.imatrix:
            return "Q4_K" if first8 else "Q3_K"
        if ftype == "Q3_K_M":
            if i_layer < n_layer // 16:
                return "Q5_K"
            return "Q4_K" if (not falcon or _use_more_bits(i_layer, n_layer)) else "Q3_K"
        if ftype == "IQ3_M" and (first8 or (m.n_expert == 8 and _use_more_bits(i_layer, n_layer))):
            return "Q4_K"
        if ftype == "Q3_K_L":
            return "Q4_K" if falcon else "Q5_K"
        if ftype == "Q4_K_M":
            if falcon:
                if i_layer < n_layer // 16:
                    return "Q6_K"
                return "Q5_K" if _use_more_bits(i_layer, n_layer) else "Q4_K"
            return "Q6_K" if _use_more_bits(i_layer, n_layer) else new
        if first8 and ftype in ("IQ4_NL", "IQ4_XS") and not r.imatrix:
            return "Q5_K"
        if ftype == "Q5_K_M" and _use_more_bits(i_layer, n_layer):
            return "Q6_K"
        if ftype == "Q4_K_S" and not falcon and first8:
            return "Q5_K"
        if ftype in ("Q4_0", "Q5_0") and r.imatrix and first8:
            return "Q4_1" if ftype == "Q4_0" else "Q5_1"
        return new

    if cat is Category.ATTENTION_OUTPUT:
        if arch != "falcon":
            if m.n_expert == 8:
                return "Q5_K" if ftype in _MOE8_ATTN_OUTPUT_Q5K else new
            return _ATTN_OUTPUT_BUMP.get(ftype, new)
        return "Q4_K" if ftype == "Q3_K_L" else new

    if cat is Category.ATTENTION_QKV:
        if ftype in ("Q3_K_M", "Q3_K_L", "IQ3_M"):
            return "Q4_K"
        return {"Q4_K_M": "Q5_K", "Q5_K_M": "Q6_K"}.get(ftype, new)

    if cat in (Category.FFN_GATE, Category.FFN_UP):
        if ftype == "IQ3_XS" and n_layer // 8 <= i_layer < 7 * n_layer // 8:
            return "IQ3_XXS"
        return new

    return new


def index_tests(r: RuleInputs, slot: TensorSlot) -> tuple[bool, ...]:
    """The answer to every test `_mix_type` makes of this tensor's layer index or counter.

    Two tensors of the same role, row length and source type with equal
    answers here get the same type in every quantization, which is what lets
    core.planner.weights decide each group once. Keep this in step with `_mix_type`:
    a test added there must be added here.
    """
    if not slot.quantizable:
        return ()
    cat = slot.category
    n = r.model.n_layer
    c = slot.counter
    if cat in _ATTN_V_LIKE:
        return (c < 2, c < 4, _use_more_bits(c, r.n_attention_wv))
    i = slot.layer if r.model.n_expert > 1 else c  # i_layer
    if cat is Category.FFN_DOWN:
        # the IQ2 family reads the raw counter; the MoE check refuses an index outside the blocks
        return (i < n // 16, i < n // 8, _use_more_bits(i, n), 0 <= i < n, c < n // 8)
    if cat in (Category.FFN_GATE, Category.FFN_UP):
        return (i < n // 8, i >= 7 * n // 8, 0 <= i < n)
    return ()


# `tensor_type_fallback`: where a row does not fill the target's blocks.
_FALLBACK = {
    "IQ1_S": "IQ4_NL",
    "IQ1_M": "IQ4_NL",
    "IQ2_XXS": "IQ4_NL",
    "IQ2_XS": "IQ4_NL",
    "IQ2_S": "IQ4_NL",
    "IQ3_XXS": "IQ4_NL",
    "IQ3_S": "IQ4_NL",
    "IQ4_XS": "IQ4_NL",
    "Q2_0": "Q4_0",
    "Q2_K": "Q4_0",
    "Q3_K": "Q4_0",
    "TQ1_0": "Q4_0",
    "TQ2_0": "Q4_0",
    "Q4_K": "Q5_0",
    "Q5_K": "Q5_1",
    "Q6_K": "Q8_0",
}


def fallback_type(target: str, ne0: int) -> str:
    """The type llama-quantize actually writes when `ne0` is not a multiple of the target's block."""
    block = GGML_TYPES[target].block_size
    if ne0 % block == 0:
        return target
    fb = _FALLBACK.get(target)
    if fb is None:
        if block > 32:
            raise PlannerError(f"llama-quantize has no fallback for {target} on rows of {ne0} weights.")
        fb = target
    return fb if ne0 % GGML_TYPES[fb].block_size == 0 else "F16"


def choose_type(r: RuleInputs, fmt: QuantFormat, slot: TensorSlot) -> tuple[str, bool]:
    """`llama_tensor_get_type` for one tensor: the type it has in the output file.

    The flag says the mix's type did not fit the row and a fallback was used
    (llama-quantize prints a warning and counts these).
    """
    if not slot.quantizable:
        return slot.source_type, False
    default = fmt.base_type
    if not is_quantized(default):
        return default, False
    mixed = _mix_type(r, fmt.name, default, slot)
    final = fallback_type(mixed, slot.shape[0])
    return final, slot.shape[0] % GGML_TYPES[mixed].block_size != 0


class TensorChoice(NamedTuple):
    """One row of the replay: what `llama-quantize --dry-run` prints per tensor."""

    name: str
    ggml_type: str
    n_bytes: int
