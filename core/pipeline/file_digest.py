"""sha256 of big files, in a worker thread with progress, remembered between runs.

Both a Hub download (checked against the Hub's LFS hash) and an Ollama
import (blobs are named by their hash) need the digest of files that can
be tens of GB. Hashing runs in a thread (hashlib releases the GIL on large
buffers) so the event loop keeps moving, stops at the next chunk when the
job is cancelled, and the result is kept in llamadeck's cache dir keyed by
the file's path, size, mtime and inode, so a retried job does not hash again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

from core import paths
from core.errors import PipelineError
from core.pipeline.progress import ProgressMeter

CHUNK = 4 << 20


class HashingCancelled(PipelineError):
    """The hashing thread was told to stop."""


def _cache_file(path: Path) -> Path:
    key = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()
    return paths.cache_dir() / "digests" / f"{key}.json"


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def cached_digest(path: Path) -> str | None:
    """The remembered "sha256:<hex>" of `path`, if the file has not changed since."""
    try:
        data = json.loads(_cache_file(path).read_text())
        stamp = _stamp(path)
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("stamp") == stamp and isinstance(data.get("digest"), str):
        return str(data["digest"])
    return None


def remember_digest(path: Path, digest: str) -> None:
    cache = _cache_file(path)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"path": str(path), "stamp": _stamp(path), "digest": digest}))
    except OSError:
        pass  # only a speed-up; the next run hashes again


def sha256_file(path: Path, progress: Callable[[int], None], stop: threading.Event) -> str:
    """"sha256:<hex>" of the file; blocking, for a worker thread."""
    h = hashlib.sha256()
    done = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if stop.is_set():
                raise HashingCancelled("Hashing was cancelled.")
            h.update(chunk)
            done += len(chunk)
            progress(done)
    return f"sha256:{h.hexdigest()}"


async def file_digest(path: Path, meter: ProgressMeter, detail: str = "hashing", *,
                      base: int = 0, total: int | None = None) -> str:
    """The digest, from the cache or by hashing in a thread with progress; cancellable.

    `base` and `total` place this file inside a larger piece of work (several
    files verified in a row), so the progress runs once from 0 to 1.
    """
    cached = cached_digest(path)
    if cached is not None:
        return cached
    size = path.stat().st_size
    whole = total if total is not None else size
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def progress(done: int) -> None:
        at = base + done
        loop.call_soon_threadsafe(meter.update, at / whole if whole else 1.0, at, whole, detail)

    task = asyncio.ensure_future(asyncio.to_thread(sha256_file, path, progress, stop))
    try:
        digest = await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)  # the thread ends at its next chunk
        raise
    remember_digest(path, digest)
    return digest
