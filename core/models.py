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


# --------------------------------------------------------------------------- ollama

import math  # noqa: E402  (the Ollama section is appended to a shared file)
import re  # noqa: E402
from datetime import datetime  # noqa: E402

_PARAM_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMBT]?)\s*$", re.IGNORECASE)
_PARAM_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


@dataclass(frozen=True)
class ModelDetails:
    """The `details` block Ollama attaches to every model it lists, as it reports it."""

    format: str | None = None  # "gguf" | "safetensors"
    family: str | None = None
    families: tuple[str, ...] = ()
    parameter_size: str | None = None  # Ollama's rounded text: "7.6B", "137M"
    quantization_level: str | None = None  # "Q4_K_M", "F16", ...
    parent_model: str | None = None

    @property
    def parameter_count(self) -> int | None:
        """`parameter_size` as a number, so a table can sort "137M" below "7.6B"."""
        match = _PARAM_SIZE.match(self.parameter_size or "")
        if match is None:
            return None
        return round(float(match.group(1)) * _PARAM_SCALE[match.group(2).upper()])


@dataclass(frozen=True)
class LocalModel:
    """A model in the server's store (`/api/tags`, `ollama list`)."""

    name: str  # "llama3.2:latest"
    size: int
    digest: str
    modified_at: datetime | None
    details: ModelDetails = field(default_factory=ModelDetails)

    @property
    def short_id(self) -> str:
        """The ID column of `ollama list`."""
        return self.digest[:12]


@dataclass(frozen=True)
class RunningModel:
    """A model loaded in memory (`/api/ps`, `ollama ps`)."""

    name: str
    size: int  # weights + KV cache + buffers, all devices
    size_vram: int  # the part in GPU memory
    digest: str = ""
    context_length: int | None = None
    expires_at: datetime | None = None
    details: ModelDetails = field(default_factory=ModelDetails)

    @property
    def short_id(self) -> str:
        return self.digest[:12]

    @property
    def processor(self) -> str:
        """The PROCESSOR column exactly as `ollama ps` prints it (cmd/cmd.go, ListRunningHandler)."""
        if self.size_vram == 0:
            return "100% CPU"
        if self.size_vram == self.size:
            return "100% GPU"
        if self.size_vram > self.size or self.size == 0:
            return "Unknown"
        # Go's math.Round rounds halves away from zero; Python's round() would round them to even.
        cpu = math.floor((self.size - self.size_vram) / self.size * 100 + 0.5)
        return f"{cpu}%/{100 - cpu}% CPU/GPU"

    @property
    def on_cpu_only(self) -> bool:
        """Loaded with nothing on a GPU: the classic silent fallback when Ollama found no usable GPU."""
        return self.size > 0 and self.size_vram == 0


@dataclass(frozen=True)
class ShowInfo:
    """What `/api/show` says about one model, with the architecture facts pulled out of model_info.

    Per-layer values (`head_count`, `head_count_kv`) are a tuple when the model
    stores one per layer (hybrid and sliding-window models), else an int.
    `model_info` keeps every raw key/value, sorted, minus the huge tokenizer arrays.
    """

    name: str
    architecture: str | None = None
    context_length: int | None = None
    embedding_length: int | None = None
    block_count: int | None = None
    head_count: int | tuple[int, ...] | None = None
    head_count_kv: int | tuple[int, ...] | None = None
    parameter_count: int | None = None
    capabilities: tuple[str, ...] = ()  # "completion", "tools", "thinking", "vision", "embedding", ...
    template: str = ""
    parameters: str = ""  # Ollama's text: one "name value" line each
    license: str = ""
    modelfile: str = ""
    system: str = ""
    details: ModelDetails = field(default_factory=ModelDetails)
    modified_at: datetime | None = None
    model_info: tuple[tuple[str, Any], ...] = ()

    def info(self, key: str) -> Any:
        """One raw model_info value (None when absent): `show.info("general.file_type")`."""
        for k, v in self.model_info:
            if k == key:
                return v
        return None

    @property
    def parameter_list(self) -> tuple[tuple[str, str], ...]:
        """`parameters` as (name, value) pairs in order; `stop` may repeat. Quotes are removed."""
        pairs = []
        for line in self.parameters.splitlines():
            name, _, value = line.strip().partition(" ")
            if name:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                pairs.append((name, value))
        return tuple(pairs)

    def license_head(self, lines: int = 3) -> str:
        """The first non-empty lines of the license: enough to tell Apache from a custom one."""
        kept = [line.strip() for line in self.license.splitlines() if line.strip()]
        return "\n".join(kept[:lines])


@dataclass(frozen=True)
class PullLayer:
    """One layer (blob) of a pull and how much of it is on the server's disk."""

    digest: str
    total: int
    completed: int

    @property
    def done(self) -> bool:
        return self.completed >= self.total


@dataclass(frozen=True)
class PullProgress:
    """One step of a pull: the server's own line plus everything known about the whole pull.

    `status`, `digest`, `total`, `completed` are the raw line (`completed` is None
    until the server has bytes of that layer). The totals cover the layers seen so
    far: Ollama announces layers one after another, so `total_bytes` grows and
    the model blob, which comes first, dominates it. `speed` (bytes/s over the last
    seconds) and `eta` (seconds) are None until there is enough to measure.
    """

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None
    layers: tuple[PullLayer, ...] = ()
    completed_bytes: int = 0
    total_bytes: int = 0
    speed: float | None = None
    eta: float | None = None

    @property
    def done(self) -> bool:
        return self.status == "success"

    @property
    def fraction(self) -> float | None:
        return self.completed_bytes / self.total_bytes if self.total_bytes > 0 else None


@dataclass(frozen=True)
class ServerHealth:
    """Is the server there, which version, and is it exposed without authentication.

    `error` is the sentence to show when it is not reachable. `is_local` is True
    for a loopback address, where this machine's disks and GPUs are the server's.
    `listen_addresses` are the sockets a local server listens on ("0.0.0.0:11434"),
    empty when unknown or remote.
    """

    host_name: str
    url: str
    reachable: bool
    version: str | None = None
    error: str | None = None
    is_local: bool = False
    listen_addresses: tuple[str, ...] = ()
    exposure_warning: str | None = None


# --------------------------------------------------------------------------- pipeline
#
# A conversion job is a run of stages; `core.pipeline.Job.events()` reports it
# as an async stream of the events below, first `JobPlanned`, last
# `JobFinished`. A screen wraps each in a Textual message; the CLI prints them.

from pathlib import Path  # noqa: E402  (the pipeline section is appended to a shared file)

STAGE_NAMES = ("preflight", "download", "convert", "quantize", "import")
SOURCE_KINDS = ("hf-repo", "hf-dir", "gguf")
CHECK_STATUSES = ("ok", "warn", "fail", "skip")
JOB_STATUSES = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class ModelSource:
    """What the user pointed a job at, resolved: a Hub repo, a checkpoint folder, or a GGUF.

    For a split GGUF `path` is the first part and `parts` lists every part.
    """

    kind: str  # one of SOURCE_KINDS
    name: str  # a short model name for output files: "Qwen2.5-7B-Instruct"
    path: Path | None = None  # hf-dir, gguf
    repo_id: str | None = None  # hf-repo
    revision: str | None = None  # hf-repo: branch, tag or commit; None = the default branch
    parts: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        return self.repo_id if self.repo_id else str(self.path)


@dataclass(frozen=True)
class HfFile:
    """One file of a Hub repo, as the Hub lists it."""

    path: str
    size: int | None
    sha256: str | None = None  # LFS files only: the Hub's hash of the content


@dataclass(frozen=True)
class HfRepoListing:
    """A Hub repo at one commit: its files and whether a token is needed to fetch them."""

    repo_id: str
    revision: str  # the commit sha the listing (and any download) is pinned to
    files: tuple[HfFile, ...]
    gated: str | None = None  # None, "auto" or "manual": the user must accept terms on the Hub
    private: bool = False
    endpoint: str = "https://huggingface.co"

    @property
    def total_size(self) -> int:
        return sum(f.size or 0 for f in self.files)


@dataclass(frozen=True)
class JobSpec:
    """What to make. None means "choose for me" where a default exists.

    `quant` None keeps the converted file as it is (no quantize stage);
    `ollama_name` None derives a name from the model and quant; `import_to_ollama`
    False stops after the GGUF is written.
    """

    source: str
    quant: str | None = "Q4_K_M"
    outtype: str = "f16"  # converter --outtype: "f16" | "bf16" | "q8_0" | "auto"
    out_dir: Path | None = None
    ollama_name: str | None = None
    import_to_ollama: bool = True
    keep_intermediate: bool = False
    imatrix: Path | None = None
    include: tuple[str, ...] = ()  # hf-repo: glob patterns of files to fetch; () = what conversion needs
    revision: str | None = None
    host: str | None = None  # a configured host name or an OLLAMA_HOST-style address


@dataclass(frozen=True)
class PreflightCheck:
    """One pre-flight finding. `fail` stops the job before anything heavy runs."""

    name: str  # "source", "shards", "disk", "converter", "architecture", "quantize", "quant", "ollama"
    status: str  # one of CHECK_STATUSES
    message: str

    @property
    def failed(self) -> bool:
        return self.status == "fail"


@dataclass(frozen=True)
class DiskNeed:
    """The space one filesystem must have free for the whole job, all stages that write there."""

    path: str  # the folder written to (the first one, when several share a filesystem)
    mount: str | None
    need: int
    free: int | None
    what: tuple[str, ...]  # e.g. ("F16 GGUF 15.2 GB", "Q4_K_M GGUF 4.9 GB")

    @property
    def enough(self) -> bool:
        return self.free is None or self.free >= self.need


@dataclass(frozen=True)
class JobOutputs:
    """What a job left behind (or would have): the files and the Ollama model."""

    model_dir: Path | None = None  # the checkpoint folder converted (a download lands here)
    converted: Path | None = None  # the converter's GGUF; deleted at the end unless kept
    quantized: Path | None = None  # the final GGUF
    ollama_model: str | None = None
    ollama_digest: str | None = None  # "sha256:<hex>" of the uploaded GGUF


@dataclass(frozen=True, slots=True)
class JobPlanned:
    """First event: the stages this job will run, so a screen can draw them all as pending."""

    job_id: str
    source: ModelSource
    stages: tuple[str, ...]
    quant: str | None
    predicted_size: int | None  # bytes of the final GGUF, from the planner, when known
    outputs: JobOutputs


@dataclass(frozen=True, slots=True)
class StageStarted:
    stage: str
    description: str


@dataclass(frozen=True, slots=True)
class StageProgress:
    """Where a stage is. A newer one replaces an older one for the same stage (Textual `can_replace`).

    `fraction` is 0..1 or None when the tool gives no measure; bytes are what
    the stage has read or written of `total_bytes`; `speed` in bytes/s and
    `eta` in seconds are smoothed over the last few seconds.
    """

    stage: str
    fraction: float | None
    done_bytes: int | None = None
    total_bytes: int | None = None
    speed: float | None = None
    eta: float | None = None
    detail: str = ""  # "tensor 12/39", "writing", "hashing", "model-00002-of-00004.safetensors"

    can_replace = True  # a class attribute, not a field: the UI may drop stale progress


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a tool's output (or a note from llamadeck itself), for the live log tail."""

    stage: str
    text: str


@dataclass(frozen=True, slots=True)
class PreflightReported:
    """Every pre-flight finding at once, after the checks ran (also when one failed)."""

    checks: tuple[PreflightCheck, ...]
    disk: tuple[DiskNeed, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.checks)


@dataclass(frozen=True, slots=True)
class StageFinished:
    stage: str
    elapsed: float
    output: str | None = None  # a path or a model name
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StageSkipped:
    stage: str
    reason: str


@dataclass(frozen=True, slots=True)
class StageFailed:
    """A stage stopped. `message` is the sentence to show; `tail` the tool's last lines;
    `diagnosis` what llamadeck recognised in them and what to do, when it did."""

    stage: str
    message: str
    tail: tuple[str, ...] = ()
    diagnosis: str | None = None


@dataclass(frozen=True, slots=True)
class JobFinished:
    """Last event. `status` is one of JOB_STATUSES; `message` a sentence for the user."""

    status: str
    elapsed: float
    message: str
    outputs: JobOutputs = field(default_factory=JobOutputs)


JobEvent = (
    JobPlanned | StageStarted | StageProgress | LogLine | PreflightReported
    | StageFinished | StageSkipped | StageFailed | JobFinished
)


# --------------------------------------------------------------------------- planner

from collections.abc import Sequence  # noqa: E402  (the planner section is appended to a shared file)


@dataclass(frozen=True)
class GpuSpec:
    """One GPU as the planner sees it. `memory` is what it may fill: free VRAM on
    a live machine, the whole card on a hypothetical one."""

    name: str
    memory: int
    bandwidth: float  # bytes/s
    tflops: float  # dense FP16 tensor TFLOPS, for the prompt-speed estimate
    pcie_bandwidth: float = 25e9  # bytes/s host<->device, for partial offload

    @classmethod
    def from_card(cls, name: str) -> GpuSpec:
        from core.cards import card

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

    @classmethod
    def from_machine_info(
        cls,
        info: MachineInfo,
        ram_bandwidth: float | None = None,
        *,
        gpu_free: Sequence[int | None] | None = None,
        ram_available: int | None = None,
    ) -> MachineSpec:
        from core.machine_spec import spec_from_machine_info

        return spec_from_machine_info(info, ram_bandwidth, gpu_free=gpu_free, ram_available=ram_available)

    @classmethod
    def hypothetical(
        cls,
        card_names: Sequence[str],
        ram_gb: float,
        *,
        ram_bandwidth_gbs: float | None = None,
        cpu_tflops: float | None = None,
    ) -> MachineSpec:
        from core.machine_spec import hypothetical_spec

        return hypothetical_spec(
            card_names, ram_gb, ram_bandwidth_gbs=ram_bandwidth_gbs, cpu_tflops=cpu_tflops
        )


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


PLACEMENTS = ("gpu", "partial", "cpu", "none")  # all on GPU / split / CPU only / won't fit


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


@dataclass(frozen=True)
class PlanInputs:
    model: str
    architecture: str
    ctx: int  # per sequence, as asked
    kv_type: str
    settings: RuntimeSettings
    machine: MachineSpec
    decode_depth: int = 0  # tokens already in the context when decode speed is estimated


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
