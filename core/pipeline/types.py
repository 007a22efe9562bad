"""The conversion pipeline: job specs, pre-flight results and the events a job streams.

Sizes are bytes unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#
# A conversion job is a run of stages; `core.pipeline.job.Job.events()` reports it
# as an async stream of the events below, first `JobPlanned`, last
# `JobFinished`. A screen wraps each in a Textual message; the CLI prints them.
from pathlib import Path

STAGE_NAMES = ("preflight", "download", "convert", "quantize", "import")
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
    False stops after the GGUF is written. `download_only` fetches the GGUF
    files `include` names from the hf-repo `source` into `out_dir` as they are
    (core.pipeline.gguf_download); `quant` then only labels the job.
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
    download_only: bool = False


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
    """The space one filesystem must have free for the whole job: its peak over the stages."""

    path: str  # the folder written to (the first one, when several share a filesystem)
    mount: str | None
    need: int  # the peak: the most bytes present at one time, margin included
    free: int | None
    what: tuple[str, ...]  # the parts as shown, adding up: ("F16 GGUF 15.2 GiB", ..., "margin 0.2 GiB")
    parts: tuple[tuple[str, int], ...] = ()  # the same in bytes; they sum to `need`
    note: str = ""  # e.g. "F16 GGUF deleted before the peak"

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
