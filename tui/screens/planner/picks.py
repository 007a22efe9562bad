"""What the planner's pickers list: catalog models, an Ollama server's models, machines.

Built here so the screen only opens a picker and takes its answer.
"""

from __future__ import annotations

from core.config import HostConfig
from core.facts import catalog
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
