"""The planner: machines, runtime settings, memory breakdowns and one row per quant.

Sizes are bytes unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.planner.cards import card

DEVICE_KINDS = ("cuda", "rocm", "vulkan", "metal", "rpc")


@dataclass(frozen=True)
class GpuSpec:
    """One GPU as the planner sees it. `memory` is what it may fill: free VRAM on
    a live machine, the whole card on a hypothetical one."""

    name: str
    memory: int
    bandwidth: float  # bytes/s
    tflops: float  # dense FP16 tensor TFLOPS, for the prompt-speed estimate
    pcie_bandwidth: float = 25e9  # bytes/s host<->device, for partial offload
    kind: str = "cuda"  # one of DEVICE_KINDS: the llama.cpp backend that drives it

    @property
    def has_runtime_overhead(self) -> bool:
        """Whether a driver context (CUDA's, ~400 MiB) takes memory llama.cpp does not count.

        An RPC device is memory a remote ggml-rpc-server reports as free after
        its own start-up, so nothing more comes off it here.
        """
        return self.kind != "rpc"

    @property
    def offloads_ops(self) -> bool:
        """Whether llama.cpp runs a prompt's products of CPU-resident weights on this device.

        ggml-rpc.cpp (0.3.36) has no `offload_op` (NULL in its device interface),
        so with an RPC device the scheduler leaves those products on the CPU.
        """
        return self.kind != "rpc"

    @classmethod
    def from_card(cls, name: str) -> GpuSpec:
        c = card(name)
        return cls(c.name, c.memory, c.bandwidth, c.tflops)


@dataclass(frozen=True)
class MachineSpec:
    """The machine a plan is for: GPUs, system RAM and how fast each is."""

    gpus: tuple[GpuSpec, ...]
    ram: int  # bytes the model may use in system memory
    ram_bandwidth: float  # bytes/s, as measured (or assumed for a hypothetical machine)
    cpu_tflops: float  # FP32 TFLOPS of all cores, for the CPU prompt-speed estimate
    name: str = ""
    is_hypothetical: bool = False
    notices: tuple[str, ...] = ()
    # where ram_bandwidth comes from, for every speed shown: "measured 2026-12-07", "given", "assumed"
    ram_bandwidth_source: str = "assumed"
    cpu_threads: int | None = None  # the threads CPU work is planned with (cpu_tflops counts them)
    # the weight types llama.cpp repacks on this CPU (core.planner.repack); an AVX2 x86 unless probed
    cpu_repack_types: tuple[str, ...] = ("Q4_0", "Q4_K", "IQ4_NL", "MXFP4")


@dataclass(frozen=True)
class RuntimeSettings:
    """What the runtime will allocate with: the knobs of llama.cpp's context that move memory.

    `n_ctx` is the total KV size asked for (llama-server's -c, Ollama's
    num_ctx x OLLAMA_NUM_PARALLEL); `n_outputs` the logit rows the compute
    graph reserves per micro-batch (one per slot for llama-server, the whole
    batch for a plain llama.cpp context).
    """

    runtime: str  # "llama-server" | "ollama" | "llama.cpp"
    n_ctx: int
    n_seq: int  # parallel sequences (-np / OLLAMA_NUM_PARALLEL)
    kv_unified: bool
    n_batch: int
    n_ubatch: int
    n_outputs: int
    type_k: str  # "f16", "q8_0", ...
    type_v: str
    flash_attn: bool
    op_offload: bool = True
    repack: bool = True  # llama.cpp's CPU weight repacking (--no-repack turns it off; core.planner.repack)
    fit_margin: int = 1024**3  # what llama.cpp's --fit leaves free per GPU (--fit-target, 1 GiB)
    gpu_overhead: int = 400 * 1024**2  # CUDA context, cuBLAS and driver memory llama.cpp does not report


@dataclass(frozen=True)
class DeviceMemory:
    """What one device holds for one quant row."""

    device: str  # "GPU0 RTX 4090 24GB", "CPU"
    is_gpu: bool
    capacity: int  # what it may hold: memory less the fit margin llama.cpp leaves free
    weights: int
    kv_cache: int
    compute: int
    output: int
    overhead: int  # per-GPU runtime overhead (0 for the CPU)
    layers: int  # repeating layers whose attention lives here
    has_output_layer: bool
    # CPU: the part of `weights` that is llama.cpp's repacked second copy; the file pages it was made from
    # are droppable cache, so RAM needs `total - repacked` at least (core.planner.repack)
    repacked: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.output + self.overhead


@dataclass(frozen=True)
class MemoryBreakdown:
    """The sums llama.cpp logs (`model`, `KV`, `compute`, `output` buffer sizes) for one row."""

    weights: int
    kv_cache: int
    compute: int
    output: int
    overhead: int
    devices: tuple[DeviceMemory, ...]

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.output + self.overhead


@dataclass(frozen=True)
class QuantRow:
    """One quantization of the model on the machine: size, memory, placement, speed, quality."""

    quant: str
    file_size: int
    tensor_bytes: int  # what `llama-quantize --dry-run` reports
    bits_per_weight: float
    memory: MemoryBreakdown
    placement: str  # one of PLACEMENTS
    n_gpu_layers: int  # the -ngl that fits (n_layers + 1 = everything, the output layer counts as one)
    n_layers: int  # repeating layers of the model
    tensor_split: tuple[int, ...]  # layers per GPU (-ts), empty for one GPU
    expert_layers_on_cpu: int  # MoE: layers whose routed experts stay in RAM (llama.cpp's -ot)
    decode_tps: float | None
    prompt_tps: float | None
    ppl_delta: float | None
    quality: str  # llama-quantize's own hint line
    max_ctx_on_gpu: int | None  # the largest -c that keeps this row fully on GPU
    needs_imatrix: bool = False
    notices: tuple[str, ...] = ()
    settings: RuntimeSettings | None = None  # what this row runs with (Ollama picks its batch per model)
    expert_cpu_layers: tuple[int, ...] = ()  # MoE: the blocks whose routed experts stay in RAM
    # the context llama.cpp's --fit settles on when none is given (plan(ctx=None)); None when -c is given
    fit_ctx: int | None = None
    # MoE: blocks split across devices by --fit, as (block, part kept, device the rest goes to, -1 = RAM);
    # the part is "up" (attention + up experts), "gate" (+ gate experts) or "attn" (attention only)
    fractional_layers: tuple[tuple[int, str, int], ...] = ()


@dataclass(frozen=True)
class PlanInputs:
    model: str
    architecture: str
    ctx: int  # per sequence, as asked
    kv_type: str
    settings: RuntimeSettings
    machine: MachineSpec
    decode_depth: int = 0  # tokens already in the context when decode speed is estimated
    auto_ctx: bool = False  # no -c: llama.cpp's fit picks each row's context (QuantRow.fit_ctx), from `ctx`


@dataclass(frozen=True)
class Plan:
    inputs: PlanInputs
    rows: tuple[QuantRow, ...]
    notices: tuple[str, ...] = ()

    def row(self, quant: str) -> QuantRow:
        for r in self.rows:
            if r.quant == quant.upper():
                return r
        raise KeyError(quant)
