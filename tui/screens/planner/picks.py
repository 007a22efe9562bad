"""What the planner's pickers list: catalog models, GGUF files on disk, an Ollama server's models, machines.

Built here so the screen only opens a picker and takes its answer.
"""

from __future__ import annotations

import asyncio

from core.config import HostConfig, Settings
from core.errors import LlamadeckError
from core.facts import catalog
from core.facts.local_gguf import find_gguf_files
from core.planner.cards import CARDS
from core.planner.source import OLLAMA_PREFIX
from core.units import format_model_size, format_params, format_rate
from tui.screens.planner.picker import PickItem
from tui.services import Services
from tui.widgets.planner.inputs import FREE_NOW, THIS_MACHINE


def catalog_items() -> list[PickItem]:
    return [PickItem(e.name, e.name, _catalog_detail(e)) for e in catalog.entries()]


async def ollama_items(services: Services, host: HostConfig) -> list[PickItem]:
    async with services.ollama(host) as client:
        models = await client.list_models()
    return [PickItem(OLLAMA_PREFIX + m.name, m.name,
                     f"Ollama {host.name} · {m.details.quantization_level or '?'} · "
                     f"{format_model_size(m.size)}") for m in models]


def gguf_items(settings: Settings) -> list[PickItem]:
    """The readable GGUF files in paths.gguf_dirs and the HF cache (walks folders: call it in a thread)."""
    files = find_gguf_files(settings.gguf_dirs, settings.hf_cache_dir)
    return [PickItem(str(f.path), f.label,
                     f"GGUF file · {f.file_type or '?'} · {format_model_size(f.size)} · {f.where}")
            for f in files if f.problem is None]


async def local_and_ollama_items(services: Services, host: HostConfig, settings: Settings) -> list[PickItem]:
    """The GGUF files, then the Ollama models; a server that fails leaves its sentence as the last line."""
    files = await asyncio.to_thread(gguf_items, settings)
    try:
        return files + await ollama_items(services, host)
    except LlamadeckError as exc:
        if not files:
            raise
        return [*files, PickItem("", f"Ollama {host.name}: not listed", str(exc))]  # "" picks nothing


def machine_items(live: str) -> list[PickItem]:
    """This machine (described by `live`), its free memory, no GPU, then every card in the table."""
    items = [PickItem(THIS_MACHINE, "This machine", live),
             PickItem(FREE_NOW, "This machine, memory free now", "what other programs leave free"),
             PickItem("cpu", "No GPU", "CPU and RAM only")]
    items += [PickItem(c.name, c.name, f"{c.memory_gib:g} GiB · {format_rate(c.bandwidth)}") for c in CARDS]
    return items


def _catalog_detail(entry: catalog.CatalogEntry) -> str:
    params = format_params(int(entry.published_params))
    if entry.published_active_params:
        params += f" ({format_params(int(entry.published_active_params))} active)"
    aliases = ", ".join(entry.aliases)
    return " · ".join(p for p in (params, entry.family, aliases) if p)
