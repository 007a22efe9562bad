"""Frozen dataclasses shared by core, the CLI and the screens.

Sizes are bytes, rates bytes/s, clocks MHz, power watts, temperatures deg C.
A field is None when the probe could not read it on this machine, so a
screen can show "n/a" instead of a made-up zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# --------------------------------------------------------------------------- hardware


@dataclass(frozen=True)
class GpuInfo:
    """Static facts about one GPU, read once."""

    index: int
    vendor: str  # "nvidia" | "amd"
    name: str
    uuid: str | None
    memory_total: int
    driver_version: str | None = None
    cuda_version: str | None = None  # e.g. "12.4", from the driver
    compute_capability: str | None = None  # e.g. "8.9"
    power_limit_w: float | None = None
    pcie_gen: int | None = None
    pcie_width: int | None = None
    memory_bus_width_bits: int | None = None
    max_memory_clock_mhz: int | None = None
    memory_bandwidth: float | None = None  # theoretical, bytes/s


@dataclass(frozen=True)
class GpuProcess:
    """A process holding GPU memory (what `nvidia-smi` lists at the bottom)."""

    gpu_index: int
    pid: int
    name: str
    cmdline: str
    used_memory: int | None  # None when the driver does not say (e.g. in containers)
    kind: str = "compute"  # "compute" | "graphics"


@dataclass(frozen=True)
class GpuSample:
    """One live reading of one GPU."""

    index: int
    memory_used: int | None
    memory_total: int
    util_gpu: float | None = None  # percent
    util_memory: float | None = None  # percent (memory controller busy)
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    sm_clock_mhz: int | None = None
    mem_clock_mhz: int | None = None
    fan_percent: float | None = None
    processes: tuple[GpuProcess, ...] = ()
    error: str | None = None  # set when this GPU could not be read this time (e.g. lost)

    @property
    def memory_free(self) -> int | None:
        return None if self.memory_used is None else max(0, self.memory_total - self.memory_used)

    @property
    def memory_fraction(self) -> float | None:
        if self.memory_used is None or self.memory_total <= 0:
            return None
        return self.memory_used / self.memory_total


@dataclass(frozen=True)
class CpuInfo:
    model: str
    physical_cores: int | None
    logical_cores: int
    simd: tuple[str, ...]  # the flags that matter to llama.cpp: avx, avx2, fma, f16c, avx512*, amx*
    max_freq_mhz: float | None = None


@dataclass(frozen=True)
class DiskInfo:
    """Free space on the filesystem that holds a folder models live in."""

    label: str  # "Ollama models", "Hugging Face cache", "GGUF dir", ...
    path: str
    exists: bool
    mount: str | None
    total: int | None
    free: int | None


@dataclass(frozen=True)
class MachineInfo:
    """Static facts: what this box is. Notices explain what could not be probed."""

    hostname: str
    os: str
    cpu: CpuInfo
    ram_total: int
    swap_total: int
    gpus: tuple[GpuInfo, ...]
    disks: tuple[DiskInfo, ...]
    notices: tuple[str, ...] = ()
    ram_bandwidth: float | None = None  # bytes/s, only once measured


@dataclass(frozen=True)
class SystemSample:
    """One live reading of the whole machine."""

    timestamp: float
    cpu_percent: float
    per_cpu_percent: tuple[float, ...]
    ram_used: int
    ram_available: int
    ram_total: int
    swap_used: int
    swap_total: int
    load_avg: tuple[float, float, float] | None
    gpus: tuple[GpuSample, ...]
    notices: tuple[str, ...] = ()  # e.g. "GPU 1 is no longer reachable: ..."


@dataclass(frozen=True)
class BandwidthResult:
    bytes_per_second: float
    buffer_bytes: int
    seconds: float
    method: str = field(default="numpy copy")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses to plain JSON types (tuples become lists)."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: to_jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- model facts


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as llama.cpp sees it.

    `shape` is in ggml order: shape[0] is the row length (ne0), so a Linear
    weight of PyTorch shape (out, in) has shape (in, out) here.
    """

    name: str
    shape: tuple[int, ...]
    ggml_type: str  # "F32", "F16", "BF16", "Q8_0", "Q4_K", ...
    n_bytes: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class ModelFacts:
    """What a model *is*, whatever it came from (GGUF, HF checkpoint, Ollama, catalog).

    Per-layer values (`head_count_kv`, `swa_layers`) are tuples with one entry a
    layer so hybrid models (sliding-window layers, varying KV heads) are exact.
    `tensors` is the full table where the source has one; the planner replays
    llama-quantize over it. For a source without a tensor table (an Ollama model
    read through /api/show, catalog entries) it is synthesised from the shapes.
    """

    name: str
    source: str  # "gguf" | "hf" | "ollama" | "catalog"
    architecture: str  # GGUF arch name: "llama", "qwen2", "qwen3moe", "deepseek2", "gemma3", ...
    n_params: int
    n_layers: int
    n_embd: int
    n_head: int
    head_count_kv: tuple[int, ...]  # per layer
    head_dim_k: int
    head_dim_v: int
    context_length: int
    vocab_size: int
    n_params_active: int | None = None  # MoE: parameters read per token
    n_ff: int | None = None
    n_expert: int = 0
    n_expert_used: int = 0
    sliding_window: int | None = None
    swa_layers: tuple[bool, ...] = ()  # per layer; empty = no sliding-window layers
    tied_embeddings: bool = False
    tensors: tuple[TensorInfo, ...] = ()
    file_type: str | None = None  # the quant the source is stored in, e.g. "Q4_K_M", "BF16"
    file_size: int | None = None  # bytes on disk, where there is a file
    chat_template: str | None = None
    kv_lora_rank: int | None = None  # MLA (DeepSeek-V2/V3)
    rope_dim: int | None = None  # MLA: the rope part of the K head
    known_architecture: bool = True
    notices: tuple[str, ...] = ()
    metadata: tuple[tuple[str, Any], ...] = ()  # selected raw key/values (never huge arrays)

    @property
    def is_moe(self) -> bool:
        return self.n_expert > 1


# --------------------------------------------------------------------------- chat

from core.errors import ChatError  # noqa: E402  (the chat section is appended to a shared file)

THINK_LEVELS = ("low", "medium", "high")
MESSAGE_STATUSES = ("complete", "streaming", "stopped", "error", "interrupted")


@dataclass(frozen=True)
class ChatMessage:
    """One message as it goes to a model (thinking is kept for the record, never sent back)."""

    role: str  # "system" | "user" | "assistant"
    content: str
    thinking: str = ""


@dataclass(frozen=True)
class ChatOptions:
    """Per-chat settings; None means "whatever the server or model defaults to".

    Names follow Ollama's options so a value means the same on every screen;
    the OpenAI-compatible backend translates the ones it can (num_predict ->
    max_tokens) and leaves out the ones a running llama-server fixes at start
    (num_ctx, keep_alive).
    """

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    num_ctx: int | None = None
    seed: int | None = None
    repeat_penalty: float | None = None
    num_predict: int | None = None
    stop: tuple[str, ...] = ()
    keep_alive: str | float | None = None  # "5m", seconds, negative = forever, 0 = unload after
    think: bool | str | None = None  # True/False or "low" | "medium" | "high"
    history_limit: int | None = None  # past messages sent with each prompt; None = all

    SAMPLING = ("temperature", "top_p", "top_k", "num_ctx", "seed", "repeat_penalty", "num_predict")

    def __post_init__(self) -> None:
        if isinstance(self.think, str) and self.think not in THINK_LEVELS:
            levels = ", ".join(THINK_LEVELS)
            raise ChatError(f"Thinking must be on, off or one of {levels}, not {self.think!r}.")
        if self.history_limit is not None and self.history_limit < 1:
            raise ChatError(f"The history limit must be at least 1 message, not {self.history_limit}.")

    def sampling(self) -> dict[str, Any]:
        """The set sampling options under their Ollama names (stop included when given)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self.SAMPLING if getattr(self, k) is not None}
        if self.stop:
            out["stop"] = list(self.stop)
        return out

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()
                if v is not None and v != ()}

    @classmethod
    def from_json(cls, data: Any) -> ChatOptions:
        """Tolerant reader for stored options: unknown or ill-typed keys are dropped, not fatal,
        so a history written by another version still opens."""
        if not isinstance(data, dict):
            return cls()
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name not in data or data[name] is None:
                continue
            value = data[name]
            if name == "stop":
                if isinstance(value, list) and all(isinstance(s, str) for s in value):
                    kwargs[name] = tuple(value)
            elif name in ("top_k", "num_ctx", "seed", "num_predict", "history_limit"):
                if isinstance(value, int) and not isinstance(value, bool):
                    kwargs[name] = value
            elif name in ("temperature", "top_p", "repeat_penalty"):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    kwargs[name] = float(value)
            elif name == "keep_alive":
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    kwargs[name] = value
            elif name == "think" and (isinstance(value, bool) or value in THINK_LEVELS):
                kwargs[name] = value
        try:
            return cls(**kwargs)
        except ChatError:
            return cls()


@dataclass(frozen=True)
class ChatStats:
    """The numbers for one reply.

    Token counts and durations come from the server's own counters (Ollama's
    nanosecond durations, llama-server's `timings`), converted to seconds; only
    `ttft_s` and `wall_s` are measured here, from the moment the request left.
    """

    ttft_s: float | None = None  # request sent -> first token of reasoning or answer
    wall_s: float | None = None  # request sent -> last byte
    total_s: float | None = None  # the server's whole-request time (Ollama total_duration)
    load_s: float | None = None  # model load (Ollama load_duration)
    prompt_tokens: int | None = None  # prompt tokens evaluated for this reply
    prompt_s: float | None = None
    cached_tokens: int | None = None  # prompt tokens reused from the server's cache
    output_tokens: int | None = None
    output_s: float | None = None
    done_reason: str | None = None  # "stop", "length", "unload", ...

    @property
    def prompt_tps(self) -> float | None:
        if not self.prompt_tokens or not self.prompt_s or self.prompt_s <= 0:
            return None
        return self.prompt_tokens / self.prompt_s

    @property
    def output_tps(self) -> float | None:
        if not self.output_tokens or not self.output_s or self.output_s <= 0:
            return None
        return self.output_tokens / self.output_s

    @property
    def context_tokens(self) -> int | None:
        """Tokens the conversation now occupies in the context window."""
        if self.prompt_tokens is None and self.output_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.cached_tokens or 0) + (self.output_tokens or 0)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Any) -> ChatStats | None:
        if not isinstance(data, dict):
            return None
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            value = data.get(name)
            if name == "done_reason":
                if isinstance(value, str):
                    kwargs[name] = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                kwargs[name] = int(value) if name.endswith("_tokens") else float(value)
        return cls(**kwargs)


# Stream events, in the order a reply produces them. A consumer appends
# ContentDelta to the answer and ThinkingDelta to the reasoning block.


@dataclass(frozen=True, slots=True)
class ContentDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ContentWasThinking:
    """Everything streamed so far as answer was reasoning: move it (`text`) to the thinking block.

    Happens at most once per reply, when a model's template opened `<think>` in
    the prompt and the reply shows only the closing tag.
    """

    text: str


@dataclass(frozen=True, slots=True)
class StreamDone:
    stats: ChatStats


@dataclass(frozen=True, slots=True)
class StreamFailed:
    """The reply ended with an error; whatever arrived is kept.

    `prompt_withdrawn` is True when nothing was generated and the user's prompt
    was taken back out of the conversation: the UI should leave it in the input.
    """

    message: str
    retryable: bool
    prompt_withdrawn: bool = False


ChatEvent = ContentDelta | ThinkingDelta | ContentWasThinking | StreamDone | StreamFailed


@dataclass(frozen=True)
class StoredMessage:
    """A message as the history keeps it.

    `status` is "complete", "stopped" (the user stopped it), "error" (the stream
    broke; `error` says why), "streaming" (being written by this process) or
    "interrupted" (left half-written by a process that died).
    """

    id: int
    session_id: int
    role: str
    content: str
    thinking: str
    status: str
    created_at: float
    updated_at: float
    stats: ChatStats | None = None
    error: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class SessionInfo:
    """One conversation in the session list; `snippet` is set by a search."""

    id: int
    title: str
    model: str
    host: str
    system_prompt: str
    options: ChatOptions
    created_at: float
    updated_at: float
    message_count: int = 0
    snippet: str | None = None
