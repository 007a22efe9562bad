"""Which Ollama model a runner serves, from the blob its command line names.

Ollama's runner is started with `--model <models>/blobs/sha256-<hex>` (or
`-m` since v0.30), the model layer's blob. `/api/ps` and `/api/tags` give
each model's manifest digest, not that blob's, so the manifests on disk
(local server only) say which blob belongs to which name; the API digests
are a second source (some builds and the fake server report the blob).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from core.ollama.types import LocalModel, RunningModel

MODEL_LAYER = "application/vnd.ollama.image.model"
DEFAULT_REGISTRY = "registry.ollama.ai"


def manifest_name(relative: Path) -> str:
    """`registry.ollama.ai/library/llama3.2/latest` -> `llama3.2:latest`; others keep their prefix."""
    parts = relative.parts
    if len(parts) < 2:
        return "/".join(parts)
    *path, model, tag = parts
    if path[:2] == [DEFAULT_REGISTRY, "library"]:
        path = []
    elif path[:1] == [DEFAULT_REGISTRY]:
        path = path[1:]
    return "/".join([*path, model]) + f":{tag}"


def blob_names_from_manifests(models_dir: Path) -> dict[str, str]:
    """Model-layer blob digest (hex) -> model name, from the manifests under `models_dir`."""
    root = models_dir / "manifests"
    found: dict[str, str] = {}
    try:
        files = [p for p in root.rglob("*") if p.is_file()]
    except OSError:
        return found
    for path in sorted(files):
        try:
            layers = json.loads(path.read_text(encoding="utf-8")).get("layers", [])
        except (OSError, ValueError, AttributeError):
            continue  # a manifest being written or not Ollama's: it names no runner
        for layer in layers if isinstance(layers, list) else []:
            if isinstance(layer, dict) and layer.get("mediaType") == MODEL_LAYER:
                digest = str(layer.get("digest", "")).removeprefix("sha256:")
                found.setdefault(digest, manifest_name(path.relative_to(root)))
    return found


def blob_names(models: Iterable[RunningModel | LocalModel], models_dir: Path | None = None) -> dict[str, str]:
    """Digest (hex) -> model name, from the API's digests and (for a local server) the manifests."""
    found = {m.digest.removeprefix("sha256:"): m.name for m in models if m.digest}
    if models_dir is not None:
        found.update(blob_names_from_manifests(models_dir))
    return found
