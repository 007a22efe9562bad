"""llama-quantize's file types and the ggml type arithmetic the planner needs.

A ggml *type* is a block layout (Q4_K: 256 weights in 144 bytes; the table is
`core.facts.ggml_types`, shared with the GGUF reader). A llama-quantize *file type*
("ftype") such as Q4_K_M is a recipe that picks a type per tensor around a
base type; the list and its quality hints are `QUANT_OPTIONS` in the pinned
llama.cpp's `tools/quantize/quantize.cpp`. Sizes are integer math so the
planner can reproduce `llama-quantize --dry-run` to the byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import PlannerError
from core.facts.ggml_types import GGML_TYPES, GgmlType

# Types stored one value at a time: `ggml_is_quantized` is false for these.
_PLAIN_TYPES = frozenset({"F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64"})


def ggml_type(name: str) -> GgmlType:
    """Look a type up by name, case-insensitively ("q4_K" and "Q4_K" are the same)."""
    found = GGML_TYPES.get(name.upper())
    if found is None:
        known = ", ".join(GGML_TYPES)
        raise PlannerError(f"Unknown ggml tensor type {name!r}.", hint=f"Known types: {known}.")
    return found


def is_quantized(name: str) -> bool:
    return name.upper() not in _PLAIN_TYPES


def row_bytes(type_name: str, n: int) -> int:
    """`ggml_row_size`: bytes of a row of `n` weights, which must fill whole blocks."""
    t = ggml_type(type_name)
    if n % t.block_size:
        raise PlannerError(
            f"A row of {n} weights cannot be stored as {t.name}, whose blocks hold {t.block_size}."
        )
    return n // t.block_size * t.type_size


def bits_per_weight(type_name: str) -> float:
    t = ggml_type(type_name)
    return t.type_size * 8 / t.block_size


def tensor_bytes(type_name: str, shape: tuple[int, ...]) -> int:
    """Bytes of a whole tensor in ggml order (shape[0] is the row length)."""
    if not shape:
        return ggml_type(type_name).type_size
    rows = 1
    for d in shape[1:]:
        rows *= d
    return row_bytes(type_name, shape[0]) * rows


# --------------------------------------------------------------------------- file types


@dataclass(frozen=True)
class QuantFormat:
    """One llama-quantize file type (the name a user passes on its command line).

    `hint` is llama-quantize's own line for it; `ppl_delta` is the perplexity
    increase that line quotes (Llama-3-8B for most, Mistral-7B for F16/BF16),
    None where it quotes none (the IQ types only give a bits/weight figure).
    """

    name: str
    ftype_id: int  # llama_ftype in llama.h, what general.file_type stores
    base_type: str  # the ggml type most tensors get (llama_ftype_get_default_type)
    hint: str
    ppl_delta: float | None = None
    needs_imatrix: bool = False  # llama-quantize refuses to write it without --imatrix

    @property
    def base(self) -> GgmlType:
        return GGML_TYPES[self.base_type]


_FORMATS: tuple[QuantFormat, ...] = (
    QuantFormat("F32", 0, "F32", "26.00G @ 7B"),
    QuantFormat("F16", 1, "F16", "14.00G, +0.0020 ppl @ Mistral-7B", 0.0020),
    QuantFormat("BF16", 32, "BF16", "14.00G, -0.0050 ppl @ Mistral-7B", -0.0050),
    QuantFormat("Q8_0", 7, "Q8_0", "7.96G, +0.0026 ppl @ Llama-3-8B", 0.0026),
    QuantFormat("Q6_K", 18, "Q6_K", "6.14G, +0.0217 ppl @ Llama-3-8B", 0.0217),
    QuantFormat("Q5_K_M", 17, "Q5_K", "5.33G, +0.0569 ppl @ Llama-3-8B", 0.0569),
    QuantFormat("Q5_K_S", 16, "Q5_K", "5.21G, +0.1049 ppl @ Llama-3-8B", 0.1049),
    QuantFormat("Q5_1", 9, "Q5_1", "5.65G, +0.1062 ppl @ Llama-3-8B", 0.1062),
    QuantFormat("Q5_0", 8, "Q5_0", "5.21G, +0.1316 ppl @ Llama-3-8B", 0.1316),
    QuantFormat("Q4_K_M", 15, "Q4_K", "4.58G, +0.1754 ppl @ Llama-3-8B", 0.1754),
    QuantFormat("Q4_K_S", 14, "Q4_K", "4.37G, +0.2689 ppl @ Llama-3-8B", 0.2689),
    QuantFormat("Q4_1", 3, "Q4_1", "4.78G, +0.4511 ppl @ Llama-3-8B", 0.4511),
    QuantFormat("Q4_0", 2, "Q4_0", "4.34G, +0.4685 ppl @ Llama-3-8B", 0.4685),
    QuantFormat("IQ4_XS", 30, "IQ4_XS", "4.25 bpw non-linear quantization"),
    QuantFormat("IQ4_NL", 25, "IQ4_NL", "4.50 bpw non-linear quantization"),
    QuantFormat("Q3_K_L", 13, "Q3_K", "4.03G, +0.5562 ppl @ Llama-3-8B", 0.5562),
    QuantFormat("Q3_K_M", 12, "Q3_K", "3.74G, +0.6569 ppl @ Llama-3-8B", 0.6569),
    QuantFormat("Q3_K_S", 11, "Q3_K", "3.41G, +1.6321 ppl @ Llama-3-8B", 1.6321),
    QuantFormat("IQ3_M", 27, "IQ3_S", "3.66 bpw quantization mix"),
    QuantFormat("IQ3_S", 26, "IQ3_S", "3.44 bpw quantization"),
    QuantFormat("IQ3_XS", 22, "IQ3_S", "3.3 bpw quantization"),
    QuantFormat("IQ3_XXS", 23, "IQ3_XXS", "3.06 bpw quantization", needs_imatrix=True),
    QuantFormat("Q2_K", 10, "Q2_K", "2.96G, +3.5199 ppl @ Llama-3-8B", 3.5199),
    QuantFormat("Q2_K_S", 21, "Q2_K", "2.96G, +3.1836 ppl @ Llama-3-8B", 3.1836, needs_imatrix=True),
    QuantFormat("IQ2_M", 29, "IQ2_S", "2.7 bpw quantization", needs_imatrix=True),
    QuantFormat("IQ2_S", 28, "IQ2_XS", "2.5 bpw quantization", needs_imatrix=True),
    QuantFormat("IQ2_XS", 20, "IQ2_XS", "2.31 bpw quantization", needs_imatrix=True),
    QuantFormat("IQ2_XXS", 19, "IQ2_XXS", "2.06 bpw quantization", needs_imatrix=True),
    QuantFormat("IQ1_M", 31, "IQ1_M", "1.75 bpw quantization", needs_imatrix=True),
    QuantFormat("IQ1_S", 24, "IQ1_S", "1.56 bpw quantization", needs_imatrix=True),
    QuantFormat("TQ2_0", 37, "TQ2_0", "2.06 bpw ternarization"),
    QuantFormat("TQ1_0", 36, "TQ1_0", "1.69 bpw ternarization"),
    QuantFormat("MXFP4_MOE", 38, "MXFP4", "MXFP4 MoE"),
    QuantFormat("Q2_0", 41, "Q2_0", "2.25 bpw quantization (group 64)"),
    QuantFormat("Q1_0", 40, "Q1_0", "1.125 bpw quantization"),
)

QUANT_FORMATS: dict[str, QuantFormat] = {f.name: f for f in _FORMATS}

# llama-quantize accepts these short names for the medium mixes.
_ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}

# The rows the planner shows by default, best quality first.
DEFAULT_QUANTS: tuple[str, ...] = (
    "F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_0",
    "IQ4_XS", "IQ4_NL", "Q3_K_L", "Q3_K_M", "Q3_K_S", "IQ3_M", "IQ3_XXS", "Q2_K", "IQ2_M",
    "IQ2_XXS", "IQ1_M", "IQ1_S",
)  # fmt: skip


def quant_format(name: str) -> QuantFormat:
    """A file type by name, case-insensitively, with llama-quantize's aliases."""
    key = name.strip().upper()
    key = _ALIASES.get(key, key)
    found = QUANT_FORMATS.get(key)
    if found is None:
        raise PlannerError(
            f"Unknown quantization {name!r}.", hint=f"llama-quantize knows: {', '.join(QUANT_FORMATS)}."
        )
    return found


def quant_format_by_ftype(ftype_id: int) -> QuantFormat | None:
    """The file type a GGUF's `general.file_type` names, if it is one llama-quantize writes."""
    for f in _FORMATS:
        if f.ftype_id == ftype_id:
            return f
    return None


# --------------------------------------------------------------------------- KV cache types

# The cache types llama.cpp accepts for -ctk/-ctv (common/arg.cpp kv_cache_types).
KV_CACHE_TYPES: tuple[str, ...] = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")


def kv_cache_type(name: str) -> GgmlType:
    key = name.strip().lower()
    if key not in KV_CACHE_TYPES:
        known = ", ".join(KV_CACHE_TYPES)
        raise PlannerError(f"{name!r} is not a KV cache type llama.cpp accepts.", hint=f"Use one of {known}.")
    return GGML_TYPES[key.upper()]
