"""Facts for an Ollama model from its /api/show answer.

Ollama's `model_info` is the GGUF metadata of the model's blob, so it goes
through the same `build_facts` as a GGUF file. Ollama lists tensors only when
asked verbosely; without them the table is synthesised from the shape. Two
things the metadata may not say, the vocabulary size (qwen2/qwen3 GGUFs carry
no `<arch>.vocab_size`) and whether the output is tied to the embeddings, are
then taken from the vocabulary list if present, else from the catalog model
of the same shape, else solved from `general.parameter_count`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from core.errors import ModelFactsError
from core.facts import catalog
from core.facts.ggml_types import GGML_TYPES, tensor_bytes
from core.facts.gguf import build_facts
from core.facts.hf_config import convert_config
from core.facts.model_arch import (
    SYNTHESISED_ARCHS,
    Hparams,
    MetadataError,
    TensorOptions,
    derive_hparams,
    synthesise_tensors,
)
from core.facts.types import ModelFacts, TensorInfo

SYNTH_NOTICE = "Ollama did not list this model's tensors; they are derived from its shape."


def facts_from_show(name: str, show: Mapping[str, Any]) -> ModelFacts:
    info = show.get("model_info")
    if not isinstance(info, Mapping) or "general.architecture" not in info:
        raise ModelFactsError(f"Ollama did not describe {name}'s architecture (no model_info).",
                              hint="Update Ollama; old versions do not report it.")
    meta = {k: v for k, v in info.items() if v is not None}
    details = show.get("details")
    level = details.get("quantization_level") if isinstance(details, Mapping) else None
    file_type = str(level) if level else None
    listed = show.get("tensors")
    if isinstance(listed, list) and listed:
        tensors = [_listed_tensor(name, t) for t in listed]
        return build_facts(name=name, source="ollama", metadata=meta, tensors=tensors, file_type=file_type)
    try:
        hp = derive_hparams(meta)
    except MetadataError as exc:
        raise ModelFactsError(f"Ollama's description of {name} is incomplete: {exc}.") from None
    if hp.arch not in SYNTHESISED_ARCHS:
        raise ModelFactsError(
            f"Ollama did not list {name}'s tensors and llamadeck cannot derive them for {hp.arch!r}.",
            hint="Plan the model's GGUF file instead (Ollama keeps it under ~/.ollama/models/blobs).")
    synthesised, notes = _synthesise(name, hp, meta)
    return build_facts(name=name, source="ollama", metadata=meta, tensors=synthesised, file_type=file_type,
                       notices=notes)


def _listed_tensor(model: str, t: Any) -> TensorInfo:
    try:
        tname, ttype = str(t["name"]), str(t["type"]).upper()
        shape = tuple(int(d) for d in t["shape"])
        if ttype not in GGML_TYPES:
            raise ValueError(ttype)
        return TensorInfo(tname, shape, ttype, tensor_bytes(ttype, shape))
    except (KeyError, TypeError, ValueError):
        raise ModelFactsError(
            f"Ollama described a tensor of {model} in a form llamadeck does not read: {t!r}.") from None


def _catalog_twin(hp: Hparams) -> tuple[int, bool] | None:
    """(vocab, tied) of the catalog model with exactly this shape, if there is one."""
    key = (hp.arch, hp.n_layer, hp.n_embd, hp.n_head, hp.n_head_kv, hp.n_ff, hp.n_expert)
    for e in catalog.entries():
        conv = convert_config(e.config)
        other = derive_hparams(conv.metadata)
        if (other.arch, other.n_layer, other.n_embd, other.n_head, other.n_head_kv, other.n_ff,
                other.n_expert) == key and other.n_vocab is not None:
            return other.n_vocab, conv.options.tied_embeddings
    return None


def _synthesise(name: str, hp: Hparams, meta: Mapping[str, Any]) -> tuple[tuple[TensorInfo, ...], list[str]]:
    count = meta.get("general.parameter_count")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    notes = [SYNTH_NOTICE]
    tokens = meta.get("tokenizer.ggml.tokens")
    if hp.n_vocab is None and isinstance(tokens, list) and tokens:
        hp = dataclasses.replace(hp, n_vocab=len(tokens))
    twin = _catalog_twin(hp)
    if hp.n_vocab is None and twin is not None:
        hp = dataclasses.replace(hp, n_vocab=twin[0])
    rope_options = (False, True) if hp.arch == "llama" else (False,)
    candidates: list[tuple[int, tuple[int, ...], tuple[TensorInfo, ...]]] = []
    for tied in (False, True):
        for rope in rope_options:
            opts = TensorOptions(tied_embeddings=tied, rope_freqs=rope, base_type="F16")
            h = hp
            if h.n_vocab is None:
                if count is None:
                    continue
                body = sum(t.n_elements for t in synthesise_tensors(dataclasses.replace(hp, n_vocab=0), opts))
                per_token = hp.n_embd * (1 if tied else 2)
                rest = count - body
                if rest <= 0 or rest % per_token:
                    continue
                h = dataclasses.replace(hp, n_vocab=rest // per_token)
            assert h.n_vocab is not None
            tensors = synthesise_tensors(h, opts)
            miss = abs(sum(t.n_elements for t in tensors) - count) if count is not None else 0
            # When the count cannot decide: the catalog twin, then an untied output
            # with a vocabulary of the usual size (100k-300k), then untied.
            prior = (0 if twin is not None and tied == twin[1] else 1,
                     0 if 100_000 <= h.n_vocab <= 300_000 else 1, int(tied), int(rope))
            candidates.append((miss, prior, tensors))
    if not candidates:
        raise ModelFactsError(
            f"Ollama reported neither {name}'s vocabulary size nor a parameter count it can be derived from.",
            hint="Update Ollama, or plan the model's GGUF file instead.")
    candidates.sort(key=lambda c: (c[0], c[1]))
    best = candidates[0]
    if count is not None and best[0] != 0:
        notes.append(f"The derived tensors hold {best[0]:,} parameters more or fewer than Ollama reports.")
    return best[2], notes
