"""A model split over several GGUF files (`name-00001-of-00003.gguf`, llama-gguf-split's naming).

llama.cpp loads every part when given the first; a missing or foreign part
fails there late and vaguely, so llamadeck finds the parts by name and checks
them against what the first part's header promises (`split.count`,
`split.tensors.count`) before anything runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

from core.errors import LlamadeckError, ModelFactsError
from core.facts.gguf_header import GGUFHeader, read_header

SPLIT_RE = re.compile(r"^(?P<prefix>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


def split_parts(path: Path) -> list[Path] | None:
    """All part paths of a split GGUF (`name-00001-of-00003.gguf`), or None for a single file."""
    m = SPLIT_RE.match(path.name)
    if m is None:
        return None
    count = int(m["count"])
    if count < 1:
        return None
    return [path.with_name(f"{m['prefix']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


PartsError = TypeVar("PartsError", bound=LlamadeckError)


def present_split_parts(path: Path, error: type[PartsError]) -> list[Path] | None:
    """All part paths of the split GGUF `path` belongs to, or None for a single file.

    A missing part is named in `error` (the planner's or a job's), since
    llama.cpp would only fail later with a less helpful message.
    """
    parts = split_parts(path)
    if parts is None:
        return None
    missing = [p.name for p in parts if not p.exists()]
    if missing:
        raise error(
            f"{parts[0].name} is split into {len(parts)} files and "
            f"{len(missing)} {'is' if len(missing) == 1 else 'are'} missing: {', '.join(missing)}.",
            hint=f"Download the missing part{'s' if len(missing) > 1 else ''} into {path.parent}.",
        )
    return parts


def read_model_headers(path: Path) -> list[GGUFHeader]:
    """Every part of the model `path` belongs to, first part first."""
    parts = present_split_parts(path, ModelFactsError)
    if parts is None:
        return [read_header(path)]
    headers = [read_header(p) for p in parts]
    check_split_headers(headers, parts[0].name)
    return headers


def check_split_headers(headers: list[GGUFHeader], first_name: str) -> None:
    """The parts agree with what the first part's header promises (local files or remote ones)."""
    first = headers[0].metadata
    declared = first.get("split.count")
    if declared is not None and declared != len(headers):
        raise ModelFactsError(
            f"{first_name} says the model has {declared} parts, but its name says {len(headers)}.",
            hint="The files were renamed or mixed from two downloads.",
        )
    total = first.get("split.tensors.count")
    have = sum(len(h.tensors) for h in headers)
    if isinstance(total, int) and total != have:
        raise ModelFactsError(
            f"The parts of {first_name} hold {have} tensors, but the first part promises {total}.",
            hint="A part is from another download or was cut short; fetch the parts again.",
        )
