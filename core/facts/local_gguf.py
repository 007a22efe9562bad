"""The GGUF files on this machine: the folders in `paths.gguf_dirs` and the Hugging Face cache.

A model split by llama-gguf-split (`name-00001-of-00003.gguf`) is one entry
whose `parts` are all its files, so listing, planning and deleting treat it
as the one model it is. Each entry carries the facts its header states
(architecture, parameters, quant, context), read from the headers only; a
file whose header cannot be read is still listed, with the sentence why.

Walking folders and reading headers is blocking I/O: callers run
`find_gguf_files` in a thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import LlamadeckError
from core.facts.gguf import facts_from_gguf
from core.facts.gguf_split import split_parts

HF_CACHE = "Hugging Face cache"
MAX_FILES = 5000  # a folder of many thousand GGUFs is listed in part rather than stalling the scan
MAX_DEPTH = 6  # the Hugging Face cache's files sit 3 folders down (models--org--name/snapshots/<rev>)


@dataclass(frozen=True)
class LocalGguf:
    """One model on disk: a single .gguf, or every part of a split one (`path` is the first part)."""

    path: Path
    parts: tuple[Path, ...]
    size: int  # bytes of the parts present
    modified: float  # the newest part's mtime
    where: str  # the gguf_dirs folder it was found in, or HF_CACHE
    name: str | None = None  # general.name
    architecture: str | None = None
    n_params: int | None = None
    file_type: str | None = None  # the quant: "Q4_K_M", "F16"
    context_length: int | None = None
    problem: str | None = None  # why the header could not be read (a missing part, a cut-short file)

    @property
    def label(self) -> str:
        """The file name; a split model's first part with the number of parts."""
        if len(self.parts) > 1:
            return f"{self.path.name} (+{len(self.parts) - 1} parts)"
        return self.path.name

    @property
    def in_hf_cache(self) -> bool:
        return self.where == HF_CACHE

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "parts": [str(p) for p in self.parts], "size": self.size,
                "modified": self.modified, "where": self.where, "name": self.name,
                "architecture": self.architecture, "n_params": self.n_params, "file_type": self.file_type,
                "context_length": self.context_length, "problem": self.problem}


def _walk(root: Path) -> Iterator[Path]:
    """The .gguf files under `root` (links to files included, as the HF cache's snapshots are)."""
    base_depth = len(root.parts)
    for folder, dirs, files in os.walk(root, onerror=lambda e: None):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "blobs"
                         and len(here.parts) - base_depth < MAX_DEPTH)
        for name in sorted(files):
            if name.lower().endswith(".gguf") and not name.startswith("."):
                yield here / name


def _roots(dirs: Sequence[Path], hf_cache: Path | None) -> list[tuple[Path, str]]:
    roots = [(d.expanduser(), str(d)) for d in dirs]
    if hf_cache is not None:
        roots.append((hf_cache.expanduser(), HF_CACHE))
    return [(r, where) for r, where in roots if r.is_dir()]


def _group(found: Iterable[tuple[Path, str]]) -> dict[Path, tuple[list[Path], str]]:
    """First part (or the file) -> (the parts declared by the names, where found); each real file once."""
    groups: dict[Path, tuple[list[Path], str]] = {}
    seen: set[Path] = set()
    for path, where in found:
        real = path.resolve()
        if real in seen:
            continue
        seen.add(real)
        parts = split_parts(path) or [path]
        groups.setdefault(parts[0], (parts, where))
        if len(seen) >= MAX_FILES:
            break
    return groups


def _entry(first: Path, parts: list[Path], where: str) -> LocalGguf:
    present = [p for p in parts if p.exists()]
    stats = [p.stat() for p in present]
    base = LocalGguf(path=first, parts=tuple(parts), size=sum(s.st_size for s in stats),
                     modified=max((s.st_mtime for s in stats), default=0.0), where=where)
    try:
        facts = facts_from_gguf(first)
    except (LlamadeckError, OSError) as exc:
        return replace(base, problem=str(exc))
    return replace(base, name=facts.name, architecture=facts.architecture, n_params=facts.n_params,
                   file_type=facts.file_type, context_length=facts.context_length)


def find_gguf_files(dirs: Sequence[Path], hf_cache: Path | None = None) -> list[LocalGguf]:
    """Every GGUF model under `dirs` and the HF cache, newest first, split parts grouped."""
    found = ((path, where) for root, where in _roots(dirs, hf_cache) for path in _walk(root))
    entries = [_entry(first, parts, where) for first, (parts, where) in _group(found).items()]
    return sorted(entries, key=lambda e: (-e.modified, e.path.name))


def delete_gguf(entry: LocalGguf) -> int:
    """Remove every part of `entry` from disk; returns the bytes freed.

    In the Hugging Face cache a file is a link into `blobs/`: the link and
    the blob it points to both go, as `huggingface-cli delete-cache` would.
    """
    freed = 0
    for part in entry.parts:
        if part.is_symlink():
            target = part.resolve()
            part.unlink()
            if target.is_file():
                freed += target.stat().st_size
                target.unlink()
        elif part.is_file():
            freed += part.stat().st_size
            part.unlink()
    return freed
