"""The planner's placement against real llama.cpp `--fit` on RPC devices of chosen sizes, a few cells.

bench/planner_fit.py runs the whole table (BENCHMARKS.md); these cells guard
the three things it took to match: the context fit picks when none is given,
MoE's fractional layer, and two devices (the default split, pipeline
parallelism's buffers, fit's refill after shrinking the context).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench._fit_cells import Cell, HollowFiles, run_cells
from bench.planner_fit import compare
from core.facts.gguf import facts_from_gguf
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e

CELLS = (
    Cell("llama-3.1-8b", "Q4_K_M", (12,), None),  # context shrunk to 52,736, every layer stays
    Cell("qwen3-30b-a3b", "Q4_K_M", (12,), 32768),  # experts in RAM, one fractional layer
    Cell("llama-3.1-70b", "Q4_K_M", (24, 24), None),  # shrunk for two devices, then refilled
    Cell("llama-3.1-8b", "Q4_K_M", (16, 12), 32768),  # pipeline parallelism's compute buffers
)


def test_placement_matches_llama_cpp_fit(llamacpp_tools: LlamaCppTools, tmp_path: Path) -> None:
    cache = tmp_path / "cells.json"
    outcomes = run_cells(llamacpp_tools, CELLS, cache=cache, jobs=1, log_dir=tmp_path / "logs",
                         progress=False)  # fmt: skip
    files = HollowFiles(llamacpp_tools, tmp_path / "hollow-fit")
    for cell in CELLS:
        got = compare(cell, facts_from_gguf(files.f16(cell.model)), outcomes[cell.key])
        assert not got.error, got.error
        assert got.ours == got.real, cell
        assert got.mem_ok, (cell, got.ours_mib, got.real_mib)
