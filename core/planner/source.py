"""What a user typed as the model to plan, turned into ModelFacts: a file, a folder, the catalog or Ollama.

`llamadeck plan MODEL` and the planner screen accept the same text, in the
same order: a path that exists (or ends in .gguf), a catalog name, a Hugging
Face repo id, and only then a model on the Ollama server, since asking a
server costs a round trip and can hang on a dead host. `ollama:NAME` skips
straight to the server; the model browser's hand-off uses it, so the plan is
of the model the server really has, not of a catalog model of the same name.

A failure is one sentence naming every place that was looked in.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelFactsError, ModelNotFound, OllamaError, OllamaUnreachable
from core.facts import catalog
from core.facts.hf_hub import looks_like_repo_id
from core.facts.load import facts_from_ollama_show, load_facts
from core.facts.types import ModelFacts
from core.ollama.client import OllamaClient
from core.ollama.types import ShowInfo

OLLAMA_PREFIX = "ollama:"

OllamaOpener = Callable[[], OllamaClient]


@dataclass(frozen=True)
class PlannedModel:
    """A model ready to plan, with where it came from (the commands a plan prints depend on it).

    `path` is the GGUF file or checkpoint folder; `pipeline_source` what the
    conversion pipeline can start from to make another quantization of it
    (None for an Ollama model, which keeps no checkpoint to start from).
    """

    facts: ModelFacts
    spec: str
    kind: str  # one of KINDS
    path: str | None = None
    ollama_name: str | None = None
    ollama_url: str | None = None
    pipeline_source: str | None = None

    @property
    def label(self) -> str:
        """How the model is named on screen: the Ollama tag, the file, or the catalog/repo name."""
        if self.kind == "ollama" and self.ollama_name:
            return self.ollama_name
        if self.kind == "gguf" and self.path:
            return Path(self.path).name
        return self.facts.name


def ollama_name(spec: str) -> str | None:
    """The model name of an `ollama:NAME` spec, None for anything else."""
    text = spec.strip()
    if text.lower().startswith(OLLAMA_PREFIX):
        return text[len(OLLAMA_PREFIX):].strip()
    return None


def facts_from_show_info(show: ShowInfo) -> ModelFacts:
    """Facts from the client's /api/show answer (its model_info is the blob's GGUF metadata)."""
    details = {"quantization_level": show.details.quantization_level}
    raw = {"model_info": dict(show.model_info), "details": details}
    return facts_from_ollama_show(show.name, raw)


def load_local(spec: str) -> PlannedModel:
    """A path, catalog name or HF repo id, without asking any Ollama server. Blocking (file or Hub reads)."""
    text = spec.strip()
    if not text:
        raise ModelFactsError("No model given.", hint="Name a catalog model, a .gguf file, a Hugging Face "
                              "folder or repo id, or an Ollama model.")
    facts = load_facts(text)
    path = Path(text).expanduser()
    if facts.source == "gguf":
        return PlannedModel(facts, text, "gguf", path=str(path), pipeline_source=str(path))
    if facts.source == "hf" and path.is_dir():
        return PlannedModel(facts, text, "hf-dir", path=str(path), pipeline_source=str(path))
    if facts.source == "hf":
        return PlannedModel(facts, text, "hf-repo", pipeline_source=text)
    entry = catalog.find(text)
    return PlannedModel(facts, text, "catalog", pipeline_source=entry.hf_repo if entry else None)


def _local_only(text: str) -> bool:
    """True when the text can only mean a local thing or a Hub repo, never an Ollama model name."""
    path = Path(text).expanduser()
    return path.exists() or text.endswith(".gguf") or catalog.find(text) is not None \
        or looks_like_repo_id(text) or text.startswith(("/", "./", "../", "~"))


async def resolve_model(spec: str, ollama: OllamaOpener | None = None) -> PlannedModel:
    """The model `spec` names; asks Ollama (a client from `ollama`) only when nothing local matches."""
    text = spec.strip()
    forced = ollama_name(text)
    if forced is None:
        if _local_only(text) or ollama is None:
            return await asyncio.to_thread(load_local, text)
        name = text
    else:
        name = forced
        if not name:
            raise ModelFactsError("`ollama:` needs a model name after it, such as ollama:qwen3:8b.")
        if ollama is None:
            raise ModelFactsError(f"No Ollama server is configured to ask for {name}.")
    client = ollama()
    try:
        show = await client.show(name)
    except ModelNotFound as exc:
        if forced is not None:
            raise
        raise ModelFactsError(
            f"{name!r} is not a file, a folder or a catalog model, and Ollama at {client.url} "
            "has no model of that name.", hint=_did_you_mean(name)) from exc
    except OllamaUnreachable as exc:
        if forced is not None:
            raise
        raise ModelFactsError(
            f"{name!r} is not a file, a folder or a catalog model, and Ollama, asked next, "
            f"does not answer at {client.url}.", hint=_did_you_mean(name)) from exc
    except OllamaError:
        raise
    finally:
        await client.aclose()
    facts = await asyncio.to_thread(facts_from_show_info, show)
    return PlannedModel(facts, text, "ollama", ollama_name=name, ollama_url=client.url)


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), catalog.names(), n=3, cutoff=0.5)
    if close:
        return f"Did you mean {', '.join(close)}?"
    return "Give a .gguf path, a Hugging Face folder or repo id (org/name), a catalog name, " \
        "or a model the Ollama server has."
