"""Put a GGUF into Ollama through its API, so a remote server works the same as a local one.

The order is Ollama's own (`ollama create` does the same): hash the file,
`HEAD /api/blobs/sha256:<hex>` (200: the server has it, skip the upload),
`POST /api/blobs/sha256:<hex>` streaming the file from disk (the server checks
the digest and answers 400 on a mismatch), then `POST /api/create` with
`files: {name: digest}` plus the template, stop words and parameters from
`core.ollama.chat_format`.

The digest comes from `core.pipeline.file_digest` (hashed in a thread, remembered
between runs); the upload reads the file in a thread chunk by chunk, so the
event loop (and the screen) keep moving during both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from core.errors import OllamaError
from core.ollama.chat_format import ChatFormat
from core.ollama.client import OllamaClient
from core.pipeline.file_digest import CHUNK, file_digest
from core.pipeline.progress import ProgressMeter
from core.pipeline.types import JobEvent, LogLine

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def default_model_name(name: str, quant: str | None) -> str:
    """An Ollama model name from a model name and quant: "Qwen2.5-7B", "Q4_K_M" -> "qwen2.5-7b:q4_k_m"."""
    base = "".join(c if c in _NAME_CHARS else "-" for c in name.lower()).strip("-._") or "model"
    tag = "".join(c if c in _NAME_CHARS else "-" for c in (quant or "latest").lower())
    return f"{base[:80]}:{tag}"


def _http(client: OllamaClient) -> httpx.AsyncClient:
    # The official client's httpx client carries the host's URL, token and headers. Its blob
    # call (create_blob) reads the whole file without progress, so the requests are made here.
    http = client.raw._client
    assert isinstance(http, httpx.AsyncClient)
    return http


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return response.text.strip()[:300]


async def has_blob(client: OllamaClient, digest: str) -> bool:
    """Whether the server already holds this blob (then an import copies nothing)."""
    try:
        async with client.translate_errors("checking for the blob"):
            head = await _http(client).head(f"/api/blobs/{digest}")
    except OllamaError:
        return False
    return head.status_code == 200


async def upload_blob(client: OllamaClient, path: Path, digest: str, meter: ProgressMeter) -> bool:
    """Send the file unless the server has it already; True when bytes were sent."""
    http = _http(client)
    url = f"/api/blobs/{digest}"
    async with client.translate_errors("checking for the blob"):
        head = await http.head(url)
    if head.status_code == 200:
        return False
    if head.status_code != 404:
        raise OllamaError(f"Ollama at {client.url} answered {head.status_code} when asked for a blob: "
                          f"{_error_text(head) or 'no detail'}.")
    size = path.stat().st_size

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        with path.open("rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                sent += len(chunk)
                meter.update(sent / size if size else 1.0, sent, size, "uploading")
                yield chunk

    timeout = httpx.Timeout(None, connect=client.connect_timeout)
    async with client.translate_errors("uploading the GGUF"):
        response = await http.post(url, content=body(), headers={"Content-Length": str(size)},
                                   timeout=timeout)
    if response.status_code in (200, 201):
        return True
    detail = _error_text(response) or "no detail"
    if response.status_code == 400 and "digest" in detail:
        raise OllamaError(f"Ollama at {client.url} refused the upload of {path.name}: {detail}. The file "
                          "changed while it was sent, or something between rewrote it; import again.")
    raise OllamaError(f"Ollama at {client.url} refused the upload of {path.name} "
                      f"(HTTP {response.status_code}): {detail}.")


async def create_model(
    client: OllamaClient,
    name: str,
    file_name: str,
    digest: str,
    fmt: ChatFormat,
    emit: Callable[[JobEvent], None],
) -> None:
    """`/api/create` from the uploaded blob; the server's status lines go to the log."""
    kwargs: dict[str, Any] = {"files": {file_name: digest}}
    if fmt.template is not None:
        kwargs["template"] = fmt.template
    params = fmt.create_parameters()
    if params:
        kwargs["parameters"] = params
    async with client.translate_errors(f"creating {name}", model=None, waits=True):
        stream = await client.raw.create(model=name, stream=True, **kwargs)
        async for update in stream:
            if update.status:
                emit(LogLine("import", f"ollama: {update.status}"))


async def import_gguf(
    client: OllamaClient,
    path: Path,
    name: str,
    fmt: ChatFormat,
    emit: Callable[[JobEvent], None],
    *,
    interval: float = 0.1,
) -> str:
    """Hash, upload (if needed) and create; returns the blob digest."""
    hashing = ProgressMeter("import", emit, interval=interval)
    digest = await file_digest(path, hashing)
    emit(LogLine("import", f"{path.name}: {digest}"))
    uploading = ProgressMeter("import", emit, interval=interval)
    sent = await upload_blob(client, path, digest, uploading)
    if not sent:
        emit(LogLine("import", f"Ollama at {client.url} already has this file; nothing to upload."))
    emit(LogLine("import", fmt.note))
    await create_model(client, name, path.name, digest, fmt, emit)
    return digest
