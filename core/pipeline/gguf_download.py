"""A download-only job: a Hub repo's GGUF file (every part of a split one) fetched into a folder as it is.

Discover finds a GGUF that fits; this job brings it home without the
converter, llama-quantize or Ollama. It is a `Job` (same events, same
cancel, same jobs screen), with two stages of its own:

- **preflight**: the repo listed at its commit (sizes and the Hub's sha256),
  a gated repo without a token refused, the folder writable, and the disk
  checked for the bytes still to fetch (core.pipeline.preflight).
- **download**: each part fetched into a `.part` file that a cancelled or
  broken run leaves behind, so the next run resumes from its last byte
  (core.pipeline.resumable_fetch), then checked against the Hub's size and
  sha256 and renamed. A part already there and checked is skipped.

The files land in `<first gguf_dirs folder>/<owner>/<repo>/`, where the
model browser's GGUF list and the planner find them.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from core.config import Settings
from core.errors import PipelineError
from core.pipeline import hf_download
from core.pipeline.file_digest import cached_digest, file_digest, remember_digest
from core.pipeline.job import Job, SkipStage
from core.pipeline.job_state import DOWNLOAD_STAGES
from core.pipeline.plan import default_out_dir
from core.pipeline.preflight import DiskWrite, check_disk, check_out_dir, disk_needs, fail, ok
from core.pipeline.progress import ProgressMeter
from core.pipeline.resumable_fetch import drop_stale_parts, fetch, file_url, part_path
from core.pipeline.sources import resolve_source
from core.pipeline.stages import StageError
from core.pipeline.types import (
    DiskNeed,
    HfFile,
    HfRepoListing,
    JobEvent,
    JobOutputs,
    JobPlanned,
    JobSpec,
    LogLine,
    PreflightCheck,
    PreflightReported,
)
from core.units import format_bytes_tenths, plural

Emit = Callable[[JobEvent], None]


def download_folder(settings: Settings, repo_id: str) -> Path:
    """`<first gguf_dirs folder>/<owner>/<repo>`: two repos' files of the same name never meet."""
    owner, _, name = repo_id.partition("/")
    return default_out_dir(settings).expanduser() / owner / name


def download_spec(settings: Settings, repo_id: str, revision: str, paths: tuple[str, ...],
                  quant: str | None) -> JobSpec:
    """The job that fetches `paths` (the parts of one GGUF, first first) of `repo_id` at `revision`."""
    return JobSpec(repo_id, quant=quant, out_dir=download_folder(settings, repo_id), import_to_ollama=False,
                   include=paths, revision=revision, download_only=True)


def job_for(spec: JobSpec, settings: Settings) -> Job:
    """The job that makes what `spec` asks for: a download-only one, or the conversion pipeline."""
    return GgufDownload(spec, settings) if spec.download_only else Job(spec, settings)


@dataclass
class _Fetch:
    folder: Path
    listing: HfRepoListing | None = None
    files: tuple[HfFile, ...] = ()


class GgufDownload(Job):
    """`Job.events()` for a download-only spec; `cancel()` keeps the bytes fetched for the next run."""

    TITLES: ClassVar[dict[str, str]] = {"preflight": "Checking the repo, the folder and the disk",
                                        "download": "Downloading the GGUF from the Hub"}

    async def _run(self, emit: Emit) -> str:  # the stages of a download, in place of the pipeline's
        spec = self.spec
        source = resolve_source(spec.source, revision=spec.revision)
        if source.kind != "hf-repo" or not spec.include:
            raise PipelineError(f"A download-only job takes a Hub repo and its GGUF files, not "
                                f"{spec.source}.")
        state = _Fetch((spec.out_dir or download_folder(self.settings, spec.source)).expanduser())
        first = state.folder / Path(spec.include[0]).name
        self.outputs = JobOutputs(quantized=first)
        emit(JobPlanned(self.id, source, DOWNLOAD_STAGES, spec.quant, None, self.outputs))
        await self._stage_run(emit, "preflight", lambda: self._check(emit, state))
        await self._stage_run(emit, "download", lambda: self._fetch_all(emit, state))
        size = sum(f.size or 0 for f in state.files)
        parts = f" and {plural(len(state.files) - 1, 'more part')}" if len(state.files) > 1 else ""
        return f"Wrote {first}{parts} ({format_bytes_tenths(size)})."

    def _cancel_message(self) -> str:
        return (f"Cancelled during {self._stage}. The bytes fetched so far are kept (*.part beside "
                f"{self.outputs.quantized}); retrying resumes from there.")

    async def _check(self, emit: Emit, state: _Fetch) -> tuple[str | None, str]:
        checks = await asyncio.to_thread(self._preflight_checks, state)
        disk: tuple[DiskNeed, ...] = ()
        if state.files and not any(c.failed for c in checks):
            todo = await asyncio.to_thread(_bytes_to_fetch, state.folder, state.files)
            disk = disk_needs([DiskWrite("GGUF download", state.folder, todo, "download")]) if todo else ()
            checks += check_disk(disk)
        emit(PreflightReported(tuple(checks), disk))
        for check in checks:
            emit(LogLine("preflight", f"[{check.status}] {check.message}"))
        failed = [c.message for c in checks if c.failed]
        if failed:
            raise StageError(" ".join(failed), tail=tuple(failed))
        return None, f"{plural(len(checks), 'check')} passed"

    def _preflight_checks(self, state: _Fetch) -> list[PreflightCheck]:
        """The source (listed, not gated without a token, every part there) and the folder. Blocking."""
        spec = self.spec
        try:
            listing = hf_download.list_repo(spec.source, spec.revision)
        except PipelineError as exc:
            return [fail("source", str(exc))]
        by_path = {f.path: f for f in listing.files}
        missing = [p for p in spec.include if p not in by_path]
        if missing:
            return [fail("source", f"{listing.repo_id} at {listing.revision[:12]} has no "
                                   f"{', '.join(missing)}; list its files again.")]
        state.listing, state.files = listing, tuple(by_path[p] for p in spec.include)
        if listing.gated and not _has_token():
            return [fail("source", f"{listing.repo_id} is gated: accept its licence at {listing.endpoint}/"
                                   f"{listing.repo_id}, then set HF_TOKEN (or run `hf auth login`).")]
        total = sum(f.size or 0 for f in state.files)
        what = plural(len(state.files), "part") if len(state.files) > 1 else state.files[0].path
        return [ok("source", f"{listing.repo_id} at {listing.revision[:12]}: {what}, "
                             f"{format_bytes_tenths(total)}."),
                check_out_dir(state.folder)]

    async def _fetch_all(self, emit: Emit, state: _Fetch) -> tuple[str | None, str]:
        listing = state.listing
        assert listing is not None
        meter = self._meter(emit, "download")
        total = sum(f.size or 0 for f in state.files)
        await asyncio.to_thread(state.folder.mkdir, parents=True, exist_ok=True)
        headers = _hub_headers()
        base, fetched = 0, 0
        for f in state.files:
            dest = state.folder / Path(f.path).name
            if await _checked(dest, f, meter):
                emit(LogLine("download", f"{dest.name}: already there (size and sha256 checked)"))
            else:
                fetched += 1
                part = part_path(dest, f.sha256)
                await asyncio.to_thread(drop_stale_parts, dest, part)
                url = file_url(listing.endpoint, listing.repo_id, listing.revision, f.path)
                await _fetch_one(url, part, f, headers, meter, base, total)
                await _verify(part, f, meter, base, total)
                await asyncio.to_thread(_rename, part, dest)
                emit(LogLine("download", f"{dest.name}: fetched, sha256 matches the Hub"))
            base += f.size or 0
        if not fetched:
            raise SkipStage(f"{plural(len(state.files), 'file')} already in {state.folder} (checked)")
        meter.update(1.0, total or None, total or None, "downloaded", force=True)
        detail = f"{plural(len(state.files), 'file')}, {format_bytes_tenths(total)}"
        return str(self.outputs.quantized), detail


def _has_token() -> bool:
    from huggingface_hub import get_token  # here: huggingface_hub costs start-up time

    try:
        return bool(os.environ.get("HF_TOKEN") or get_token())
    except Exception:  # a broken token file means "no token", which the check then says
        return False


def _hub_headers() -> dict[str, str]:
    # the documented place (huggingface_hub 2.4.0 utils/__init__.py), re-exported lazily: mypy cannot see it
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    from core import __version__

    return dict(build_hf_headers(token=os.environ.get("HF_TOKEN") or None, library_name="llamadeck",
                                 library_version=__version__))


def _bytes_to_fetch(folder: Path, files: tuple[HfFile, ...]) -> int:
    """The bytes not on disk yet: a file of the right size counts as there, a part as far as it got."""
    todo = 0
    for f in files:
        dest = folder / Path(f.path).name
        size = f.size or 0
        if dest.is_file() and dest.stat().st_size == size:
            continue
        part = part_path(dest, f.sha256)
        todo += max(0, size - (part.stat().st_size if part.is_file() else 0))
    return todo


async def _checked(dest: Path, f: HfFile, meter: ProgressMeter) -> bool:
    """`dest` is the Hub's file: its size, and its sha256 (remembered for a file this job put there)."""
    if not dest.is_file() or (f.size is not None and dest.stat().st_size != f.size):
        return False
    if f.sha256 is None:
        return True
    return await file_digest(dest, meter, f"checking {dest.name}") == f"sha256:{f.sha256}"


async def _fetch_one(url: str, part: Path, f: HfFile, headers: dict[str, str], meter: ProgressMeter,
                     base: int, total: int) -> None:
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def on_bytes(have: int, resumed: bool) -> None:
        if resumed:
            meter.rebase()  # bytes found on disk are not speed
        done = base + have
        meter.update(done / total if total else None, done, total or None, Path(f.path).name)

    def progress(have: int, resumed: bool) -> None:
        loop.call_soon_threadsafe(on_bytes, have, resumed)

    task = asyncio.ensure_future(asyncio.to_thread(fetch, url, part, f.size, headers, name=Path(f.path).name,
                                                   progress=progress, stop=stop))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)  # the thread stops at its next chunk
        raise


async def _verify(part: Path, f: HfFile, meter: ProgressMeter, base: int, total: int) -> None:
    if f.sha256 is None:
        return
    digest = await file_digest(part, meter, f"verifying {Path(f.path).name}", base=base, total=total)
    if digest != f"sha256:{f.sha256}":
        part.unlink(missing_ok=True)
        raise PipelineError(f"{Path(f.path).name} does not match the Hub's sha256: the download was corrupt "
                            "and has been removed.", hint="Run the job again to fetch it anew.")


def _rename(part: Path, dest: Path) -> None:
    digest = cached_digest(part)
    os.replace(part, dest)
    if digest is not None:
        remember_digest(dest, digest)  # the same bytes: a later check need not hash them again
