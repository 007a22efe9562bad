"""Tokens per second, from bytes moved (decode) and arithmetic (prompt).

Decode reads every active weight once per token (for MoE only the routed
experts in use: n_expert_used / n_expert of the expert tensors) plus the KV
cache filled so far, so its time is the sum over devices of bytes / bandwidth,
divided by how much of the bandwidth llama.cpp reaches, plus a fixed cost
per token (kernel launches, sampling, the round trip to the host). GPU runs
reach about 60-85 % of their memory bandwidth for 7-8B models and pay ~3 ms
per token (field notes in shared/REFERENCE.md); the CPU figure is relative to
the *measured* RAM bandwidth, which already is below the theoretical one.

Prompt processing is compute bound: ~2 FLOPs per active weight per token,
at a fraction of the device's dense FP16 tensor throughput (GPU) or FP32
FMA peak (CPU). With partial offload llama.cpp runs the big matrix products of
CPU-resident layers on the GPU too (op offload), paying to copy those weights
over PCIe once per micro-batch. This estimate is deliberately simple and
coarse (think +-50 %); decode is the number the planner is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

from core.planner.assignment import Assignment
from core.planner.rpc import network_seconds
from core.planner.types import MachineSpec
from core.planner.weights import WeightTable


@dataclass(frozen=True)
class SpeedModel:
    gpu_efficiency: float = 0.80  # share of GPU memory bandwidth decode reaches
    cpu_efficiency: float = 0.85  # share of measured RAM bandwidth decode reaches
    gpu_token_overhead: float = 0.003  # seconds per token, fixed
    cpu_token_overhead: float = 0.0005
    gpu_prompt_efficiency: float = 0.80  # share of dense FP16 tensor TFLOPS prompt processing reaches
    cpu_prompt_efficiency: float = 0.35
    op_offload_min_batch: int = 32  # micro-batches this large run CPU layers' products on the GPU


DEFAULT_SPEED = SpeedModel()


@dataclass(frozen=True)
class ActiveShare:
    """Per unit (blocks, then the output layer): bytes and weights one token touches."""

    bytes_full: tuple[int, ...]  # dense part + active experts, units on a GPU / in RAM alike
    bytes_expert_active: tuple[int, ...]  # the active-expert part of it (moves with -ot)
    bytes_expert_total: tuple[int, ...]  # all routed experts of the unit
    bytes_stored: tuple[int, ...]  # the unit's whole weights
    weights: tuple[float, ...]  # active weights (for FLOPs)

    @cached_property
    def prefix_full(self) -> list[int]:
        return [0, *accumulate(self.bytes_full)]

    @cached_property
    def prefix_expert_active(self) -> list[int]:
        return [0, *accumulate(self.bytes_expert_active)]


def active_share(wt: WeightTable, unit_active_weights: tuple[float, ...]) -> ActiveShare:
    """What one token touches per unit (blocks, then the output layer).

    With tied embeddings the output layer multiplies by all of `token_embd`
    on every token, wherever the output layer runs: llama.cpp gives the
    duplicated tensor the output layer's buffer type, so it is read from the
    GPU's copy when the output layer is offloaded and from the mapped file on
    the CPU otherwise. Its bytes therefore belong to the output unit.
    """
    active_exp = wt.layer_active_expert_bytes
    full = wt.layer_bytes
    if any(wt.layer_expert_bytes):  # MoE: the routed experts count only as far as a token uses them
        full = tuple(t - e + a for t, e, a in zip(full, wt.layer_expert_bytes, active_exp, strict=True))
    output = wt.output_bytes + wt.tied_output_bytes
    return ActiveShare(
        (*full, output),
        (*active_exp, 0),
        (*wt.layer_expert_bytes, 0),
        (*wt.layer_bytes, output),
        unit_active_weights,
    )


def decode_tps(
    share: ActiveShare,
    a: Assignment,
    machine: MachineSpec,
    *,
    kv_bytes_read: list[int] | None = None,
    model: SpeedModel = DEFAULT_SPEED,
    hidden_bytes: int = 0,
) -> float:
    """Tokens per second generating one sequence with `kv_bytes_read[u]` of cache already filled per layer.

    Every GPU holds one run of units, so its bytes are differences of prefix
    sums. Byte counts are whole numbers far below 2**53, so these integer
    sums are exactly the float sums a unit-by-unit walk would make.
    """
    n_units = a.n_units
    kv = list(kv_bytes_read[:n_units]) if kv_bytes_read else []
    kv += [0] * (n_units - len(kv))
    p_full = share.prefix_full
    p_active = share.prefix_expert_active
    p_kv = [0, *accumulate(kv)]
    per_dev = [0] * len(machine.gpus)
    on_gpu = 0
    experts_home = 0
    for d, (s, e, f) in enumerate(zip(a.starts, a.ends, a.full, strict=True)):
        if e <= s:
            continue
        b = p_full[e] - p_full[s] + p_kv[e] - p_kv[s]
        on_gpu += b
        lo, hi = s + f, min(e, n_units - 1)
        if hi > lo:  # these blocks' active experts are read from RAM
            x = p_active[hi] - p_active[lo]
            b -= x
            experts_home += x
        per_dev[d] += b
    cpu = float(p_full[n_units] + p_kv[n_units] - on_gpu + experts_home)
    seconds = 0.0
    for d, g in enumerate(machine.gpus):
        seconds += float(per_dev[d]) / (g.bandwidth * model.gpu_efficiency)
    seconds += cpu / (machine.ram_bandwidth * model.cpu_efficiency)
    seconds += model.gpu_token_overhead if a.n_gpu_layers else model.cpu_token_overhead
    seconds += network_seconds(machine, [e > s for s, e in zip(a.starts, a.ends, strict=True)], hidden_bytes)
    return 1.0 / seconds


def prompt_tps(
    share: ActiveShare,
    a: Assignment,
    machine: MachineSpec,
    n_ubatch: int,
    *,
    model: SpeedModel = DEFAULT_SPEED,
    hidden_bytes: int = 0,
) -> float:
    """Prompt tokens per second for micro-batches of `n_ubatch` tokens (RPC devices: plus the network)."""
    weights = share.weights
    n_weights = len(weights)
    seconds = 0.0  # per micro-batch
    cpu_weights_bytes = 0
    gpus = machine.gpus
    # the GPU that runs CPU-resident weights' products: the first that offloads ops (an RPC device does not)
    host_gpu = next((i for i, g in enumerate(gpus) if g.offloads_ops), -1)
    offload = host_gpu >= 0 and n_ubatch >= model.op_offload_min_batch
    gpu_rate = [g.tflops * 1e12 * model.gpu_prompt_efficiency for g in gpus]
    cpu_rate = machine.cpu_tflops * 1e12 * model.cpu_prompt_efficiency
    device, experts = a.unit_map()
    for u in range(a.n_units):
        d = device[u]
        f = 2.0 * weights[u] * n_ubatch if u < n_weights else 0.0
        if d >= 0 and not experts[u]:
            seconds += f / gpu_rate[d]
        elif offload:
            # CPU-resident weights (a whole layer, or a GPU layer's experts) are copied over and run there
            seconds += f / gpu_rate[host_gpu]
            cpu_weights_bytes += share.bytes_expert_total[u] if d >= 0 else share.bytes_stored[u]
        else:
            seconds += f / cpu_rate
    if cpu_weights_bytes and host_gpu >= 0:
        seconds += float(cpu_weights_bytes) / gpus[host_gpu].pcie_bandwidth
    used = [e > s for s, e in zip(a.starts, a.ends, strict=True)]
    seconds += network_seconds(machine, used, hidden_bytes, n_ubatch)
    return n_ubatch / seconds if seconds > 0 else 0.0
