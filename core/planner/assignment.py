"""A placement as a few integers: which contiguous run of units each GPU holds, and what stays in RAM.

Unit u < n is block u, unit n the output layer. GPU d holds units
[starts[d], ends[d]); of its blocks the first `full[d]` keep their routed
experts (MoE), and one block may be split as common/fit.cpp's layer fractions
do (llama.cpp as vendored in llama-cpp-python 0.3.36). core.planner.placement
searches over these.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import accumulate

# common/fit.cpp's layer fractions: none (LAYER_FRACTION_MOE), then ATTN, UP, GATE (what stays on the GPU)
FRACTIONS = ("", "attn", "up", "gate")


@dataclass(frozen=True)
class Assignment:
    """GPU d holds units [starts[d], ends[d]); the first `full[d]` of its blocks keep their experts.

    Units before the first GPU's range are on the CPU. For dense models
    `full[d]` covers all of a GPU's blocks. `frac[d]` (MoE) makes the block
    after GPU d's full ones fractional: it keeps FRACTIONS[frac[d]] of it and
    the rest of that block goes to GPU d + 1, or to RAM from the last GPU.
    """

    n_units: int  # blocks + the output layer
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    full: tuple[int, ...]
    frac: tuple[int, ...] = ()

    def frac_of(self, d: int) -> int:
        return self.frac[d] if self.frac else 0

    def fractional(self) -> tuple[tuple[int, str, int], ...]:
        """(block, part kept, device the rest goes to or -1 for RAM) per fractional block."""
        nd = len(self.starts)
        return tuple((self.starts[d] + self.full[d], FRACTIONS[self.frac_of(d)], d + 1 if d < nd - 1 else -1)
                     for d in range(nd) if self.frac_of(d))  # fmt: skip

    @property
    def n_gpu_layers(self) -> int:
        return sum(self.ends) - sum(self.starts)

    def device_of(self, u: int) -> int:
        for d, (s, e) in enumerate(zip(self.starts, self.ends, strict=True)):
            if s <= u < e:
                return d
        return -1

    def unit_map(self) -> tuple[tuple[int, ...], tuple[bool, ...]]:
        """Per unit: its GPU (-1 for the CPU) and whether its routed experts stay in RAM."""
        return self._unit_map

    @cached_property
    def _unit_map(self) -> tuple[tuple[int, ...], tuple[bool, ...]]:
        # speed and the row's summary each ask; an assignment never changes, so the map is built once
        device = [-1] * self.n_units
        experts = [False] * self.n_units
        for d, (s, e, f) in enumerate(zip(self.starts, self.ends, self.full, strict=True)):
            for u in range(s, e):
                device[u] = d
                experts[u] = u >= s + f and u < self.n_units - 1
        for block, _, to in self.fractional():
            experts[block] = to < 0  # the rest of a fractional block on the next GPU is not in RAM
        return tuple(device), tuple(experts)

    @property
    def expert_layers_on_cpu(self) -> int:
        return sum(self.unit_map()[1])

    @property
    def any_experts_on_cpu(self) -> bool:
        blocks = self.n_units - 1
        return any(min(e, blocks) - s > f for s, e, f in zip(self.starts, self.ends, self.full, strict=True))


@lru_cache(maxsize=64)
def default_split_of(units: int, memories: tuple[int, ...]) -> Assignment:
    """The same for every row of a plan (and every context): computed once per machine and layer count."""
    mem = [float(m) for m in memories]
    total = sum(mem) or 1.0
    bounds = [x / total for x in accumulate(mem)]
    starts, ends = [], []
    u = 0
    for d, b in enumerate(bounds):
        start = u
        while u < units and (u / units < b or d == len(bounds) - 1):
            u += 1
        starts.append(start)
        ends.append(u)
    full = tuple(e - s for s, e in zip(starts, ends, strict=True))
    return Assignment(units, tuple(starts), tuple(ends), full)
