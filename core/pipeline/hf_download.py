"""Fetching a model from the Hugging Face Hub (or a mirror) with progress, resume and checks.

Everything goes through `huggingface_hub`, so the Hub cache layout, resumable
`.incomplete` files, HF_TOKEN and stored logins work as in every other tool.
HF_ENDPOINT is read when a job starts, not when huggingface_hub was imported,
so a mirror (hf-mirror.com, a company proxy) set in the shell or the TUI
applies to the next job.

A listing gives sizes and, for LFS files, the Hub's sha256; after the
download every file is checked against both (hashing is remembered, see
`core.pipeline.file_digest`).

Resume, honestly: within a run, huggingface_hub retries a dropped connection
with a Range request from where it stopped. Across runs the unit is the file:
finished files stay in the cache and are never fetched again, but the
huggingface_hub versions this project uses (>= 1.x) write each download to a
process-unique temporary file and delete it when the download is interrupted,
so a cancelled shard starts over on the next run.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import PipelineError
from core.facts.hf_hub import hub_error
from core.pipeline.file_digest import file_digest
from core.pipeline.progress import ProgressMeter
from core.pipeline.types import HfFile, HfRepoListing

# huggingface_hub reads the body in DOWNLOAD_CHUNK_SIZE pieces (10 MB) and reports progress,
# checks for a cancel, and keeps resumable bytes only per piece; 1 MiB keeps all three prompt.
DOWNLOAD_CHUNK = 1 << 20

# What convert_hf_to_gguf.py reads from a checkpoint folder.
CONVERT_PATTERNS = (
    "*.json", "*.safetensors", "tokenizer.model", "*.tiktoken", "*.txt", "*.jinja", "*.py",
)  # fmt: skip


class DownloadCancelled(PipelineError):
    """Raised inside huggingface_hub's download loop when the job is cancelled."""


def endpoint() -> str:
    from huggingface_hub import constants  # here: huggingface_hub costs start-up time

    return (os.environ.get("HF_ENDPOINT") or str(constants.ENDPOINT)).rstrip("/")


def _token() -> str | None:
    return os.environ.get("HF_TOKEN") or None  # None: huggingface_hub's stored login, if any


def list_repo(repo_id: str, revision: str | None = None) -> HfRepoListing:
    """The repo's files with sizes and LFS hashes, pinned to one commit (blocking)."""
    from huggingface_hub import HfApi  # here: huggingface_hub costs start-up time

    url = endpoint()
    try:
        info = HfApi(endpoint=url).model_info(repo_id, revision=revision, files_metadata=True, token=_token())
    except Exception as exc:  # huggingface_hub and its HTTP stack raise many kinds; all become a sentence
        raise hub_error(PipelineError, repo_id, exc, url=endpoint(), downloading=True) from None
    files = []
    for s in info.siblings or ():
        lfs = getattr(s, "lfs", None)
        files.append(HfFile(s.rfilename, s.size if s.size is not None else getattr(lfs, "size", None),
                            getattr(lfs, "sha256", None)))
    gated = info.gated if isinstance(info.gated, str) else None
    return HfRepoListing(repo_id, str(info.sha or revision or "main"), tuple(files), gated,
                         bool(info.private), url)


def select_files(listing: HfRepoListing, include: Sequence[str] = ()) -> tuple[HfFile, ...]:
    """The files to fetch: those matching `include`, else what conversion needs.

    Without patterns, safetensors win over PyTorch .bin files, subfolders
    (original/, onnx/) are left out, and a repo that only publishes GGUFs is
    refused with a sentence, since picking one of many quants is the user's call.
    """
    if include:
        chosen = tuple(f for f in listing.files if any(fnmatch.fnmatch(f.path, p) for p in include))
        if not chosen:
            raise PipelineError(f"No file of {listing.repo_id} matches {', '.join(include)}.",
                                hint=f"It has: {', '.join(f.path for f in listing.files[:12])}.")
        return chosen
    top = [f for f in listing.files if "/" not in f.path]
    has_st = any(f.path.endswith(".safetensors") for f in top)
    has_bin = any(f.path.endswith(".bin") and "pytorch_model" in f.path for f in top)
    if not has_st and not has_bin:
        ggufs = [f.path for f in listing.files if f.path.endswith(".gguf")]
        if ggufs:
            raise PipelineError(
                f"{listing.repo_id} publishes GGUF files, not a checkpoint; pick one with --include.",
                hint=f"For example --include '{ggufs[0]}' (it has {len(ggufs)} GGUF files).")
        raise PipelineError(f"{listing.repo_id} has no safetensors or PyTorch weights to convert.")
    patterns = list(CONVERT_PATTERNS) + ([] if has_st else ["pytorch_model*.bin"])
    return tuple(f for f in top if any(fnmatch.fnmatch(f.path, p) for p in patterns))


def missing_shards(listing: HfRepoListing, index: dict[str, Any]) -> list[str]:
    """Shards the index names that the repo does not have (a broken upload, caught before fetching)."""
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict):
        return []
    have = {f.path for f in listing.files}
    return sorted({str(v) for v in weight_map.values()} - have)


def fetch_small(listing: HfRepoListing, name: str, cache_dir: Path) -> Path | None:
    """One small metadata file (config.json, the index) for the pre-flight checks; None if absent."""
    from huggingface_hub import hf_hub_download  # here: huggingface_hub costs start-up time

    if not any(f.path == name for f in listing.files):
        return None
    try:
        return Path(hf_hub_download(listing.repo_id, name, revision=listing.revision, cache_dir=cache_dir,
                                    endpoint=listing.endpoint, token=_token()))
    except Exception as exc:
        raise hub_error(PipelineError, listing.repo_id, exc, url=endpoint(), downloading=True) from None


def _reporter(on_bytes: Callable[[int, bool], None], stop: threading.Event) -> type[Any]:
    """A tqdm class for huggingface_hub that reports bytes to the job and never prints.

    `on_bytes(n, resumed)`: `resumed` marks bytes already on disk from an earlier run.
    Raising from `update` is how a cancel reaches the download loop in its thread.
    """
    from tqdm.auto import tqdm  # here: only a download needs it, and it costs start-up time

    class Reporter(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # never draw: the screen or the CLI shows progress
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)
            initial = kwargs.get("initial") or 0
            if initial:
                on_bytes(int(initial), True)

        def update(self, n: float | None = 1) -> bool | None:
            if stop.is_set():
                raise DownloadCancelled("The download was cancelled.")
            if n:
                on_bytes(int(n), False)
            result: bool | None = super().update(n)
            return result

    return Reporter


async def download(
    listing: HfRepoListing,
    files: Sequence[HfFile],
    cache_dir: Path,
    meter: ProgressMeter,
    log: Callable[[str], None],
) -> Path:
    """Fetch `files` into the Hub cache; returns the snapshot folder (the checkpoint dir)."""
    from huggingface_hub import constants, hf_hub_download  # here: huggingface_hub costs start-up time

    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, DOWNLOAD_CHUNK)
    total = sum(f.size or 0 for f in files)
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    done = 0
    current = ""

    def on_bytes(n: int, resumed: bool) -> None:
        nonlocal done
        done += n
        if resumed:
            meter.rebase()
        meter.update(done / total if total else None, done, total or None, current)

    def report(n: int, resumed: bool) -> None:
        loop.call_soon_threadsafe(on_bytes, n, resumed)

    snapshot: Path | None = None
    for f in files:
        current = f.path
        before = done
        task = asyncio.ensure_future(asyncio.to_thread(
            hf_hub_download, listing.repo_id, f.path, revision=listing.revision, cache_dir=cache_dir,
            endpoint=listing.endpoint, token=_token(), tqdm_class=_reporter(report, stop)))
        try:
            local = Path(await asyncio.shield(task))
        except asyncio.CancelledError:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            raise
        except PipelineError:
            raise
        except Exception as exc:
            raise hub_error(PipelineError, listing.repo_id, exc, url=endpoint(), downloading=True) from None
        # A cached file reports no bytes; count it as done so the bar adds up.
        await asyncio.sleep(0)
        done = max(done, before + (f.size or 0))
        log(f"{f.path}: {'fetched' if done > before else 'in cache'}")
        snapshot = local.parents[len(Path(f.path).parts) - 1]
    if snapshot is None:
        raise PipelineError(f"Nothing to download from {listing.repo_id}.")
    meter.update(1.0, total or None, total or None, "downloaded", force=True)
    return snapshot


async def verify(snapshot: Path, files: Sequence[HfFile], meter: ProgressMeter,
                 log: Callable[[str], None]) -> None:
    """Every file has the Hub's size, and LFS files the Hub's sha256."""
    total = sum(f.size or 0 for f in files if f.sha256)
    base = 0
    meter.rebase()
    for f in files:
        path = snapshot / f.path
        if not path.exists():
            raise PipelineError(f"{f.path} is missing from {snapshot} after the download.")
        size = path.stat().st_size
        if f.size is not None and size != f.size:
            raise PipelineError(f"{f.path} has {size:,} bytes but the Hub lists {f.size:,}.",
                                hint="Delete it from the Hugging Face cache and run the job again.")
        if f.sha256:
            digest = await file_digest(path.resolve(), meter, f"verifying {f.path}", base=base, total=total)
            base += size
            if digest != f"sha256:{f.sha256}":
                raise PipelineError(f"{f.path} does not match the Hub's sha256: the file is corrupt.",
                                    hint="Delete it from the Hugging Face cache and run the job again.")
            log(f"{f.path}: sha256 matches the Hub")
