""""Go to model X" in the palette: the current host's Ollama models, the catalog and local GGUF files.

An Ollama model opens in the Models screen (or the planner); a catalog entry
or a GGUF file opens in the planner. The lists are read when the palette
opens: Ollama's with a short timeout (a hung server leaves its models out,
the rest still work), the GGUF folders in a thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from textual.app import App
from textual.command import Hit, Hits, Provider

from core.config import HostConfig, Settings
from core.errors import LlamadeckError
from core.facts.gguf_split import SPLIT_RE
from core.ollama.host import select_host
from tui.palette.actions import shown

LIST_TIMEOUT = 3.0  # seconds the palette waits for Ollama's model list
MAX_DEPTH = 4  # folders below a gguf_dirs entry that are searched
MAX_FILES = 5000

Run = Callable[[], Awaitable[None]]


def gguf_files(folders: Iterable[Path]) -> list[Path]:
    """The .gguf files under `folders`, a split model once (its first part)."""
    found: list[Path] = []
    for folder in folders:
        root_depth = len(folder.parts)
        for top, dirs, files in os.walk(folder):
            if len(Path(top).parts) - root_depth >= MAX_DEPTH:
                dirs.clear()
            for name in sorted(files):
                split = SPLIT_RE.match(name)
                if name.endswith(".gguf") and (split is None or int(split["no"]) == 1):
                    found.append(Path(top) / name)
            if len(found) >= MAX_FILES:
                return found
    return found


def current_host(app: App[object], settings: Settings) -> HostConfig:
    host = getattr(app, "current_host", None)
    return host if isinstance(host, HostConfig) else select_host(settings)


async def ollama_names(app: App[object], settings: Settings) -> tuple[HostConfig, list[str]]:
    host = current_host(app, settings)
    if host.kind != "ollama":
        return host, []
    client = app.services.ollama(host)  # type: ignore[attr-defined]
    try:
        models = await asyncio.wait_for(client.list_models(), LIST_TIMEOUT)
    except (LlamadeckError, TimeoutError, OSError):
        return host, []
    finally:
        await client.aclose()
    return host, [m.name for m in models]


class ModelsProvider(Provider):
    """Models by fuzzy name: `qwen` finds qwen3:8b on the host, Qwen3 8B in the catalog, a qwen .gguf."""

    async def startup(self) -> None:
        from core.facts import catalog  # start-up: the catalog loads when the palette first opens

        app = self.app
        settings: Settings = app.settings  # type: ignore[attr-defined]
        self.targets: list[tuple[str, str, Run]] = []
        files = asyncio.to_thread(gguf_files, settings.gguf_dirs)
        host, names = await ollama_names(app, settings)
        for name in names:
            self.targets.append((f"Model {name} in Models", f"On {host.name}", self._browse(name)))
            fit = f"Will it fit? ({host.name})"
            self.targets.append((f"Plan {name}", fit, self._plan_ollama(name, host)))
        for entry in catalog.entries():
            self.targets.append((f"Plan {entry.name} (catalog)", entry.hf_repo, self._plan(entry.id)))
        for path in await files:
            self.targets.append((f"Plan {path.name} (GGUF file)", str(path.parent), self._plan(str(path))))

    def _browse(self, name: str) -> Run:
        async def run() -> None:
            app = self.app
            await app.switch_mode("models")
            screen = app.screen
            browser = getattr(screen, "browser", None)
            if browser is not None and not browser.table.select(name):
                browser.select_after_list = name  # the list is still on its way
        return run

    def _plan_ollama(self, name: str, host: HostConfig) -> Run:
        async def run() -> None:
            self.app.open_planner(name, host.name)  # type: ignore[attr-defined]
        return run

    def _plan(self, spec: str) -> Run:
        async def run() -> None:
            self.app.plan(spec)  # type: ignore[attr-defined]
        return run

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self.targets:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, shown(matcher.highlight(title), ""), run, text=title, help=help_text)
