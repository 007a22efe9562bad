"""The built-in offline catalog: the models people actually run, as shapes.

Each entry keeps its model's own config.json values (shipped in
core/facts/data/catalog.json), so the planner can answer "does DeepSeek-R1 32B fit?"
with nothing downloaded and the same tensor table a conversion would give.
Entries are found by id, display name, HF repo id or Ollama tag
(`deepseek-r1:32b`), case-insensitively.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from core.errors import ModelFactsError
from core.facts.gguf import facts_from_config
from core.facts.types import ModelFacts


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    family: str
    hf_repo: str
    aliases: tuple[str, ...]
    config: dict[str, Any]
    published_params: float
    published_active_params: float | None = None


@cache
def entries() -> tuple[CatalogEntry, ...]:
    """All entries, loaded once from the package data."""
    try:
        raw = resources.files("core.facts").joinpath("data/catalog.json").read_text(encoding="utf-8")
        doc = json.loads(raw)
        return tuple(
            CatalogEntry(
                id=m["id"], name=m["name"], family=m["family"], hf_repo=m["hf_repo"],
                aliases=tuple(m.get("aliases", ())), config=m["config"],
                published_params=float(m["published_params"]),
                published_active_params=(float(m["published_active_params"])
                                         if m.get("published_active_params") else None),
            )
            for m in doc["models"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFactsError(f"The built-in model catalog is damaged ({exc}).",
                              hint="Reinstall llamadeck.") from None


@cache
def _index() -> dict[str, CatalogEntry]:
    idx: dict[str, CatalogEntry] = {}
    for e in entries():
        for key in (e.id, e.name, e.hf_repo, *e.aliases):
            idx.setdefault(key.lower(), e)
    return idx


def find(name: str) -> CatalogEntry | None:
    """The entry for an id, display name, HF repo id or Ollama tag; None when unknown."""
    key = name.strip().lower()
    hit = _index().get(key)
    if hit is None and key.endswith(":latest"):
        hit = _index().get(key.removesuffix(":latest"))
    return hit


def names() -> list[str]:
    """Every name an entry answers to, for completion and "did you mean"."""
    return sorted(_index())


def facts(entry: CatalogEntry | str) -> ModelFacts:
    """Facts for a catalog entry, with the tensor table synthesised from its shape."""
    e = find(entry) if isinstance(entry, str) else entry
    if e is None:
        raise ModelFactsError(f"{entry!r} is not in the built-in catalog.")
    return facts_from_config(e.name, e.config, source="catalog")
