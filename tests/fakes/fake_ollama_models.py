"""What the fake Ollama server knows: local models, the pull library, chat scripts, faults.

Kept apart from the HTTP layer so a test can build the state it needs
(`FakeModel(...)`, `ChatScript(...)`, `Fault(...)`) without reading the server.
The demo catalog uses the numbers real models report, so a screen shown
against the fake looks like one shown against a real server.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def digest_of(text: str) -> str:
    """A stable sha256 hex digest, so fake layers look like real ones."""
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_name(name: str) -> str:
    """`llama3.2` -> `llama3.2:latest`, as Ollama names a model without a tag."""
    name = name.strip()
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def display_name(name: str) -> str:
    """Ollama shows library models without the registry prefix."""
    for prefix in ("registry.ollama.ai/library/", "registry.ollama.ai/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def human_number(n: int) -> str:
    """Ollama's format.HumanNumber, which fills details.parameter_size."""
    for size, suffix, decimals in ((1_000_000_000, "B", 1), (1_000_000, "M", 2)):
        if n >= size:
            value = n / size
            return f"{value:.0f}{suffix}" if value == int(value) else f"{value:.{decimals}f}{suffix}"
    if n >= 1000:
        return f"{n / 1000:.0f}K"
    return str(n)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeModel:
    """One local model, with what /api/tags, /api/show and /api/ps report about it."""

    name: str
    size: int
    digest: str = ""
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization_level: str = "Q4_K_M"
    format: str = "gguf"
    architecture: str = "llama"
    parameter_count: int = 3_212_749_888
    context_length: int = 131072
    embedding_length: int = 3072
    block_count: int = 28
    head_count: int = 24
    head_count_kv: int | list[int] = 8
    feed_forward_length: int = 8192
    vocab_size: int = 128256
    capabilities: list[str] = field(default_factory=lambda: ["completion"])
    template: str = "{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>"
    parameters: dict[str, Any] = field(default_factory=dict)
    system: str = ""
    license: str = ""
    modified_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Share of the loaded size that lands in VRAM when this model is loaded: 1.0 is
    # "100% GPU", 0.0 is the classic silent CPU fallback.
    vram_fraction: float = 1.0
    extra_info: dict[str, Any] = field(default_factory=dict)
    blob_digests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = normalize_name(self.name)
        if not self.digest:
            self.digest = digest_of(f"manifest {self.name} {self.size}")

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": self.format,
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def tags_entry(self) -> dict[str, Any]:
        shown = display_name(self.name)
        return {
            "name": shown,
            "model": shown,
            "modified_at": rfc3339(self.modified_at),
            "size": self.size,
            "digest": self.digest,
            "details": self.details(),
        }

    def model_info(self) -> dict[str, Any]:
        arch = self.architecture
        info: dict[str, Any] = {
            "general.architecture": arch,
            "general.file_type": 15,
            "general.parameter_count": self.parameter_count,
            "general.quantization_version": 2,
            f"{arch}.attention.head_count": self.head_count,
            f"{arch}.attention.head_count_kv": self.head_count_kv,
            f"{arch}.attention.layer_norm_rms_epsilon": 1e-05,
            f"{arch}.block_count": self.block_count,
            f"{arch}.context_length": self.context_length,
            f"{arch}.embedding_length": self.embedding_length,
            f"{arch}.feed_forward_length": self.feed_forward_length,
            f"{arch}.rope.freq_base": 500000,
            f"{arch}.vocab_size": self.vocab_size,
            "tokenizer.ggml.model": "gpt2",
            # Ollama empties arrays longer than 5 entries unless `verbose` is asked for.
            "tokenizer.ggml.tokens": [],
            "tokenizer.ggml.merges": [],
            "tokenizer.ggml.token_type": [],
        }
        info.update(self.extra_info)
        return info

    def parameters_text(self) -> str:
        """/api/show `parameters`: one `name value` line each, names padded like Ollama does."""
        lines = []
        for key, value in self.parameters.items():
            for v in value if isinstance(value, list) else [value]:
                shown = f'"{v}"' if isinstance(v, str) else str(v)
                lines.append(f"{key:<30} {shown}")
        return "\n".join(lines)

    def modelfile(self) -> str:
        lines = [
            '# Modelfile generated by "ollama show"',
            "# To build a new Modelfile based on this one, replace the FROM line with:",
            f"# FROM {display_name(self.name)}",
            "",
            f"FROM /root/.ollama/models/blobs/sha256-{self.digest}",
            f'TEMPLATE """{self.template}"""',
        ]
        if self.system:
            lines.append(f'SYSTEM """{self.system}"""')
        for key, value in self.parameters.items():
            for v in value if isinstance(value, list) else [value]:
                lines.append(f'PARAMETER {key} "{v}"' if isinstance(v, str) else f"PARAMETER {key} {v}")
        if self.license:
            lines.append(f'LICENSE """{self.license}"""')
        return "\n".join(lines) + "\n"

    def show(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "license": self.license,
            "modelfile": self.modelfile(),
            "parameters": self.parameters_text(),
            "template": self.template,
            "details": self.details(),
            "model_info": self.model_info(),
            "capabilities": list(self.capabilities),
            "modified_at": rfc3339(self.modified_at),
        }
        if self.system:
            answer["system"] = self.system
        return answer

    def kv_bytes_per_token(self) -> int:
        """f16 K and V for every layer: what a loaded model adds to its size per context token."""
        kv = self.head_count_kv if isinstance(self.head_count_kv, int) else max(self.head_count_kv)
        head_dim = self.embedding_length // max(1, self.head_count)
        return 2 * self.block_count * kv * head_dim * 2


@dataclass
class LibraryModel:
    """What `/api/pull` can fetch: a manifest of layers and the model it becomes."""

    model: FakeModel
    layers: list[tuple[str, int]]  # (sha256:<hex> digest, size in bytes)


@dataclass
class ChatScript:
    """What /api/chat and /api/generate stream for a prompt.

    `chunks` are content pieces (inline `<think>` text is sent as it is, like
    DeepSeek-R1 distills do); `thinking` is sent as `message.thinking` before the
    content when the request thinks and the model has the thinking capability.
    Stats default to fixed, round numbers so a test can compute the rates:
    100 output tok/s, 1000 prompt tok/s, 50 ms to load a model that was not loaded.
    """

    chunks: list[str] = field(default_factory=lambda: ["Hello", "!", " How", " can", " I", " help", "?"])
    thinking: list[str] = field(default_factory=lambda: ["The user", " greets", " me."])
    delay: float = 0.0  # seconds between chunks
    done_reason: str = "stop"
    stats: dict[str, int] = field(default_factory=dict)  # overrides the computed counters
    # Stream this many content chunks, then wait until the test lets more
    # through or sets `release` (or the server stops): a reply that is still
    # going for as long as the test needs, so nothing races a sleep on a
    # loaded machine.
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event, repr=False)
    # Set by the server while it waits at the hold.
    held: threading.Event = field(default_factory=threading.Event, repr=False)

    def holds_at(self, index: int) -> bool:
        """Must the server wait before sending content chunk `index`?"""
        return self.hold_after is not None and index >= self.hold_after and not self.release.is_set()

    def let_through(self, count: int) -> None:
        """Send `count` more chunks, then hold again."""
        assert self.hold_after is not None, "the script has no hold"
        self.held.clear()
        self.hold_after += count


@dataclass
class Fault:
    """A fault injected into the requests it matches.

    `path` matches exactly, or as a prefix when it ends with `/`; None matches
    every request. `times` limits how many requests it hits (None = until
    removed). Line counts refer to NDJSON lines of a streamed answer.
    """

    path: str | None = None
    method: str | None = None
    delay: float = 0.0  # seconds before answering at all
    status: int | None = None  # answer with this HTTP status and {"error": error}
    error: str = "something went wrong"
    drop_after: int | None = None  # close the connection after this many lines (0: before any answer)
    malformed_after: int | None = None  # send a line that is not JSON after this many lines
    error_line_after: int | None = None  # send {"error": error} (HTTP 200) after this many lines
    times: int | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.path is None:
            return True
        return path.startswith(self.path) if self.path.endswith("/") else path == self.path


@dataclass
class RunningEntry:
    """A loaded model, as /api/ps reports it."""

    name: str
    size: int
    size_vram: int
    context_length: int
    expires_at: datetime
    digest: str


LLAMA_TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
    "{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>"
    "{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
    "{{ if .Tools }}{{ .Tools }}{{ end }}"
)
QWEN3_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}"
    "{{ if .Tools }}{{ .Tools }}{{ end }}"
)
R1_TEMPLATE = "{{- range .Messages }}<｜{{ .Role }}｜>{{ .Content }}{{ end }}<｜Assistant｜>"


def demo_models() -> list[FakeModel]:
    """A small, realistic local model store (numbers as the real models report them)."""
    now = datetime.now(UTC)
    return [
        FakeModel(
            name="llama3.2:latest", size=2_019_393_189,
            digest="a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            family="llama", parameter_size="3.2B", quantization_level="Q4_K_M", architecture="llama",
            parameter_count=3_212_749_888, context_length=131072, embedding_length=3072, block_count=28,
            head_count=24, head_count_kv=8, feed_forward_length=8192, vocab_size=128256,
            capabilities=["completion", "tools"], template=LLAMA_TEMPLATE,
            parameters={"stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]},
            license="LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n"
                    "Llama 3.2 Version Release Date: September 25, 2024",
            modified_at=now - timedelta(days=3),
        ),
        FakeModel(
            name="qwen3:8b", size=5_225_388_164,
            digest="500a1f067a9f782620b40bee6f7b0c89e17ae61f686b92c24933e4ca4b2b8b41",
            family="qwen3", parameter_size="8.2B", quantization_level="Q4_K_M", architecture="qwen3",
            parameter_count=8_190_735_360, context_length=40960, embedding_length=4096, block_count=36,
            head_count=32, head_count_kv=8, feed_forward_length=12288, vocab_size=151936,
            capabilities=["completion", "tools", "thinking"], template=QWEN3_TEMPLATE,
            parameters={"repeat_penalty": 1, "stop": ["<|im_start|>", "<|im_end|>"], "temperature": 0.6,
                        "top_k": 20, "top_p": 0.95},
            license="Apache License\nVersion 2.0, January 2004",
            modified_at=now - timedelta(hours=5),
        ),
        FakeModel(
            # An older pull whose template leaves the reasoning inline as <think>...</think>.
            name="deepseek-r1:7b", size=4_683_075_271,
            digest="0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163",
            family="qwen2", parameter_size="7.6B", quantization_level="Q4_K_M", architecture="qwen2",
            parameter_count=7_615_616_512, context_length=131072, embedding_length=3584, block_count=28,
            head_count=28, head_count_kv=4, feed_forward_length=18944, vocab_size=152064,
            capabilities=["completion"], template=R1_TEMPLATE,
            parameters={"stop": ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"]},
            license="MIT License\n\nCopyright (c) 2023 DeepSeek",
            modified_at=now - timedelta(days=40),
        ),
        FakeModel(
            name="nomic-embed-text:latest", size=274_302_450,
            digest="0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f",
            family="nomic-bert", parameter_size="137M", quantization_level="F16", architecture="nomic-bert",
            parameter_count=136_727_040, context_length=2048, embedding_length=768, block_count=12,
            head_count=12, head_count_kv=12, feed_forward_length=3072, vocab_size=30522,
            capabilities=["embedding"], template="{{ .Prompt }}", parameters={"num_ctx": 8192},
            license="Apache License\nVersion 2.0, January 2004",
            modified_at=now - timedelta(days=90),
        ),
    ]


def _library_entry(model: FakeModel, extra_layers: int = 3) -> LibraryModel:
    layers = [(f"sha256:{digest_of('blob ' + model.name)}", model.size)]
    for i, size in enumerate((12_403, 1_481, 96, 487)[:extra_layers]):
        layers.append((f"sha256:{digest_of(f'layer {i} {model.name}')}", size))
    return LibraryModel(model=model, layers=layers)


def demo_library() -> dict[str, LibraryModel]:
    """Models /api/pull can fetch: the demo models plus a small one that is not local yet."""
    tiny = FakeModel(
        name="tinyllama:latest", size=637_700_138, family="llama", parameter_size="1B",
        quantization_level="Q4_0", architecture="llama", parameter_count=1_100_048_384,
        context_length=2048, embedding_length=2048, block_count=22, head_count=32, head_count_kv=4,
        feed_forward_length=5632, vocab_size=32000, capabilities=["completion"],
        parameters={"stop": ["<|system|>", "<|user|>", "<|assistant|>", "</s>"]},
    )
    entries = [_library_entry(m) for m in (*demo_models(), tiny)]
    return {entry.model.name: entry for entry in entries}


def model_from_gguf(name: str, path: Path, blob_digest: str, size: int) -> FakeModel:
    """Describe an uploaded GGUF the way Ollama would after `/api/create`.

    Uses the `gguf` package's reader; a file it cannot read becomes a model with
    unknown facts rather than an error, because Ollama itself would have refused it
    earlier with "supplied file was not in GGUF format".
    """
    from gguf import GGUFReader, LlamaFileType

    reader = GGUFReader(path)

    def value(key: str) -> Any:
        f = reader.get_field(key)
        if f is None:
            return None
        try:
            return f.contents()
        except Exception:  # an odd field type must not break the fake
            return None

    arch = str(value("general.architecture") or "unknown")
    n_params = int(value("general.parameter_count") or sum(int(t.n_elements) for t in reader.tensors))
    file_type = value("general.file_type")
    try:
        quant = LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_").removeprefix("ALL_")
    except (TypeError, ValueError):
        quant = "unknown"
    head_count = int(value(f"{arch}.attention.head_count") or 0)
    kv = value(f"{arch}.attention.head_count_kv")
    kv_value: int | list[int] = [int(x) for x in kv] if isinstance(kv, list) else int(kv or head_count)
    chat_template = value("tokenizer.chat_template")
    caps = ["completion"]
    if isinstance(chat_template, str):
        if re.search(r"\btools\b", chat_template):
            caps.append("tools")
        if "<think>" in chat_template or "enable_thinking" in chat_template:
            caps.append("thinking")
    return FakeModel(
        name=name, size=size, digest=digest_of(f"manifest {name} {blob_digest}"),
        family=arch, parameter_size=human_number(n_params), quantization_level=quant, architecture=arch,
        parameter_count=n_params, context_length=int(value(f"{arch}.context_length") or 0),
        embedding_length=int(value(f"{arch}.embedding_length") or 0),
        block_count=int(value(f"{arch}.block_count") or 0), head_count=head_count, head_count_kv=kv_value,
        feed_forward_length=int(value(f"{arch}.feed_forward_length") or 0),
        vocab_size=len(reader.get_field("tokenizer.ggml.tokens").data)  # type: ignore[union-attr]
        if reader.get_field("tokenizer.ggml.tokens") is not None else 0,
        capabilities=caps, template="{{ .Prompt }}", blob_digests=[blob_digest],
    )


def synthetic_models(count: int) -> list[FakeModel]:
    """`count` distinct, deterministic models for benchmarks (500 models in the browser)."""
    families = [("llama", 8.0), ("qwen2", 7.6), ("qwen3", 14.8), ("gemma3", 27.4), ("phi3", 3.8),
                ("mistral", 7.2)]
    quants = [("Q4_K_M", 4.85), ("Q5_K_M", 5.69), ("Q8_0", 8.5), ("Q4_0", 4.55), ("F16", 16.0),
              ("Q6_K", 6.56)]
    base = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(count):
        family, billions = families[i % len(families)]
        quant, bits = quants[(i // len(families)) % len(quants)]
        n_params = int(billions * 1e9 * (1 + (i % 7) / 10))
        out.append(FakeModel(
            name=f"{family}-synth-{i:04d}:{quant.lower()}", size=int(n_params * bits / 8),
            family=family, architecture=family, parameter_size=human_number(n_params),
            quantization_level=quant, parameter_count=n_params,
            modified_at=base + timedelta(hours=7 * i),
        ))
    return out
