"""llama.cpp's repacked copy of CPU-resident weights (core.planner.repack)."""

from __future__ import annotations

from core.planner.launch_args import llama_server_args
from core.planner.machine import hypothetical_spec
from core.planner.plan import plan
from core.planner.repack import REPACK_AVX2, REPACK_AVX512, repack_table, repack_types
from core.planner.weights import tensor_types, weight_table
from tests.core.synthetic_facts import llama31_8b, llama31_70b


def test_which_types_a_cpu_repacks() -> None:
    assert repack_types(["sse2", "avx", "avx2", "fma"]) == REPACK_AVX2
    assert "Q2_K" in repack_types(["avx2", "avx512f"]) == REPACK_AVX512
    assert repack_types(["sse2"]) == ()
    assert "Q8_0" in repack_types(["asimd", "asimddp"])


def test_only_repackable_matrices_of_cpu_blocks_count() -> None:
    facts = llama31_8b()
    table = repack_table(weight_table(facts, "Q4_K_M"), REPACK_AVX2)
    q4k_in_blocks = sum(c.n_bytes for c in tensor_types(facts, "Q4_K_M")
                        if c.ggml_type == "Q4_K" and c.name.startswith("blk."))
    assert sum(table.block) == q4k_in_blocks > 0  # Q6_K (attn_v, ffn_down of some blocks) stays as it is
    q8 = repack_table(weight_table(facts, "Q8_0"), REPACK_AVX2)
    assert q8.block == (0,) * facts.n_layers  # x86 has no Q8_0 layout


def test_a_partial_offload_keeps_a_second_copy_of_the_cpu_layers_and_no_repack_drops_it() -> None:
    facts = llama31_70b()
    machine = hypothetical_spec(["4090"], 96)
    row = plan(facts, machine, ctx=8192, quants=("Q4_K_M",)).rows[0]
    cpu = row.memory.devices[-1]
    table = repack_table(weight_table(facts, "Q4_K_M"), REPACK_AVX2)
    on_cpu = [i for i in range(row.n_layers) if i < row.n_layers - (row.n_gpu_layers - 1)]
    assert row.placement == "partial" and cpu.repacked == sum(table.block[i] for i in on_cpu) > 10 * 1024**3
    off = plan(facts, machine, ctx=8192, quants=("Q4_K_M",), repack=False)
    plain = off.rows[0]
    assert plain.memory.devices[-1].repacked == 0
    assert cpu.weights - plain.memory.devices[-1].weights == cpu.repacked
    assert plain.n_gpu_layers == row.n_gpu_layers  # the GPU side does not change
    assert "--no-repack" in llama_server_args(off.inputs, plain)


def test_the_copy_does_not_make_a_cpu_run_impossible() -> None:
    """The file's pages behind repacked weights are droppable cache: 70B Q4_K_M still runs in 64 GB."""
    row = plan(llama31_70b(), hypothetical_spec([], 64), ctx=8192, quants=("Q4_K_M",)).rows[0]
    assert row.placement == "cpu" and row.memory.devices[-1].repacked > 30 * 1024**3
