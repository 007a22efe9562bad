"""An HF repo id -> HfCheckpoint through huggingface_hub, reading headers only.

config.json (a few KiB) is fetched into the HF cache like any hub client
does; the weights are described by `get_safetensors_metadata`, which reads
only each shard's JSON header with ranged requests. huggingface_hub itself
honours HF_ENDPOINT (mirrors such as hf-mirror.com), HF_TOKEN and
HF_HUB_OFFLINE, so this module never reads those variables for access, only
to name them in its error sentences.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.errors import ModelFactsError
from core.facts.hf_checkpoint import HfCheckpoint, HfTensor, read_json, template_from_tokenizer_config
from core.redact import redact

REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")


def looks_like_repo_id(text: str) -> bool:
    return bool(REPO_ID_RE.match(text)) and not text.endswith(".gguf")


def _endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def _translate(repo_id: str, exc: Exception) -> ModelFactsError:
    """huggingface_hub's exceptions -> one sentence the user can act on."""
    from huggingface_hub import errors

    endpoint = _endpoint()
    if isinstance(exc, errors.GatedRepoError):
        return ModelFactsError(
            f"{repo_id} is a gated model: its files need an accepted licence and a token.",
            hint=f"Accept the licence on {endpoint}/{repo_id}, then set HF_TOKEN (or run `hf auth login`).")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return ModelFactsError(
            f"There is no model {repo_id} on {endpoint}, or it is private.",
            hint="Check the spelling; for a private model set HF_TOKEN.")
    if isinstance(exc, errors.RevisionNotFoundError):
        return ModelFactsError(f"{repo_id} has no such revision.")
    if isinstance(exc, errors.NotASafetensorsRepoError):
        return ModelFactsError(
            f"{repo_id} publishes no safetensors weights, so its tensor shapes cannot be read "
            "without downloading the whole model.",
            hint="Pick a repo with .safetensors files, or a GGUF, or a catalog model.")
    if isinstance(exc, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError):
        return ModelFactsError(
            f"{repo_id} is not in the local Hugging Face cache and downloads are off (HF_HUB_OFFLINE).",
            hint="Unset HF_HUB_OFFLINE, or pick a catalog model, which needs no network.")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return ModelFactsError(
            f"{endpoint} answered {status or 'an error'} for {repo_id}.",
            hint="Try again later, or set HF_ENDPOINT to a mirror (for example https://hf-mirror.com).")
    return ModelFactsError(
        f"Could not reach {endpoint} to read {repo_id}: {redact(str(exc)).rstrip('.')}.",
        hint="Check the network, or set HF_ENDPOINT to a mirror (for example https://hf-mirror.com).")


def checkpoint_from_metadata(repo_id: str, config: dict[str, Any], st_meta: Any,
                             chat_template: str | None) -> HfCheckpoint:
    """An HfCheckpoint from config.json and a SafetensorsRepoMetadata (no I/O)."""
    tensors: list[HfTensor] = []
    total = 0
    for file_meta in st_meta.files_metadata.values():
        for name, info in file_meta.tensors.items():
            tensors.append(HfTensor(name, str(info.dtype), tuple(int(d) for d in info.shape)))
            total += int(info.data_offsets[1]) - int(info.data_offsets[0])
    if not tensors:
        raise ModelFactsError(f"{repo_id} lists safetensors files but no tensors in them.")
    return HfCheckpoint(repo_id, config, tuple(tensors), total, chat_template)


def read_repo(repo_id: str, *, revision: str | None = None) -> HfCheckpoint:
    """Config and tensor headers of an HF repo; never downloads weights."""
    from huggingface_hub import get_safetensors_metadata, hf_hub_download

    try:
        config_path = hf_hub_download(repo_id, "config.json", revision=revision)
        config = read_json(Path(str(config_path)), "model config")
        st_meta = get_safetensors_metadata(repo_id, revision=revision)
    except ModelFactsError:
        raise
    except Exception as exc:  # huggingface_hub and httpx raise many kinds; all become a sentence
        raise _translate(repo_id, exc) from None
    template: str | None = None
    try:
        tc_path = hf_hub_download(repo_id, "tokenizer_config.json", revision=revision)
        template = template_from_tokenizer_config(read_json(Path(str(tc_path)), "tokenizer config"))
    except Exception:  # the template is optional: facts stand without it, so no error is raised
        template = None
    return checkpoint_from_metadata(repo_id, config, st_meta, template)
