"""What a user typed -> ModelFacts: a GGUF path, an HF folder or repo id, a catalog name, Ollama.

The readers themselves live beside this module (`gguf`, `hf_hub`, `ollama`,
`catalog`); this one only decides which of them a piece of text means, so
that none of them has to know about the others.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import ModelFactsError
from core.facts import catalog
from core.facts.gguf import facts_from_gguf, facts_from_hf_checkpoint, facts_from_hf_dir
from core.facts.hf_hub import looks_like_repo_id, read_repo
from core.facts.ollama import facts_from_show
from core.facts.types import ModelFacts


def facts_from_hf_repo(repo_id: str, *, revision: str | None = None) -> ModelFacts:
    """Facts from a Hub repo id; fetches config.json and safetensors headers, never weights."""
    return facts_from_hf_checkpoint(read_repo(repo_id, revision=revision))


def facts_from_ollama_show(name: str, show: Mapping[str, Any]) -> ModelFacts:
    """Facts from an Ollama /api/show answer (see core.facts.ollama)."""
    return facts_from_show(name, show)


def load_facts(spec: str) -> ModelFacts:
    """Facts for what a user typed: a GGUF path, an HF folder, a catalog name or an HF repo id.

    Ollama models need the server; the caller fetches /api/show and uses
    facts_from_ollama_show.
    """
    text = spec.strip()
    path = Path(text).expanduser()
    if path.is_file() or text.endswith(".gguf"):
        return facts_from_gguf(path)
    if path.is_dir():
        if (path / "config.json").exists():
            return facts_from_hf_dir(path)
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        if ggufs:
            raise ModelFactsError(f"{path} is a folder of GGUF files; pick one: {', '.join(ggufs[:5])}.")
        raise ModelFactsError(f"{path} has neither config.json nor .gguf files.")
    entry = catalog.find(text)
    if entry is not None:
        return catalog.facts(entry)
    if looks_like_repo_id(text):
        return facts_from_hf_repo(text)
    close = difflib.get_close_matches(text.lower(), catalog.names(), n=3, cutoff=0.5)
    hint = f"Did you mean {', '.join(close)}?" if close else \
        "Give a .gguf path, a Hugging Face folder or repo id (org/name), or a catalog name."
    raise ModelFactsError(f"{text!r} is not a file, a folder, a catalog model or a Hugging Face repo id.",
                          hint=hint)
