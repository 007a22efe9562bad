"""What Discover hands to the CLI and the screen: search results, a repo's GGUF files, and each file's fit.

Sizes are bytes, None where the source could not say. Every type is frozen,
so a screen can keep one and a worker can hand it over between threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.facts.types import ModelFacts
from core.planner.types import MachineSpec, Plan, QuantRow

GATED_NOTE = "gated: accept the licence on the Hub"

# How `llamadeck search --sort` and the screen name the orders; the Hub's own keys in core.discover.search.
SORTS: tuple[str, ...] = ("downloads", "likes", "recent", "trending")

# One word a placement, readable without colour (the screen may colour it too).
FIT_BADGES: dict[str, str] = {"gpu": "fits", "partial": "partial", "cpu": "cpu-only", "none": "too-big"}
NO_FIT_BADGE = "unknown"  # no row: the header could not be read, or the file is not a model


@dataclass(frozen=True)
class RepoSummary:
    """One search result: a repo as the Hub lists it, before any of its files is read."""

    repo_id: str
    downloads: int | None = None
    likes: int | None = None
    last_modified: datetime | None = None
    gated: bool = False  # its files need a licence accepted on the Hub (and a token)
    architecture: str | None = None  # from the Hub's GGUF summary, where it has one
    n_params: int | None = None
    context_length: int | None = None
    tags: tuple[str, ...] = ()

    @property
    def note(self) -> str | None:
        return GATED_NOTE if self.gated else None


@dataclass(frozen=True)
class SearchPage:
    """One page of results; `next_cursor` asks for the next (None on the last page)."""

    results: tuple[RepoSummary, ...]
    next_cursor: str | None
    endpoint: str


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repo: its path there, its size, and the URL its bytes are read from.

    `etag` identifies the content where the revision does not (a ModelScope
    branch name): the header cache keys on it too.
    """

    path: str
    size: int
    url: str
    etag: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class GgufGroup:
    """A model file as a user picks it: one GGUF, or every part of a split one (first part first).

    `quant` is read from the file (or folder) name: Q4_K_M, IQ4_XS, BF16,
    UD-Q4_K_XL, ...; `kind` is "model", or "mmproj" (a vision projector) and
    "imatrix" (an importance matrix), which are GGUFs but not models.
    `missing` names parts the split naming promises but the repo lacks.
    """

    name: str
    quant: str | None
    parts: tuple[RemoteFile, ...]
    kind: str = "model"
    missing: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    @property
    def is_model(self) -> bool:
        return self.kind == "model"


@dataclass(frozen=True)
class RepoListing:
    """A repo's GGUF files at one commit, grouped; `revision` is the commit sha the reads use."""

    source: str  # "hf" | "modelscope"
    endpoint: str
    repo_id: str
    revision: str
    gated: bool
    groups: tuple[GgufGroup, ...]
    other_files: int  # files that are not GGUF (README, config, ...)

    @property
    def models(self) -> tuple[GgufGroup, ...]:
        return tuple(g for g in self.groups if g.is_model)


@dataclass(frozen=True)
class HeaderRead:
    """What reading one file's header cost: HTTP requests and body bytes (both 0 from the cache)."""

    requests: int = 0
    bytes_read: int = 0
    cached: bool = False


@dataclass(frozen=True)
class FileFit:
    """One model file planned on this machine, or the sentence that says why it could not be.

    `plan` holds one row, the planner's for the file's quantization at the
    asked context and KV type (core.planner.plan), with the file's real
    size; core.planner.report's `where`, `cells` and `explain` take it as
    they take any plan. `facts` are the model as its header describes it.
    """

    group: GgufGroup
    facts: ModelFacts | None = None
    plan: Plan | None = None
    error: str | None = None
    read: HeaderRead = HeaderRead()
    notices: tuple[str, ...] = ()

    @property
    def row(self) -> QuantRow | None:
        return self.plan.rows[0] if self.plan else None

    @property
    def quant(self) -> str | None:
        return self.group.quant or (self.facts.file_type if self.facts else None)

    @property
    def placement(self) -> str | None:
        """gpu, partial, cpu or none (won't fit); None without a row."""
        row = self.row
        return row.placement if row else None

    @property
    def badge(self) -> str:
        return FIT_BADGES.get(self.placement or "", NO_FIT_BADGE)

    @property
    def decode_tps(self) -> float | None:
        row = self.row
        return row.decode_tps if row else None

    @property
    def max_ctx_on_gpu(self) -> int | None:
        row = self.row
        return row.max_ctx_on_gpu if row else None


@dataclass(frozen=True)
class RepoFit:
    """Every GGUF file of a repo planned for one machine, context and KV type."""

    listing: RepoListing
    fits: tuple[FileFit, ...]
    machine: MachineSpec
    ctx: int | None  # None: llama.cpp's fit picks the context (each row's fit_ctx)
    kv_type: str

    @property
    def requests(self) -> int:
        return sum(f.read.requests for f in self.fits)

    @property
    def bytes_read(self) -> int:
        return sum(f.read.bytes_read for f in self.fits)
