"""The repacked copy the planner counts is the CPU_REPACK buffer real llama-server allocates on this CPU."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

from core.facts.gguf import facts_from_gguf
from core.hardware.cpu import read_cpu_info
from core.planner.machine import hypothetical_spec
from core.planner.plan import plan
from core.planner.repack import repack_types
from tests.support.llama_server import llama_server
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e

MiB = 1024**2
_REPACK = re.compile(r"CPU_REPACK model buffer size =\s+([\d.]+) MiB")


def _repack_mib(tools: LlamaCppTools, model: Path, log: Path) -> float:
    """llama-server on the CPU until the model is loaded (/health); the CPU_REPACK line (0 if none)."""
    args = ["-c", "1024", "-np", "1", "-ngl", "0", "-lv", "4", "--no-warmup", "-t", "1"]
    with llama_server(tools, model, args, log):
        text = log.read_text(errors="replace")
    found = _REPACK.findall(text)
    return float(found[-1]) if found else 0.0


@pytest.mark.parametrize("quant", ["Q4_0", "Q4_K_M", "Q8_0"])
def test_repacked_bytes_match_llama_server(llamacpp_tools: LlamaCppTools, tiny_gguf_f16: Path,
                                           tmp_path: Path, quant: str) -> None:
    model = tmp_path / f"tiny-{quant}.gguf"
    subprocess.run([str(llamacpp_tools.tool("llama-quantize")), str(tiny_gguf_f16), str(model), quant],
                   check=True, capture_output=True, timeout=120)
    facts = facts_from_gguf(model)
    types = repack_types(read_cpu_info()[0].simd)
    machine = dataclasses.replace(hypothetical_spec([], 16), cpu_repack_types=types)
    row = plan(facts, machine, ctx=1024, parallel=1, quants=(facts.file_type or quant,)).rows[0]
    cpu = row.memory.devices[-1]
    real = _repack_mib(llamacpp_tools, model, tmp_path / "server.log")
    assert cpu.repacked / MiB == pytest.approx(real, abs=0.01)
    if quant == "Q4_0" and machine.cpu_repack_types:
        assert real > 0  # the case worth checking did happen on this CPU
