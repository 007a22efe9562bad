"""The planner's placement against what llama.cpp's own `--fit` chose on devices of chosen sizes.

Every expected value below was printed by the real `llama-fit-params`
(llama.cpp as vendored in llama-cpp-python 0.3.36) on ggml-rpc-server devices
reporting the sizes given (tests/support/rpc_devices.py; `bench.planner_fit`
makes the whole table, tests/e2e/test_planner_fit.py reruns a few cells). The
planner runs as llama-fit-params sets its context up: `runtime="llama.cpp"`.
Memory is model + context + compute per device as `--fit-print on` projects
it (whole MiB, rounded down).
"""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import PlannerError
from core.facts import catalog
from core.planner.plan import plan
from core.planner.types import GpuSpec, MachineSpec, QuantRow

GIB = 1024**3
MIB = 1024**2


def rpc(*sizes_gib: int, kind: str = "rpc") -> MachineSpec:
    gpus = tuple(GpuSpec(f"RPC{i}", s * GIB, 100e9, 10.0, kind=kind) for i, s in enumerate(sizes_gib))
    return MachineSpec(gpus, ram=1024 * GIB, ram_bandwidth=60e9, cpu_tflops=1.0)


def row(model: str, quant: str, machine: MachineSpec, ctx: int | None) -> QuantRow:
    return plan(catalog.facts(model), machine, ctx=ctx, runtime="llama.cpp", quants=(quant,)).rows[0]


def mib(r: QuantRow) -> list[tuple[int, int, int]]:
    return [(d.weights // MIB, d.kv_cache // MIB, d.compute // MIB) for d in r.memory.devices if d.is_gpu]


def close(ours: list[tuple[int, int, int]], real: list[tuple[int, int, int]], tol: int = 2) -> bool:
    return all(abs(a - b) <= tol for o, r in zip(ours, real, strict=True) for a, b in zip(o, r, strict=True))


def test_an_rpc_device_has_no_driver_overhead() -> None:
    # llama-3.1-70b Q4_K_M, one 12 GiB device, -c 8192: fit -> -ngl 20, 10327 + 608 + 266 MiB
    r = row("llama-3.1-70b", "Q4_K_M", rpc(12), 8192)
    assert r.n_gpu_layers == 20
    assert close(mib(r), [(10327, 608, 266)])
    assert r.memory.devices[0].overhead == 0
    cuda = row("llama-3.1-70b", "Q4_K_M", rpc(12, kind="cuda"), 8192)
    assert cuda.n_gpu_layers < 20  # a CUDA card also holds its context's ~400 MiB
    assert cuda.memory.devices[0].overhead > 0


def test_no_op_offload_on_an_rpc_device() -> None:
    # partial offload: ggml-rpc has no offload_op, so no weight copy joins the compute buffer
    rpc_row = row("llama-3.1-70b", "Q4_K_M", rpc(12), 8192)
    cuda_row = row("llama-3.1-70b", "Q4_K_M", dataclasses.replace(rpc(12, kind="cuda"), gpus=(
        GpuSpec("GPU0", 12 * GIB, 100e9, 10.0),)), 8192)  # fmt: skip
    assert rpc_row.memory.devices[0].compute // MIB == 266
    assert cuda_row.memory.devices[0].compute > rpc_row.memory.devices[0].compute


@pytest.mark.parametrize(
    ("model", "quant", "sizes", "fit_ctx", "layers"),
    [
        ("llama-3.1-8b", "Q4_K_M", (12,), 52736, (33,)),  # context shrunk, every layer stays
        ("llama-3.1-70b", "Q4_K_M", (16, 12), 4096, (30, 20)),  # even -fitc 4096 is short: layers move
        ("llama-3.1-70b", "Q4_K_M", (24, 24), 17664, (40, 41)),  # shrunk, then refilled back to front
    ],
)
def test_context_left_to_fit(model: str, quant: str, sizes: tuple[int, ...], fit_ctx: int,
                             layers: tuple[int, ...]) -> None:  # fmt: skip
    r = row(model, quant, rpc(*sizes), None)
    assert r.fit_ctx == fit_ctx
    assert r.settings is not None and r.settings.n_ctx == fit_ctx
    assert (r.tensor_split or (r.n_gpu_layers,)) == layers


def test_a_given_context_is_never_changed() -> None:
    r = row("llama-3.1-8b", "Q4_K_M", rpc(8), 131072)
    assert r.fit_ctx is None
    assert r.settings is not None and r.settings.n_ctx == 131072
    assert r.n_gpu_layers < 33  # layers move instead


def test_ollama_always_has_a_context() -> None:
    with pytest.raises(PlannerError):
        plan(catalog.facts("llama-3.1-8b"), rpc(12), ctx=None, runtime="ollama", quants=("Q4_K_M",))


def test_moe_fractional_layer_to_ram() -> None:
    # qwen3-30b-a3b Q4_K_M, 12 GiB, -c 32768: blocks 0-19 whole, block 20 keeps attention and its up
    # experts (-ot blk.20.ffn_(gate|gate_up|down).*=CPU), 21-47 keep their experts in RAM
    r = row("qwen3-30b-a3b", "Q4_K_M", rpc(12), 32768)
    assert r.fractional_layers == ((20, "up", -1),)
    assert r.expert_cpu_layers == tuple(range(21, 48))
    assert close(mib(r), [(7866, 3072, 300)])


def test_moe_fractional_layer_overflows_to_the_next_gpu() -> None:
    # qwen3-30b-a3b Q8_0, 16 + 12 GiB, -c 8192: -ts 24,25; block 23's gate and down experts go to
    # the second device (=RPC0[...] of its endpoint), block 39 keeps only attention, 40-47 in RAM
    r = row("qwen3-30b-a3b", "Q8_0", rpc(16, 12), 8192)
    assert r.tensor_split == (24, 25)
    assert r.fractional_layers == ((23, "up", 1), (39, "attn", -1))
    assert r.expert_cpu_layers == tuple(range(40, 48))
    assert close(mib(r), [(14762, 384, 92), (10386, 384, 300)])


def test_pipeline_parallelism_enlarges_compute_buffers() -> None:
    # llama-3.1-8b Q4_K_M, 16 + 12 GiB, -c 32768, all offloaded: 268 and 450 MiB of compute (4 input
    # copies per split), host 168; one device holds 258 with no copies
    r = row("llama-3.1-8b", "Q4_K_M", rpc(16, 12), 32768)
    assert close(mib(r), [(2362, 2432, 268), (2040, 1664, 450)])
    assert r.memory.devices[-1].compute // MIB in (167, 168, 169)
    one = row("llama-3.1-8b", "Q4_K_M", rpc(24), 32768)
    assert one.memory.devices[0].compute // MIB == 258
