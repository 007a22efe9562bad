"""llama.cpp's CPU weight repacking: a second, anonymous copy of some CPU-resident weights.

For weights left on the CPU, llama.cpp (ggml/src/ggml-cpu/repack.cpp, as
vendored in llama-cpp-python 0.3.36) first tries the CPU_REPACK buffer type:
matrices used by MUL_MAT (2-D) and MUL_MAT_ID (3-D, routed experts) whose type
has an interleaved layout for this CPU get rearranged into it at load. The
copy lives in anonymous memory beside the mmapped file, whose pages are read
once more to fill it, so RAM holds the weights twice (llama.cpp's log shows a
`CPU_REPACK model buffer` on top of `CPU_Mapped`). `--no-repack` turns it
off. It matters for large models with layers in RAM: a 70B Q4_K_M with 40
layers on the CPU repacks ~19 GiB.

Which types depend on the CPU (`ggml_repack_get_optimal_repack_type`):
on x86 with AVX2, Q4_0, Q4_K, IQ4_NL and MXFP4 when a matrix has a multiple
of 8 rows (ne[1]); AVX-512 adds Q2_K. ARM NEON has layouts for more types
(with dotprod/i8mm: also Q5_K, Q6_K and Q8_0, rows in fours).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from core.facts.types import ModelFacts
from core.planner.types import MachineSpec
from core.planner.weights import tensor_types

REPACK_AVX2 = MachineSpec.cpu_repack_types  # the planner's default machine is an AVX2 x86
REPACK_AVX512 = (*REPACK_AVX2, "Q2_K")
REPACK_ARM = ("Q4_0", "Q4_K", "IQ4_NL", "MXFP4", "Q5_K", "Q6_K", "Q8_0")
_ROWS = {"ARM": 4}
_BLOCK = re.compile(r"^blk\.(\d+)\.")


def repack_types(simd: Iterable[str]) -> tuple[str, ...]:
    """The types this CPU repacks, from the SIMD flags the hardware probe reads."""
    flags = {f.lower() for f in simd}
    if any(f.startswith("avx512") for f in flags):
        return REPACK_AVX512
    if "avx2" in flags:
        return REPACK_AVX2
    if "asimddp" in flags or "i8mm" in flags:
        return REPACK_ARM
    return ()


@dataclass(frozen=True)
class RepackTable:
    """Per block the bytes repacked when it runs on the CPU, and its routed experts' share of them."""

    block: tuple[int, ...]
    block_experts: tuple[int, ...]
    output: int

    def on_cpu(self, device: tuple[int, ...], experts_home: tuple[bool, ...]) -> int:
        """Bytes repacked: `device[u]` -1 is the CPU, `experts_home[u]` keeps the unit's experts in RAM."""
        n = len(self.block)
        total = 0
        for u, d in enumerate(device):
            if u < n:
                if d < 0:
                    total += self.block[u]
                elif experts_home[u]:
                    total += self.block_experts[u]
            elif d < 0:
                total += self.output
        return total


def repack_table(facts: ModelFacts, quant: str, types: tuple[str, ...]) -> RepackTable:
    n = max(facts.n_layers, 0)
    if not types or not facts.tensors:
        return RepackTable((0,) * n, (0,) * n, 0)
    key = id(facts)
    hit = _cache.get(key)
    if hit is None or hit[0]() is not facts:

        def forget(_ref: weakref.ref[ModelFacts]) -> None:
            _cache.pop(key, None)

        hit = _cache[key] = (weakref.ref(facts, forget), {})
    tables = hit[1]
    if (quant, types) not in tables:
        tables[(quant, types)] = _table(facts, quant, types)
    return tables[(quant, types)]


# per model (while it lives), per quant and CPU: a row's table is read once per plan and context
_cache: dict[int, tuple[weakref.ref[ModelFacts], dict[tuple[str, tuple[str, ...]], RepackTable]]] = {}


def _table(facts: ModelFacts, quant: str, types: tuple[str, ...]) -> RepackTable:
    rows_multiple = _ROWS["ARM"] if types == REPACK_ARM else 8
    shapes = {t.name: t.shape for t in facts.tensors}
    n = facts.n_layers
    block = [0] * n
    experts = [0] * n
    output = 0
    for choice in tensor_types(facts, quant):
        shape = shapes.get(choice.name, ())
        if choice.ggml_type.upper() not in types or len(shape) not in (2, 3) or shape[1] % rows_multiple:
            continue
        if choice.name == "output.weight":
            output += choice.n_bytes
            continue
        m = _BLOCK.match(choice.name)
        if m is None or int(m.group(1)) >= n:
            continue  # token_embd is read with get_rows, never multiplied: not repacked
        i = int(m.group(1))
        block[i] += choice.n_bytes
        if "_exps." in choice.name:
            experts[i] += choice.n_bytes
    return RepackTable(tuple(block), tuple(experts), output)
