"""A repo's .gguf files as a user picks them: split parts grouped, each with the quant its name says.

Hub repos name their files `Model-Q4_K_M.gguf`, `Model.Q8_0.gguf`,
`Q4_K_M/Model-Q4_K_M-00001-of-00002.gguf` (a folder per quant),
`Model-UD-Q4_K_XL.gguf` (Unsloth's dynamic quants) and `mmproj-Model-f16.gguf`
(a vision projector, not a model). The name is what a user recognises and
what `ollama pull hf.co/{repo}:{QUANT}` takes; the header's
`general.file_type` is what the planner uses, and they can differ (a UD
quant's header says Q4_K_M).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.discover.types import GgufGroup, RemoteFile
from core.facts.gguf_split import SPLIT_RE

# Longest first where one is a prefix of another (MXFP4_MOE before MXFP4, IQ4_XS before IQ4).
QUANT_RE = re.compile(
    r"(?<![A-Za-z0-9])((?:UD-)?(?:I?Q\d(?:_[0-9A-Z]{1,3}){0,3}|TQ\d_\d|BF16|F16|FP16|F32|FP32|MXFP4(?:_MOE)?))"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_NOT_MODELS = {"mmproj": re.compile(r"(?:^|[-_.])mmproj(?:[-_.]|$)", re.IGNORECASE),
               "imatrix": re.compile(r"(?:^|[-_.])imatrix(?:[-_.]|$)", re.IGNORECASE)}


def quant_from_name(path: str) -> str | None:
    """The quant a file's name (or, failing that, its folder's) says, upper-case: Q4_K_M, UD-IQ1_S, BF16."""
    stem = path.rsplit("/", 1)[-1]
    m = SPLIT_RE.match(stem)
    stem = m["prefix"] if m else stem.removesuffix(".gguf")
    for text in (stem, *reversed(path.split("/")[:-1])):
        found = QUANT_RE.findall(text)
        if found:
            quant = str(found[-1]).upper()
            return {"FP16": "F16", "FP32": "F32"}.get(quant, quant)
    return None


def kind_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return next((kind for kind, pattern in _NOT_MODELS.items() if pattern.search(name)), "model")


def group_files(files: Iterable[RemoteFile]) -> tuple[GgufGroup, ...]:
    """The .gguf files as groups: split parts together (first part first), models before the rest.

    A split part whose siblings are missing still makes a group, with
    `missing` naming what the `-0000i-of-0000N` naming promises.
    """
    singles: list[GgufGroup] = []
    splits: dict[tuple[str, int], dict[int, RemoteFile]] = {}
    for f in files:
        if not f.path.endswith(".gguf"):
            continue
        m = SPLIT_RE.match(f.name)
        if m is None or int(m["count"]) < 1:
            singles.append(GgufGroup(f.name, quant_from_name(f.path), (f,), kind_of(f.path)))
            continue
        folder = f.path[: len(f.path) - len(f.name)]
        splits.setdefault((folder + m["prefix"], int(m["count"])), {})[int(m["no"])] = f
    groups = singles + [_split_group(prefix, count, parts) for (prefix, count), parts in splits.items()]
    return tuple(sorted(groups, key=lambda g: (not g.is_model, g.size, g.name)))


def _split_group(prefix: str, count: int, parts: dict[int, RemoteFile]) -> GgufGroup:
    ordered = tuple(parts[i] for i in sorted(parts))
    base = prefix.rsplit("/", 1)[-1]
    missing = tuple(f"{base}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1) if i not in parts)
    first = ordered[0]
    return GgufGroup(f"{base}-*-of-{count:05d}.gguf", quant_from_name(first.path), ordered,
                     kind_of(first.path), missing)
