"""Discover's results written down: table cells and JSON, alike for `llamadeck search/files` and the screen.

Cells take the caller's size formatter, as core.planner.report's do; the
verdict words are the planner's (`where`: GPU, -ngl 20/33, CPU, won't fit)
beside a one-word badge that reads without colour. JSON keeps sizes in
bytes and rates in tokens/s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.discover.types import FileFit, RepoFit, RepoSummary, SearchPage
from core.planner.report import where
from core.units import NONE, format_ctx, format_params, format_tps

SizeFormat = Callable[[float | None], str]

SEARCH_COLUMNS = ["Repo", "Downloads", "Likes", "Updated", "Arch", "Params"]
FILE_COLUMNS = ["Quant", "Size", "Fit", "Runs on", "tok/s", "Max ctx", "File"]


def format_count(n: int | None) -> str:
    """Downloads and likes as the Hub shows them: 950, 12.3k, 4.5M."""
    if n is None:
        return NONE
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    return f"{n / 1e3:.1f}k" if n >= 10_000 else str(n)


def format_day(when: datetime | None) -> str:
    return NONE if when is None else when.astimezone(UTC).strftime("%Y-%m-%d")


def search_cells(s: RepoSummary) -> list[str]:
    """One result's cells in SEARCH_COLUMNS order; a gated repo says so after its name."""
    name = f"{s.repo_id} (gated)" if s.gated else s.repo_id
    return [name, format_count(s.downloads), format_count(s.likes), format_day(s.last_modified),
            s.architecture or NONE, format_params(s.n_params)]


def file_cells(fit: FileFit, size: SizeFormat) -> list[str]:
    """One file's cells in FILE_COLUMNS order. Without a row: the badge `unknown` and a dash."""
    row = fit.row
    return [fit.quant or NONE, size(fit.group.size), fit.badge, where(row) if row else NONE,
            format_tps(fit.decode_tps), format_ctx(fit.max_ctx_on_gpu), fit.group.name]


def fit_cell(fit: FileFit | str | None) -> str:
    """A repo's best file in one cell: `Q6_K fits: GPU 41.2 tok/s`, the badge alone without a verdict."""
    if fit is None or isinstance(fit, str):
        return NONE
    row = fit.row
    if row is None:
        return f"{fit.quant or fit.group.name} {fit.badge}"
    return f"{fit.quant} {fit.badge}: {where(row)} {format_tps(fit.decode_tps)} tok/s"


def file_lines(fit: FileFit) -> list[str]:
    """What a file's row cannot say: why it has no verdict, and the notices about it."""
    lines = [f"{fit.group.name}: {fit.error}"] if fit.error and not fit.error.startswith(fit.group.name) \
        else ([fit.error] if fit.error else [])
    return lines + [f"{fit.group.name}: {n}" for n in fit.notices]


# --------------------------------------------------------------------------- JSON


def summary_json(s: RepoSummary) -> dict[str, Any]:
    return {"repo_id": s.repo_id, "downloads": s.downloads, "likes": s.likes,
            "last_modified": s.last_modified.isoformat() if s.last_modified else None, "gated": s.gated,
            "note": s.note, "architecture": s.architecture, "n_params": s.n_params,
            "context_length": s.context_length, "tags": list(s.tags)}


def search_json(page: SearchPage) -> dict[str, Any]:
    return {"endpoint": page.endpoint, "results": [summary_json(s) for s in page.results],
            "next_cursor": page.next_cursor}


def fit_json(fit: FileFit) -> dict[str, Any]:
    """One file: its parts and sizes, the verdict and the numbers behind it, what reading it cost."""
    row = fit.row
    out: dict[str, Any] = {
        "name": fit.group.name, "quant": fit.quant, "kind": fit.group.kind, "size": fit.group.size,
        "parts": [{"path": p.path, "size": p.size} for p in fit.group.parts],
        "badge": fit.badge, "placement": fit.placement, "runs_on": where(row) if row else None,
        "error": fit.error, "notices": list(fit.notices),
        "header": {"requests": fit.read.requests, "bytes_read": fit.read.bytes_read,
                   "cached": fit.read.cached},
    }
    if row is not None and fit.facts is not None:
        out |= {"planned_as": row.quant, "architecture": fit.facts.architecture,
                "n_params": fit.facts.n_params, "context_length": fit.facts.context_length,
                "decode_tps": row.decode_tps,
                "prompt_tps": row.prompt_tps, "max_ctx_on_gpu": row.max_ctx_on_gpu, "fit_ctx": row.fit_ctx,
                "n_gpu_layers": row.n_gpu_layers, "n_layers": row.n_layers,
                "memory": {"total": row.memory.total, "weights": row.memory.weights,
                           "kv_cache": row.memory.kv_cache}}
    return out


def repo_fit_json(result: RepoFit) -> dict[str, Any]:
    listing = result.listing
    return {"source": listing.source, "endpoint": listing.endpoint, "repo_id": listing.repo_id,
            "revision": listing.revision, "gated": listing.gated, "other_files": listing.other_files,
            "ctx": result.ctx, "kv_type": result.kv_type, "machine": result.machine.name,
            "files": [fit_json(f) for f in result.fits],
            "requests": result.requests, "bytes_read": result.bytes_read}
