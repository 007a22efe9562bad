"""What the Ollama API returns: local and running models, /api/show, pull progress, health.

Sizes are bytes unless a name says otherwise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
