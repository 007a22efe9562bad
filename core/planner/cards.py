"""Common GPUs, for planning on a machine the user does not have (yet).

Figures are from the vendors' spec sheets: memory in GiB as sold, memory
bandwidth in GB/s (10^9 bytes/s), and dense FP16 tensor throughput with FP32
accumulate in TFLOPS (GeForce cards run that at half their FP16-accumulate
rate; data-centre and workstation cards at full rate; "dense" = without the
2:4 sparsity figure the sheets print first). Bandwidth drives the decode
estimate; TFLOPS only the coarse prompt-processing estimate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import PlannerError

GIB = 1024**3


@dataclass(frozen=True)
class Card:
    name: str
    memory_gib: float
    bandwidth_gbs: float
    tflops: float  # dense FP16 tensor, FP32 accumulate
    aliases: tuple[str, ...] = ()

    @property
    def memory(self) -> int:
        return int(self.memory_gib * GIB)

    @property
    def bandwidth(self) -> float:
        return self.bandwidth_gbs * 1e9


CARDS: tuple[Card, ...] = (
    Card("RTX 3060 12GB", 12, 360, 25.6, ("3060",)),
    Card("RTX 3070 8GB", 8, 448, 40.6, ("3070",)),
    Card("RTX 3080 10GB", 10, 760, 59.5, ("3080",)),
    Card("RTX 3080 Ti 12GB", 12, 912, 68.2, ("3080 ti",)),
    Card("RTX 3090 24GB", 24, 936, 71.0, ("3090",)),
    Card("RTX 3090 Ti 24GB", 24, 1008, 80.0, ("3090 ti",)),
    Card("RTX 4060 8GB", 8, 272, 30.1, ("4060",)),
    Card("RTX 4060 Ti 8GB", 8, 288, 44.2, ("4060 ti 8", "4060 ti")),
    Card("RTX 4060 Ti 16GB", 16, 288, 44.2, ("4060 ti 16",)),
    Card("RTX 4070 12GB", 12, 504, 58.4, ("4070",)),
    Card("RTX 4070 Super 12GB", 12, 504, 71.0, ("4070 super",)),
    Card("RTX 4070 Ti 12GB", 12, 504, 80.2, ("4070 ti",)),
    Card("RTX 4070 Ti Super 16GB", 16, 672, 88.2, ("4070 ti super",)),
    Card("RTX 4080 16GB", 16, 716.8, 97.5, ("4080",)),
    Card("RTX 4080 Super 16GB", 16, 736, 104.4, ("4080 super",)),
    Card("RTX 4090 24GB", 24, 1008, 165.2, ("4090",)),
    Card("RTX 5060 Ti 16GB", 16, 448, 47.4, ("5060 ti",)),
    Card("RTX 5070 12GB", 12, 672, 61.7, ("5070",)),
    Card("RTX 5070 Ti 16GB", 16, 896, 87.9, ("5070 ti",)),
    Card("RTX 5080 16GB", 16, 960, 112.6, ("5080",)),
    Card("RTX 5090 32GB", 32, 1792, 209.5, ("5090",)),
    Card("RTX A4000 16GB", 16, 448, 76.7, ("a4000",)),
    Card("RTX A5000 24GB", 24, 768, 111.1, ("a5000",)),
    Card("RTX A6000 48GB", 48, 768, 154.8, ("a6000",)),
    Card("RTX 6000 Ada 48GB", 48, 960, 364.2, ("6000 ada",)),
    Card("Tesla T4 16GB", 16, 320, 65.0, ("t4",)),
    Card("L4 24GB", 24, 300, 121.0, ("l4",)),
    Card("A10 24GB", 24, 600, 125.0, ("a10",)),
    Card("L40S 48GB", 48, 864, 362.0, ("l40s",)),
    Card("V100 32GB", 32, 900, 125.0, ("v100",)),
    Card("A100 40GB", 40, 1555, 312.0, ("a100 40", "a100-40")),
    Card("A100 80GB", 80, 2039, 312.0, ("a100 80", "a100-80", "a100")),
    Card("H100 80GB", 80, 3350, 989.0, ("h100 sxm", "h100")),
    Card("H100 PCIe 80GB", 80, 2000, 756.0, ("h100 pcie",)),
    Card("H200 141GB", 141, 4800, 989.0, ("h200",)),
)


def _norm(text: str) -> str:
    text = text.lower().replace("nvidia", "").replace("geforce", "").replace("rtx", "")
    text = re.sub(r"(\d+)\s*g(i)?b", r"\1", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def find_card(name: str) -> Card | None:
    """The card a name refers to: "4090", "RTX 4060 Ti 16GB", "NVIDIA GeForce RTX 3090", "A100-80".

    The longest matching alias wins, so "4060 Ti 16" beats "4060 Ti" and "4060".
    """
    wanted = _norm(name)
    best: tuple[int, Card] | None = None
    for card in CARDS:
        for alias in (_norm(card.name), *(_norm(a) for a in card.aliases)):
            hit = re.search(rf"(^| ){re.escape(alias)}( |$)", wanted) is not None
            if hit and (best is None or len(alias) > best[0]):
                best = (len(alias), card)
    return None if best is None else best[1]


def card(name: str) -> Card:
    found = find_card(name)
    if found is None:
        known = ", ".join(c.name for c in CARDS)
        raise PlannerError(f"Unknown GPU {name!r}.", hint=f"Known cards: {known}.")
    return found
