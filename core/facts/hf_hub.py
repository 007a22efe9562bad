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
from typing import Any, TypeVar

from core.errors import LlamadeckError, ModelFactsError
from core.facts.hf_checkpoint import HfCheckpoint, HfTensor, read_json, template_from_tokenizer_config
from core.redact import redact

REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")


def looks_like_repo_id(text: str) -> bool:
    return bool(REPO_ID_RE.match(text)) and not text.endswith(".gguf")


def _endpoint() -> str:
    from huggingface_hub import constants  # here: huggingface_hub costs start-up time

    return str(constants.ENDPOINT)


HubError = TypeVar("HubError", bound=LlamadeckError)

_MIRROR = "set HF_ENDPOINT to a mirror (for example https://hf-mirror.com)."


def hub_error(error: type[HubError], repo_id: str, exc: Exception, *, url: str,
              downloading: bool) -> HubError:
    """huggingface_hub's exceptions -> one sentence the user can act on, as an `error`.

    Reading a repo's headers (the planner's facts) and downloading its files
    (a convert job) fail the same ways; only what the user was doing, and so
    what to do about being offline, differs.
    """
    from huggingface_hub import errors  # here: huggingface_hub costs start-up time

    if isinstance(exc, errors.GatedRepoError):
        return error(f"{repo_id} is a gated model: its files need an accepted licence and a token.",
                     hint=f"Accept the licence on {url}/{repo_id}, then set HF_TOKEN "
                          "(or run `hf auth login`).")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return error(f"There is no model {repo_id} on {url}, or it is private.",
                     hint="Check the spelling; for a private model set HF_TOKEN.")
    if isinstance(exc, errors.RevisionNotFoundError):
        return error(f"{repo_id} has no such revision on {url}.")
    if downloading and isinstance(exc, errors.EntryNotFoundError):
        return error(f"A file of {repo_id} is not on {url} at this revision.")
    if not downloading and isinstance(exc, errors.NotASafetensorsRepoError):
        return error(f"{repo_id} publishes no safetensors weights, so its tensor shapes cannot be read "
                     "without downloading the whole model.",
                     hint="Pick a repo with .safetensors files, or a GGUF, or a catalog model.")
    if isinstance(exc, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError):
        if downloading:
            return error(f"{repo_id} must be downloaded, but HF_HUB_OFFLINE is set.",
                         hint="Unset HF_HUB_OFFLINE, or download it elsewhere and pass the folder.")
        return error(f"{repo_id} is not in the local Hugging Face cache and downloads are off "
                     "(HF_HUB_OFFLINE).",
                     hint="Unset HF_HUB_OFFLINE, or pick a catalog model, which needs no network.")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return error(f"{url} answered {status or 'an error'} for {repo_id}.",
                     hint=f"Try again later, or {_MIRROR}")
    if downloading and isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return error(f"A file of {repo_id} arrived with the wrong size.",
                     hint="The connection dropped; run the job again to resume.")
    why = redact(str(exc)).rstrip(".")
    said = f"Could not download {repo_id} from {url}" if downloading else \
        f"Could not reach {url} to read {repo_id}"
    return error(f"{said}: {why}.", hint=f"Check the network, or {_MIRROR}")


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
    # here: huggingface_hub costs start-up time
    from huggingface_hub import get_safetensors_metadata, hf_hub_download

    try:
        config_path = hf_hub_download(repo_id, "config.json", revision=revision)
        config = read_json(Path(str(config_path)), "model config")
        st_meta = get_safetensors_metadata(repo_id, revision=revision)
    except ModelFactsError:
        raise
    except Exception as exc:  # huggingface_hub and httpx raise many kinds; all become a sentence
        raise hub_error(ModelFactsError, repo_id, exc, url=_endpoint(), downloading=False) from None
    template: str | None = None
    try:
        tc_path = hf_hub_download(repo_id, "tokenizer_config.json", revision=revision)
        template = template_from_tokenizer_config(read_json(Path(str(tc_path)), "tokenizer config"))
    except Exception:  # the template is optional: facts stand without it, so no error is raised
        template = None
    return checkpoint_from_metadata(repo_id, config, st_meta, template)
