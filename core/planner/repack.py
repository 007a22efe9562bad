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
(with dotprod/i8mm: also Q5_K, Q6_K and Q8_0, rows in fours; counted here
for rows in eights only, as on x86).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.planner.types import MachineSpec
from core.planner.weights import WeightTable

REPACK_AVX2 = MachineSpec.cpu_repack_types  # the planner's default machine is an AVX2 x86
REPACK_AVX512 = (*REPACK_AVX2, "Q2_K")
REPACK_ARM = ("Q4_0", "Q4_K", "IQ4_NL", "MXFP4", "Q5_K", "Q6_K", "Q8_0")


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


def repack_table(wt: WeightTable, types: tuple[str, ...]) -> RepackTable:
    """What this CPU repacks of `wt` when a unit runs on it (from the weight table's per-type sums)."""
    n = len(wt.layer_bytes)
    block = [0] * n
    experts = [0] * n
    output = 0
    for t, per_block, per_block_experts, out in wt.repackable:
        if t in types:
            block = [a + b for a, b in zip(block, per_block, strict=True)]
            experts = [a + b for a, b in zip(experts, per_block_experts, strict=True)]
            output += out
    return RepackTable(tuple(block), tuple(experts), output)
