"""What a job's SOURCE argument names: a local GGUF, a checkpoint folder, or a Hub repo id.

A path that exists always wins over the repo-id reading, so `./Qwen/Qwen2.5-7B`
on disk is never fetched again. A folder of GGUF files (what `huggingface-cli
download` of a "-GGUF" repo leaves) is not guessed at: the user picks a file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from core.errors import ModelFactsError, PipelineError
from core.facts.gguf import facts_from_gguf, facts_from_hf_dir
from core.facts.gguf_split import SPLIT_RE, present_split_parts
from core.facts.types import ModelFacts
from core.pipeline.types import ModelSource

# owner/name as the Hub allows them (letters, digits, "-", "_", "."; no "--" or ".." runs).
_REPO_ID = re.compile(r"^(?P<owner>[A-Za-z0-9][\w.\-]{0,95})/(?P<name>[A-Za-z0-9][\w.\-]{0,95})$")
# A quant or float suffix already in a GGUF's name: "-Q4_K_M", ".f16", "-BF16".
_QUANT_SUFFIX = re.compile(r"[-._](?:I?Q\d\w*|[FB]F?16|F32|BF16)$", re.IGNORECASE)


def resolve_source(text: str, *, revision: str | None = None) -> ModelSource:
    """Classify SOURCE; raises PipelineError with a sentence when it is none of the three."""
    raw = text.strip()
    if not raw:
        raise PipelineError("No source given: name a .gguf file, a Hugging Face folder, or a repo id.")
    path = Path(raw).expanduser()
    if path.is_file():
        return _gguf_source(path)
    if path.is_dir():
        return _dir_source(path)
    m = _REPO_ID.match(raw)
    if m is not None and ".." not in raw and "--" not in raw and not raw.startswith(("./", "/", "~")):
        return ModelSource(kind="hf-repo", name=m["name"], repo_id=raw, revision=revision)
    raise PipelineError(
        f"{raw} is neither a file, a folder, nor a Hugging Face repo id (owner/name).",
        hint="Check the path, or write the repo as it appears on the Hub, e.g. Qwen/Qwen2.5-7B-Instruct.",
    )


def _gguf_source(path: Path) -> ModelSource:
    if path.suffix.lower() != ".gguf":
        raise PipelineError(
            f"{path.name} is a file but not a .gguf; point at a GGUF file or at the folder that "
            "holds config.json and the safetensors."
        )
    parts = present_split_parts(path, PipelineError)
    if parts is not None:
        m = SPLIT_RE.match(parts[0].name)
        stem = m["prefix"] if m is not None else parts[0].stem
        return ModelSource(kind="gguf", name=model_name(stem), path=parts[0], parts=tuple(parts))
    return ModelSource(kind="gguf", name=model_name(path.stem), path=path, parts=(path,))


def _dir_source(path: Path) -> ModelSource:
    if (path / "config.json").is_file():
        return ModelSource(kind="hf-dir", name=checkpoint_name(path), path=path)
    ggufs = sorted(p.name for p in path.glob("*.gguf"))
    if ggufs:
        listed = ", ".join(ggufs[:5]) + (" ..." if len(ggufs) > 5 else "")
        raise PipelineError(
            f"{path} holds GGUF files, not a checkpoint: pass one of them ({listed}).",
        )
    raise PipelineError(
        f"{path} has no config.json, so it is not a Hugging Face checkpoint folder.",
        hint="Point at the folder that holds config.json and the *.safetensors files.",
    )


def model_name(stem: str) -> str:
    """A model's name without the quant suffix its file name may carry."""
    name = stem
    while True:
        trimmed = _QUANT_SUFFIX.sub("", name)
        if trimmed == name or not trimmed:
            return name
        name = trimmed


# Folder names that say nothing about the model: two jobs from two `hf` folders must not look the same.
_GENERIC = re.compile(r"^(hf|hf[-_]model|model|models|checkpoints?(-\d+)?|original|main|weights|output|out|"
                      r"final|merged|export(ed)?|safetensors|transformers|huggingface|snapshots?)$", re.I)


def checkpoint_name(path: Path) -> str:
    """The model's name for a checkpoint folder: a Hub cache snapshot's repo, the folder's own name,
    or, for a folder named `hf` or `model`, config.json's `_name_or_path`, else the nearest telling parent."""
    resolved = path.resolve()
    cache_repo = resolved.parent.parent.name
    if resolved.parent.name == "snapshots" and cache_repo.startswith("models--"):
        return cache_repo.split("--")[-1]
    if not _GENERIC.match(resolved.name):
        return resolved.name
    try:
        named = json.loads((resolved / "config.json").read_text(encoding="utf-8")).get("_name_or_path")
    except (OSError, ValueError, AttributeError):
        named = None
    tail = named.rstrip("/").rsplit("/", 1)[-1] if isinstance(named, str) else ""
    if tail and not _GENERIC.match(tail):
        return tail
    return next((p.name for p in resolved.parents if p.name and not _GENERIC.match(p.name)), resolved.name)


def local_facts(source: ModelSource) -> tuple[ModelFacts | None, str | None]:
    """Facts of a local source, cheaply (headers only); None when they cannot be read yet.

    A broken checkpoint is not an error here: pre-flight reports it properly.
    """
    path = source.path
    try:
        if source.kind == "gguf" and path is not None:
            facts = facts_from_gguf(path)
            return facts, facts.file_type
        if source.kind == "hf-dir" and path is not None:
            return facts_from_hf_dir(path), None
    except ModelFactsError:
        return None, None
    return None, None
