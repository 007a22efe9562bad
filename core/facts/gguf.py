"""What a model *is*: one ModelFacts from a GGUF, an HF checkpoint or repo, Ollama, or the catalog.

Every source is first brought to the same form, GGUF metadata plus a tensor
table in GGUF names and ggml shapes, and `build_facts` alone turns that into
ModelFacts. So a model read from its GGUF, from the HF checkpoint it was
converted from, from Ollama or from the catalog gets the same layers, heads,
sliding-window layers and parameter count, and the planner cannot tell the
sources apart except by what they could not know (noted in `notices`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.errors import ModelFactsError
from core.facts.ggml_types import file_type_name
from core.facts.gguf_header import ArrayInfo, GGUFHeader
from core.facts.gguf_split import read_model_headers
from core.facts.hf_checkpoint import HfCheckpoint, map_tensors, read_local
from core.facts.hf_config import ConfigError, convert_config
from core.facts.model_arch import KNOWN_ARCHS, Hparams, MetadataError, derive_hparams, synthesise_tensors
from core.facts.types import ModelFacts, TensorInfo

GENERIC_NOTICE = "Architecture {arch!r} is not one llamadeck knows; it is planned with generic rules."
_KEEP_PREFIXES = ("general.", "tokenizer.ggml.model", "tokenizer.ggml.pre", "split.")
_MAX_META_STR = 200


def build_facts(
    *,
    name: str,
    source: str,
    metadata: Mapping[str, Any],
    tensors: Sequence[TensorInfo],
    file_size: int | None = None,
    file_type: str | None = None,
    chat_template: str | None = None,
    known: bool | None = None,
    notices: Sequence[str] = (),
) -> ModelFacts:
    """The one place ModelFacts are made, whatever the source."""
    by_name = {t.name: t for t in tensors}
    embd = by_name.get("token_embd.weight")
    hp = _hparams(name, metadata, tensors, embd)
    assert hp.context_length is not None  # _hparams says so otherwise
    out_notices = list(notices)
    is_known = (hp.arch in KNOWN_ARCHS) if known is None else known
    if not is_known and not any("generic rules" in n for n in out_notices):
        out_notices.append(GENERIC_NOTICE.format(arch=hp.arch))
    n_params = sum(t.n_elements for t in tensors)
    active = _active_params(hp, tensors, n_params)
    template = metadata.get("tokenizer.chat_template")
    if not isinstance(template, str):
        template = chat_template
    return ModelFacts(
        name=name,
        source=source,
        architecture=hp.arch,
        n_params=n_params,
        n_layers=hp.n_layer,
        n_embd=hp.n_embd,
        n_head=hp.n_head[0],
        head_count_kv=hp.n_head_kv[:hp.n_layer],
        head_dim_k=hp.head_dim_k,
        head_dim_v=hp.head_dim_v,
        context_length=hp.context_length,
        vocab_size=hp.n_vocab or 0,
        n_params_active=active,
        n_ff=hp.n_ff[0] or None,
        n_expert=hp.n_expert,
        n_expert_used=hp.n_expert_used,
        sliding_window=hp.sliding_window,
        swa_layers=hp.swa_layers,
        tied_embeddings=embd is not None and "output.weight" not in by_name,
        tensors=tuple(tensors),
        file_type=_file_type(file_type, metadata, tensors),
        file_size=file_size,
        chat_template=template,
        kv_lora_rank=hp.kv_lora_rank or None,
        rope_dim=hp.rope_dim if hp.kv_lora_rank else None,
        known_architecture=is_known,
        notices=tuple(out_notices),
        metadata=_selected_metadata(metadata),
    )


def _hparams(name: str, metadata: Mapping[str, Any], tensors: Sequence[TensorInfo],
             embd: TensorInfo | None) -> Hparams:
    """The hyperparameters, or a sentence saying why llama.cpp could not load this model."""
    tokens = metadata.get("tokenizer.ggml.tokens")
    vocab_hint = embd.shape[1] if embd is not None and len(embd.shape) > 1 else (
        tokens.length if isinstance(tokens, ArrayInfo) else len(tokens) if isinstance(tokens, list) else None)
    try:
        hp = derive_hparams(metadata, vocab_hint)
    except MetadataError as exc:
        raise ModelFactsError(f"{name} does not describe a model llama.cpp can load: {exc}.") from None
    if hp.context_length is None:
        raise ModelFactsError(f"{name} does not say its context length ({hp.arch}.context_length).")
    if not tensors:
        raise ModelFactsError(f"{name} has no tensors.")
    return hp


def _file_type(given: str | None, metadata: Mapping[str, Any], tensors: Sequence[TensorInfo]) -> str | None:
    """The caller's, else the header's `general.file_type`, else the type most weights have."""
    ft = given
    if ft is None and isinstance(metadata.get("general.file_type"), int):
        ft = file_type_name(metadata["general.file_type"])
    return ft if ft is not None else _dominant_type(tensors)


def _active_params(hp: Hparams, tensors: Sequence[TensorInfo], total: int) -> int | None:
    """MoE: parameters read per token (shared weights plus n_expert_used of n_expert)."""
    if hp.n_expert <= 1 or hp.n_expert_used <= 0:
        return None
    experts = sum(t.n_elements for t in tensors if "_exps." in t.name)
    return total - experts + experts * hp.n_expert_used // hp.n_expert


def _dominant_type(tensors: Sequence[TensorInfo]) -> str | None:
    """The type most weight bytes are stored in, when the file does not say."""
    weight: dict[str, int] = {}
    for t in tensors:
        if len(t.shape) > 1:
            weight[t.ggml_type] = weight.get(t.ggml_type, 0) + t.n_bytes
    return max(weight, key=weight.__getitem__) if weight else None


def _selected_metadata(meta: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Scalars worth showing (names, licence, rope, tokenizer kind); never the big arrays."""
    arch = meta.get("general.architecture")
    keep: list[tuple[str, Any]] = []
    for k, v in meta.items():
        if not (k.startswith(_KEEP_PREFIXES) or (isinstance(arch, str) and k.startswith(arch + "."))):
            continue
        if isinstance(v, (list, ArrayInfo)):
            continue
        if isinstance(v, str) and len(v) > _MAX_META_STR:
            v = v[:_MAX_META_STR] + "…"
        keep.append((k, v))
    return tuple(keep)


# --------------------------------------------------------------------------- GGUF


def facts_from_gguf(path: str | Path) -> ModelFacts:
    """Facts from a GGUF file (any part of a split model); reads headers only."""
    p = Path(path).expanduser()
    return facts_from_headers(read_model_headers(p), p.name)


def facts_from_headers(headers: Sequence[GGUFHeader], file_name: str) -> ModelFacts:
    """Facts from the headers of a model's parts, first part first (a local file's or a remote one's).

    The one place both go through, so a model read over HTTP plans exactly as
    the same file on disk does.
    """
    first = headers[0]
    tensors = [t for h in headers for t in h.tensors]
    name = first.metadata.get("general.name")
    display = name if isinstance(name, str) and name else file_name
    return build_facts(
        name=display,
        source="gguf",
        metadata=first.metadata,
        tensors=tensors,
        file_size=sum(h.file_size for h in headers),
    )


# --------------------------------------------------------------------------- Hugging Face


def facts_from_hf_checkpoint(ckpt: HfCheckpoint) -> ModelFacts:
    """Facts from an HF checkpoint's config and safetensors headers, as the converter will see them."""
    try:
        conv = convert_config(ckpt.config)
        hp = derive_hparams(conv.metadata)
    except (ConfigError, MetadataError) as exc:
        raise ModelFactsError(f"{ckpt.name}: {exc}, so its shape is unknown.",
                              hint="The config.json may be incomplete; download it again.") from None
    notices = list(conv.notices)
    quantised = [t.name for t in ckpt.tensors if t.name.endswith((".qweight", ".qzeros", ".scales"))]
    if quantised:
        raise ModelFactsError(
            f"{ckpt.name} is a GPTQ/AWQ-quantised checkpoint, which llama.cpp cannot convert.",
            hint="Use the original (bf16/fp16) repository of this model.")
    if any(t.dtype.startswith("F8") for t in ckpt.tensors):
        notices.append("The checkpoint stores FP8 weights; the converter writes them as BF16.")
    mapped = map_tensors(
        conv.architecture, {**ckpt.config, **_text(ckpt.config)}, ckpt.tensors,
        n_layer=hp.n_layer, tied=conv.options.tied_embeddings,
        rope_freqs_dim=hp.rope_dim // 2 if conv.options.rope_freqs else None,
    )
    if mapped.unmapped:
        shown = ", ".join(mapped.unmapped[:3])
        notices.append(f"{len(mapped.unmapped)} tensors have no llama.cpp name here ({shown}"
                       f"{', ...' if len(mapped.unmapped) > 3 else ''}); they are left out of the plan.")
    return build_facts(
        name=ckpt.name,
        source="hf",
        metadata=conv.metadata,
        tensors=mapped.tensors,
        file_size=ckpt.total_bytes,
        file_type=conv.options.base_type,
        chat_template=ckpt.chat_template,
        known=conv.known,
        notices=notices,
    )


def _text(config: Mapping[str, Any]) -> dict[str, Any]:
    inner = config.get("text_config")
    return dict(inner) if isinstance(inner, Mapping) else {}


def facts_from_hf_dir(path: str | Path) -> ModelFacts:
    """Facts from a local HF checkpoint folder (config.json + safetensors headers)."""
    return facts_from_hf_checkpoint(read_local(Path(path).expanduser()))


# --------------------------------------------------------------------------- synthesised


def facts_from_config(name: str, config: Mapping[str, Any], *, source: str,
                      notices: Sequence[str] = ()) -> ModelFacts:
    """Facts from config.json values alone (catalog entries): the tensor table is synthesised."""
    try:
        conv = convert_config(config)
        hp = derive_hparams(conv.metadata)
        tensors = synthesise_tensors(hp, conv.options)
    except (ConfigError, MetadataError) as exc:
        raise ModelFactsError(f"{name}: {exc}.") from None
    return build_facts(name=name, source=source, metadata=conv.metadata, tensors=tensors,
                       file_type=conv.options.base_type, known=conv.known,
                       notices=[*conv.notices, *notices])
