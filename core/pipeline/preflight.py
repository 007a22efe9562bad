"""Checks that run before anything heavy, so a job fails in seconds, not after an hour.

What users hit, in the order it used to bite them: a shard missing from a
download, a disk that fills up halfway (the f16 GGUF is huge and Ollama copies
the result once more into its blob store), a converter Python without torch,
`llama-quantize` that cannot find `libllama.so`, and an architecture the
converter does not know. Each check returns a PreflightCheck with a sentence
that says what to do; none of them raises for a finding. This module has the
checks on files and disks; those of the llama.cpp tools are in
`core.pipeline.tools`, and `core.pipeline.checks` picks what a job needs.

All checks are synchronous (a few file reads, and in `tools` two sub-second
subprocess probes); the pipeline runs them in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelFactsError
from core.facts.hf_checkpoint import safetensors_header, shard_files
from core.hardware.disks import disk_info
from core.pipeline.types import DiskNeed, PreflightCheck
from core.units import format_bytes_tenths, format_parts


def ok(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "ok", message)


def warn(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "warn", message)


def fail(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "fail", message)


def skip(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "skip", message)


# --------------------------------------------------------------------------- checkpoint


def check_shards(folder: Path) -> PreflightCheck:
    """Every weight file the index names is there, and none is cut short."""
    try:
        files = shard_files(folder)
    except ModelFactsError as exc:
        return fail("shards", str(exc))
    short: list[str] = []
    for name in files:
        path = folder / name
        try:
            header = safetensors_header(path)
            with path.open("rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
        except (ModelFactsError, OSError) as exc:
            short.append(f"{name} ({exc})")
            continue
        end = max((int(v["data_offsets"][1]) for k, v in header.items()
                   if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v), default=0)
        want, have = 8 + n + end, path.stat().st_size
        if have != want:
            short.append(f"{name} ({format_bytes_tenths(have)} of {format_bytes_tenths(want)})")
    if short:
        return fail("shards", f"{len(short)} weight file{'s are' if len(short) > 1 else ' is'} incomplete: "
                              f"{', '.join(short)}. Download {'them' if len(short) > 1 else 'it'} again.")
    if len(files) == 1:
        return ok("shards", f"The weight file {files[0]} is present and complete.")
    return ok("shards", f"All {len(files)} weight files are present and complete.")


# --------------------------------------------------------------------------- output folder


def check_out_dir(folder: Path) -> PreflightCheck:
    """The output folder is a folder (or can be made as one) that this user may write to."""
    for candidate in (folder, *folder.parents):
        if not os.path.lexists(candidate):
            continue
        if not candidate.is_dir():
            what = "the output folder" if candidate == folder else f"a folder above it ({candidate})"
            return fail("output", f"{folder} cannot be the output folder: {what} is a file. Choose another "
                                  "--out folder.")
        if not os.access(candidate, os.W_OK | os.X_OK):
            return fail("output", f"{candidate} is not writable by you, so {folder} cannot be written to. "
                                  "Choose another --out folder.")
        made = "" if candidate == folder else " (it will be made)"
        return ok("output", f"Outputs go to {folder}{made}.")
    return fail("output", f"{folder} is not on any filesystem here. Choose another --out folder.")


# --------------------------------------------------------------------------- disk


# The order stages write in; a file removed after a stage is gone from the next one on.
STAGE_ORDER = ("download", "convert", "quantize", "import")


@dataclass(frozen=True)
class DiskWrite:
    """One file a job writes: what it is, the folder, its bytes, the stage that writes it, and the
    stage after which the job deletes it again (the converter's output, when not kept)."""

    what: str
    folder: Path
    size: int
    stage: str
    removed_after: str | None = None


def disk_margin(data: int) -> int:
    """Room on top of the data: block rounding and the tools' logs (1 MiB), and 1 % for the estimates."""
    return (1 << 20) + data // 100


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.exists(candidate):
            return candidate
    return Path("/")


def _peak(items: Sequence[DiskWrite]) -> tuple[int, list[DiskWrite]]:
    """The most bytes present at once on one filesystem, and the files present then."""
    best: tuple[int, list[DiskWrite]] = (0, [])
    for at in range(len(STAGE_ORDER)):
        present = [w for w in items if STAGE_ORDER.index(w.stage) <= at
                   and (w.removed_after is None or STAGE_ORDER.index(w.removed_after) >= at)]
        total = sum(w.size for w in present)
        if total > best[0]:
            best = (total, present)
    return best


def disk_needs(writes: Sequence[DiskWrite]) -> tuple[DiskNeed, ...]:
    """Group the writes by the filesystem they land on and find each one's peak.

    A file the job deletes (the converter's output, after quantizing) no longer counts
    once it is gone, so the peak is the largest set of files present at one time, plus
    the margin; `parts` lists them so the check can show a sum that adds up.
    """
    groups: dict[int, list[DiskWrite]] = {}
    for w in writes:
        try:
            dev = os.stat(_existing(w.folder)).st_dev
        except OSError:
            dev = -len(groups) - 1
        groups.setdefault(dev, []).append(w)
    needs = []
    for items in groups.values():
        folder = items[0].folder
        info, _ = disk_info(items[0].what, folder)
        data, present = _peak(items)
        parts = (*((w.what, w.size) for w in present), ("margin", disk_margin(data)))
        total = sum(size for _, size in parts)
        removed = tuple(w.what for w in items if w.removed_after is not None and w not in present)
        note = f"{' and '.join(removed)} deleted before the peak" if removed else ""
        needs.append(DiskNeed(str(folder), info.mount, total, info.free, format_parts(parts, total),
                              parts, note))
    return tuple(needs)


def check_disk(needs: Sequence[DiskNeed]) -> list[PreflightCheck]:
    checks = []
    for need in needs:
        what = " + ".join(need.what) + f" = {format_bytes_tenths(need.need)}"
        if need.note:
            what += f"; {need.note}"
        if need.free is None:
            checks.append(warn("disk", f"Free space on {need.path} is unknown; the job needs "
                                       f"{format_bytes_tenths(need.need)} there ({what})."))
        elif not need.enough:
            checks.append(fail("disk", f"Not enough disk: need {format_bytes_tenths(need.need)} on "
                                       f"{need.path}, have {format_bytes_tenths(need.free)} ({what}). Free "
                                       "space or choose another --out folder."))
        else:
            checks.append(ok("disk", f"Need {format_bytes_tenths(need.need)} on {need.path}, have "
                                     f"{format_bytes_tenths(need.free)} ({what})."))
    return checks
