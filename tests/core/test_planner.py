"""Placement, speed and the plan() table on hand-built models and machines."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import PlannerError
from core.facts import catalog
from core.facts.quants import DEFAULT_QUANTS
from core.facts.types import ModelFacts
from core.hardware.types import CpuInfo, GpuInfo, MachineInfo
from core.planner.cards import GIB, card, find_card
from core.planner.machine import hypothetical_spec, spec_from_machine_info
from core.planner.plan import blog_estimate, file_size, max_context_on_gpu, plan
from core.planner.speed import DEFAULT_SPEED, active_share
from core.planner.types import GpuSpec, MachineSpec, QuantRow
from core.planner.weights import active_unit_weights, weight_table
from tests.core.synthetic_facts import llama31_8b, llama31_70b, llama_facts, qwen25_32b


def machine(
    vram_gib: float | list[float], ram_gib: float = 64, *, bw: float = 1000e9, ram_bw: float = 60e9
) -> MachineSpec:
    sizes = vram_gib if isinstance(vram_gib, list) else [vram_gib]
    gpus = tuple(GpuSpec(f"GPU{i}", int(v * GIB), bw, 100.0) for i, v in enumerate(sizes) if v)
    return MachineSpec(gpus, int(ram_gib * GIB), ram_bw, 1.0)


def row(facts: ModelFacts, m: MachineSpec, quant: str, ctx: int = 8192, **kw: object) -> QuantRow:
    return plan(facts, m, ctx=ctx, quants=(quant,), **kw).rows[0]  # type: ignore[arg-type]


def qwen3_moe() -> ModelFacts:
    # Qwen3-30B-A3B's shapes: 48 layers, 128 experts of 768, 8 used per token
    return llama_facts(name="Qwen3-30B-A3B", architecture="qwen3moe", n_layer=48, n_embd=2048, n_head=32,
                       n_head_kv=4, head_dim=128, vocab=151936, ctx=40960, n_expert=128, n_expert_used=8,
                       n_ff_exp=768)  # fmt: skip


# --------------------------------------------------------------------------- placement on a 24 GB card


@pytest.mark.parametrize(
    ("make", "quant", "placement"),
    [
        (llama31_8b, "Q4_K_M", "gpu"),
        (llama31_8b, "F16", "gpu"),
        (llama31_8b, "F32", "partial"),
        (qwen25_32b, "Q4_K_M", "gpu"),
        (qwen25_32b, "Q8_0", "partial"),
        (llama31_70b, "Q4_K_M", "partial"),
        (llama31_70b, "IQ1_S", "gpu"),
        (llama31_70b, "F16", "none"),
    ],
)
def test_a_24_gb_card_with_64_gb_ram(make: object, quant: str, placement: str) -> None:
    r = row(make(), machine(24), quant)  # type: ignore[operator]
    assert r.placement == placement
    gpu, cpu = r.memory.devices
    assert gpu.total <= gpu.capacity or placement == "none"
    if placement == "gpu":
        assert r.n_gpu_layers == r.n_layers + 1
        assert cpu.weights == weight_table(make(), quant).input_bytes  # type: ignore[operator]
    if placement == "partial":
        assert 0 < r.n_gpu_layers <= r.n_layers
        assert gpu.has_output_layer  # llama.cpp offloads the output layer first
    if placement == "none":
        assert r.decode_tps is None and cpu.total > cpu.capacity


def test_more_vram_never_offloads_fewer_layers() -> None:
    facts = llama31_70b()
    layers = [row(facts, machine(v), "Q4_K_M").n_gpu_layers for v in (4, 8, 12, 16, 24, 32, 40, 48, 64, 80)]
    assert layers == sorted(layers)
    assert layers[0] < layers[-1] == 81


def test_cpu_only_and_wont_fit() -> None:
    facts = llama31_70b()
    assert row(facts, machine(0, ram_gib=64), "Q4_K_M").placement == "cpu"
    tiny = row(facts, machine(8, ram_gib=16), "Q8_0")
    assert tiny.placement == "none"
    assert tiny.decode_tps is None and tiny.prompt_tps is None


def test_ram_needed_is_what_the_gpu_does_not_hold() -> None:
    facts = llama31_70b()
    r = row(facts, machine(24), "Q4_K_M")
    gpu, cpu = r.memory.devices
    wt = weight_table(facts, "Q4_K_M")
    assert gpu.weights + cpu.weights - cpu.repacked == wt.tensor_bytes  # the repacked copy comes on top
    assert r.memory.weights == wt.tensor_bytes + cpu.repacked
    assert gpu.layers + cpu.layers == 80


def test_two_gpus_split_by_memory() -> None:
    facts = llama31_70b()
    r = row(facts, machine([24, 24]), "Q4_K_M")
    assert r.placement == "gpu"
    assert sum(r.tensor_split) == 81 and abs(r.tensor_split[0] - r.tensor_split[1]) <= 1
    uneven = row(facts, machine([48, 24]), "Q4_K_M")
    assert uneven.tensor_split[0] > uneven.tensor_split[1]


def test_when_the_default_split_fails_the_last_gpu_is_filled_first() -> None:
    facts = llama31_70b()
    r = row(facts, machine([8, 24]), "Q4_K_M")
    assert r.placement == "partial"
    small, big, _ = r.memory.devices
    assert big.has_output_layer and big.layers > small.layers > 0
    assert r.tensor_split == (small.layers, big.layers + 1)


def test_moe_keeps_experts_in_ram_before_whole_layers() -> None:
    facts = qwen3_moe()
    r = row(facts, machine(12), "Q4_K_M")
    assert r.placement == "partial"
    assert r.n_gpu_layers == 49  # every layer's attention is on the GPU
    assert 0 < r.expert_layers_on_cpu < 48
    whole = row(facts, machine(48), "Q4_K_M")
    assert whole.placement == "gpu" and whole.expert_layers_on_cpu == 0


# --------------------------------------------------------------------------- speed


def test_decode_speed_grows_with_gpu_bandwidth() -> None:
    facts = llama31_8b()
    bandwidths = (300e9, 600e9, 1000e9, 2000e9)
    speeds = [row(facts, machine(24, bw=bw), "Q4_K_M").decode_tps or 0.0 for bw in bandwidths]
    assert speeds[0] > 0
    assert speeds == sorted(speeds) and len(set(speeds)) == 4


def test_decode_speed_grows_with_ram_bandwidth_on_cpu() -> None:
    facts = llama31_8b()
    speeds = [row(facts, machine(0, ram_bw=bw), "Q4_K_M").decode_tps or 0.0 for bw in (20e9, 50e9, 100e9)]
    assert speeds == sorted(speeds) and len(set(speeds)) == 3
    # ~4.9 GB read per token from 50 GB/s at 85 %: close to 8-9 tokens/s
    assert 6 < speeds[1] < 11


def test_smaller_quants_decode_faster() -> None:
    p = plan(llama31_8b(), machine(24), ctx=4096, quants=("F16", "Q8_0", "Q4_K_M", "IQ2_XXS"))
    speeds = [r.decode_tps or 0 for r in p.rows]
    assert speeds == sorted(speeds)


def test_partial_offload_is_slower_than_full() -> None:
    facts = qwen25_32b()
    full = row(facts, machine(48), "Q8_0")
    part = row(facts, machine(24), "Q8_0")
    assert full.placement == "gpu" and part.placement == "partial"
    assert (part.decode_tps or 0) < (full.decode_tps or 0) / 2


def test_moe_reads_only_the_active_experts() -> None:
    moe = qwen3_moe()
    dense = llama_facts(n_layer=48, n_embd=2048, n_ff=98304 // 3, n_head=32, n_head_kv=4, head_dim=128,
                        vocab=151936)  # fmt: skip
    m = machine(80)
    moe_row, dense_row = row(moe, m, "Q4_K_M"), row(dense, m, "Q4_K_M")
    assert moe_row.placement == dense_row.placement == "gpu"
    assert (moe_row.decode_tps or 0) > 2 * (dense_row.decode_tps or 0)


@pytest.mark.parametrize(("vram_gib", "placement"), [(2, "gpu"), (1.6, "partial"), (0, "cpu")])
def test_tied_embeddings_are_read_as_the_output_matrix_every_token(vram_gib: float, placement: str) -> None:
    # Qwen2.5-0.5B has no output.weight: llama.cpp multiplies by all of token_embd for the logits
    facts = catalog.facts("qwen2.5-0.5b")
    wt = weight_table(facts, "Q8_0")
    embd = 151936 * 896 // 32 * 34
    assert wt.tied_output_bytes == embd > wt.output_bytes
    per_token = sum(wt.layer_bytes) + wt.output_bytes + embd
    assert sum(active_share(wt, active_unit_weights(facts)).bytes_full) == per_token
    gpu_bw, ram_bw = 1000e9, 60e9
    r = row(facts, machine(vram_gib, bw=gpu_bw, ram_bw=ram_bw), "Q8_0", ctx=4096)
    assert r.placement == placement
    # the output layer goes to the GPU first, and the embedding is read from wherever it runs
    on_gpu = r.memory.devices[0].weights if vram_gib else 0
    assert (on_gpu > embd) == (placement != "cpu")
    seconds = on_gpu / (gpu_bw * DEFAULT_SPEED.gpu_efficiency)
    seconds += (per_token - on_gpu) / (ram_bw * DEFAULT_SPEED.cpu_efficiency)
    seconds += DEFAULT_SPEED.gpu_token_overhead if on_gpu else DEFAULT_SPEED.cpu_token_overhead
    assert r.decode_tps == pytest.approx(1 / seconds)


def test_decode_slows_as_the_context_fills() -> None:
    facts = llama31_8b()
    empty = row(facts, machine(24), "Q4_K_M", ctx=32768)
    deep = row(facts, machine(24), "Q4_K_M", ctx=32768, decode_depth=32768)
    assert (deep.decode_tps or 0) < (empty.decode_tps or 0)


# --------------------------------------------------------------------------- context


def test_max_context_on_gpu_is_the_boundary() -> None:
    facts = qwen25_32b()
    m = machine(24)
    best = max_context_on_gpu(facts, m, "Q4_K_M")
    assert best is not None and 4096 < best < 32768
    assert row(facts, m, "Q4_K_M", ctx=best).placement == "gpu"
    assert row(facts, m, "Q4_K_M", ctx=best + 256).placement != "gpu"


def test_max_context_is_capped_by_training_and_absent_without_room() -> None:
    m = machine(24)
    assert row(llama31_8b(), m, "Q4_K_M").max_ctx_on_gpu == 131072
    assert row(llama31_70b(), m, "Q8_0").max_ctx_on_gpu is None
    assert row(llama31_8b(), machine(0), "Q4_K_M").max_ctx_on_gpu is None


def test_kv_type_changes_what_fits() -> None:
    facts = llama31_70b()
    m = machine(48)
    f16 = max_context_on_gpu(facts, m, "Q4_K_M", kv_type="f16") or 0
    q8 = max_context_on_gpu(facts, m, "Q4_K_M", kv_type="q8_0") or 0
    q4 = max_context_on_gpu(facts, m, "Q4_K_M", kv_type="q4_0") or 0
    assert 0 < f16 < q8 < q4 < 131072


# --------------------------------------------------------------------------- runtimes


def test_runtimes_differ_in_parallel_slots_and_logits() -> None:
    facts = llama31_8b()
    m = machine(24)
    server = row(facts, m, "Q4_K_M", runtime="llama-server")
    ollama = row(facts, m, "Q4_K_M", runtime="ollama")
    plain = row(facts, m, "Q4_K_M", runtime="llama.cpp")
    assert server.memory.kv_cache == ollama.memory.kv_cache == plain.memory.kv_cache  # same 8192 cells
    assert plain.memory.compute > server.memory.compute + 100 * 1024**2
    assert ollama.memory.output < server.memory.output  # one logit row instead of four
    two = row(facts, m, "Q4_K_M", runtime="ollama", parallel=2)
    assert two.memory.kv_cache == 2 * ollama.memory.kv_cache  # num_ctx is per request


# --------------------------------------------------------------------------- the table


def test_a_full_table_has_every_row_in_order() -> None:
    p = plan(llama31_70b(), hypothetical_spec(["4090"], 64), ctx=8192)
    assert [r.quant for r in p.rows] == list(DEFAULT_QUANTS)
    for r in p.rows:
        assert r.file_size > r.tensor_bytes
        assert r.placement in ("gpu", "partial", "cpu", "none")
        assert r.quality
    sizes = [r.file_size for r in p.rows if r.quant in ("F16", "Q8_0", "Q6_K", "Q4_K_M", "Q2_K", "IQ1_S")]
    assert sizes == sorted(sizes, reverse=True)
    assert p.row("IQ2_XXS").needs_imatrix and not p.row("Q4_K_M").needs_imatrix
    assert p.inputs.settings.n_seq == 4


def test_bad_requests() -> None:
    facts = llama31_8b()
    with pytest.raises(PlannerError, match="positive"):
        plan(facts, machine(24), ctx=0)
    with pytest.raises(PlannerError, match="Unknown quantization"):
        plan(facts, machine(24), ctx=4096, quants=("Q9_K",))
    with pytest.raises(PlannerError, match="flash attention"):
        plan(facts, machine(24), ctx=4096, kv_type="q4_0", flash_attn=False)
    with pytest.raises(PlannerError, match="no tensor table"):
        plan(dataclasses.replace(facts, tensors=()), machine(24), ctx=4096)


def test_notices_for_long_contexts_and_unknown_architectures() -> None:
    facts = dataclasses.replace(llama31_8b(), context_length=8192, known_architecture=False,
                                architecture="xyz")  # fmt: skip
    p = plan(facts, machine(24), ctx=16384, quants=("Q4_K_M",))
    assert any("trained for" in n for n in p.notices)
    assert any("generic rules" in n for n in p.notices)


def test_file_size_uses_the_measured_header_of_a_gguf() -> None:
    facts = llama31_8b()
    data = sum((t.n_bytes + 31) // 32 * 32 for t in facts.tensors)
    gguf = dataclasses.replace(facts, source="gguf", file_size=data + 7_654_321)
    f16_size = file_size(gguf, "BF16")  # the source type: the same file again
    assert f16_size == gguf.file_size
    assert file_size(gguf, "Q4_K_M") == weight_table(gguf, "Q4_K_M").padded_bytes + 7_654_321
    estimated = file_size(facts, "Q4_K_M") - weight_table(facts, "Q4_K_M").padded_bytes
    assert 1_000_000 < estimated < 20_000_000  # a Llama 3 vocabulary is a few MB of header


def test_the_blog_formula() -> None:
    facts = llama31_70b()
    assert blog_estimate(facts, "Q4_K_M") == int(facts.n_params * 0.5 * 1.2)
    assert blog_estimate(facts, "F16") == int(facts.n_params * 2 * 1.2)
    assert blog_estimate(facts, "IQ2_XXS") == int(facts.n_params * 0.25 * 1.2)


# --------------------------------------------------------------------------- machines and cards


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("4090", "RTX 4090 24GB"),
        ("NVIDIA GeForce RTX 3090", "RTX 3090 24GB"),
        ("RTX 4060 Ti 16GB", "RTX 4060 Ti 16GB"),
        ("4060 Ti", "RTX 4060 Ti 8GB"),
        ("RTX 4070 Ti Super", "RTX 4070 Ti Super 16GB"),
        ("NVIDIA A100 80GB PCIe", "A100 80GB"),
        ("NVIDIA H100 PCIe", "H100 PCIe 80GB"),
        ("NVIDIA L4", "L4 24GB"),
    ],
)
def test_find_card(name: str, expected: str) -> None:
    found = find_card(name)
    assert found is not None and found.name == expected


def test_unknown_card() -> None:
    assert find_card("Voodoo 3") is None
    with pytest.raises(PlannerError, match="Unknown GPU"):
        card("Voodoo 3")


def test_hypothetical_machine() -> None:
    m = hypothetical_spec(["2x 3090", "3060"], 128)
    assert [g.memory for g in m.gpus] == [24 * GIB, 24 * GIB, 12 * GIB]
    assert m.gpus[0].bandwidth == 936e9 and m.ram == 128 * GIB and m.is_hypothetical
    assert any("assumed" in n for n in m.notices)
    with pytest.raises(PlannerError):
        hypothetical_spec(["4090"], 0)


def test_live_machine_uses_what_nvml_and_the_benchmark_said() -> None:
    cpu = CpuInfo("Ryzen", 16, 32, ("avx2", "fma"), max_freq_mhz=5000)
    gpu = GpuInfo(0, "nvidia", "NVIDIA GeForce RTX 4090", None, 24 * GIB, memory_bandwidth=1008e9,
                  pcie_gen=4, pcie_width=16)  # fmt: skip
    info = MachineInfo("box", "Linux", cpu, 64 * GIB, 0, (gpu,), ())
    m = spec_from_machine_info(info, ram_bandwidth=70e9, gpu_free=[20 * GIB])
    assert m.gpus[0].memory == 20 * GIB and m.gpus[0].bandwidth == 1008e9
    assert m.ram_bandwidth == 70e9 and m.cpu_tflops == pytest.approx(16 * 5 * 32 / 1000)
    assert not m.notices
    unmeasured = spec_from_machine_info(info)
    assert unmeasured.gpus[0].memory == 24 * GIB
    assert any("RAM bandwidth" in n for n in unmeasured.notices)


def test_moe_on_two_gpus_gives_gpu0_whole_layers_first() -> None:
    r = row(qwen3_moe(), machine([12, 12]), "Q8_0")
    assert r.placement == "partial" and r.n_gpu_layers == 49
    gpu0, gpu1, _ = r.memory.devices
    assert gpu0.layers > 0 and gpu1.has_output_layer
    assert 0 < r.expert_layers_on_cpu < 48
    assert sum(r.tensor_split) == 49


def test_ollama_raises_its_batch_for_long_contexts_when_vram_allows() -> None:
    facts = llama31_8b()
    auto = row(facts, machine(80), "Q4_K_M", ctx=16384, runtime="ollama")
    pinned = row(facts, machine(80), "Q4_K_M", ctx=16384, runtime="ollama", n_batch=512)
    assert auto.memory.compute > pinned.memory.compute  # a 1024-token micro-batch
    cramped = row(facts, machine(8), "Q4_K_M", ctx=16384, runtime="ollama")
    same_card = row(facts, machine(8), "Q4_K_M", ctx=16384, runtime="ollama", n_batch=512)
    assert cramped.memory.compute == same_card.memory.compute  # no headroom: stays at 512
