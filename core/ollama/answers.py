"""Ollama's answers as llamadeck's types: what the official client returns, as frozen dataclasses.

The client's pydantic models leave fields empty, None or missing depending on
the server's version; these functions turn them into `core.ollama.types` with
None wherever the server said nothing, so nothing above the client has to ask
which Ollama it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.ollama.package import ollama
from core.ollama.types import ModelDetails, ShowInfo


def model_details(raw: Any) -> ModelDetails:
    if raw is None:
        return ModelDetails()
    return ModelDetails(
        format=raw.format or None, family=raw.family or None, families=tuple(raw.families or ()),
        parameter_size=raw.parameter_size or None, quantization_level=raw.quantization_level or None,
        parent_model=raw.parent_model or None,
    )


def as_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def per_layer(value: Any) -> int | tuple[int, ...] | None:
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return tuple(value)
    return as_int(value)


def show_info(name: str, resp: ollama.ShowResponse) -> ShowInfo:
    info: Mapping[str, Any] = resp.modelinfo or {}
    arch = info.get("general.architecture")
    arch = arch if isinstance(arch, str) else None

    def key(suffix: str) -> Any:
        return info.get(f"{arch}.{suffix}") if arch else None

    kept = tuple(sorted((k, v) for k, v in info.items() if not (isinstance(v, list) and len(v) > 64)))
    return ShowInfo(
        name=name, architecture=arch, context_length=as_int(key("context_length")),
        embedding_length=as_int(key("embedding_length")), block_count=as_int(key("block_count")),
        head_count=per_layer(key("attention.head_count")),
        head_count_kv=per_layer(key("attention.head_count_kv")),
        parameter_count=as_int(info.get("general.parameter_count")),
        capabilities=tuple(resp.capabilities or ()), template=resp.template or "",
        parameters=resp.parameters or "", license=resp.license or "", modelfile=resp.modelfile or "",
        system=system_from_modelfile(resp.modelfile or ""), details=model_details(resp.details),
        modified_at=resp.modified_at, model_info=kept,
    )


def system_from_modelfile(modelfile: str) -> str:
    """The SYSTEM prompt, which the client's ShowResponse drops but the Modelfile keeps."""
    marker = 'SYSTEM """'
    start = modelfile.find(marker)
    if start < 0:
        return ""
    end = modelfile.find('"""', start + len(marker))
    return modelfile[start + len(marker): end if end >= 0 else None]
