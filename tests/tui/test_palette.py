"""The command palette: every key of every screen is a command with its key beside it; models by name."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.command import CommandList, CommandPalette
from textual.screen import Screen

import tui.screens
from core.config import Settings
from tests.tui.chat_support import chat_app
from tests.tui.conftest import screen_text, wait_for
from tui.app import LlamadeckApp
from tui.palette.actions import commands_for
from tui.palette.places import PLACES, own_bindings

SIZE = (80, 24)


def all_screen_classes() -> list[type[Screen[Any]]]:
    """Every Screen class under tui.screens, found by walking the package (a new one is included)."""
    for module in pkgutil.walk_packages(tui.screens.__path__, "tui.screens."):
        importlib.import_module(module.name)
    found: list[type[Screen[Any]]] = []
    todo: list[type[Screen[Any]]] = list(Screen.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("tui.screens."):
            found.append(cls)
    return found


def prompts(app: Any) -> list[str]:
    listing = app.screen.query_one(CommandList)
    return [str(listing.get_option_at_index(i).prompt).split("\n")[0] for i in range(listing.option_count)]


async def search(pilot: Any, query: str, want: Callable[[list[str]], bool]) -> list[str]:
    """Open the palette (a fresh one), type `query`, wait until what it lists satisfies `want`."""
    app = pilot.app
    if isinstance(app.screen, CommandPalette):
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*query)
    await wait_for(pilot, lambda: want(prompts(app)))
    return prompts(app)


async def test_every_binding_of_every_screen_is_a_palette_command(fake_ollama: Any,
                                                                  settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        from_dashboard = commands_for(app, app.screen)
        actions = {(c.action, c.key) for c in from_dashboard}
        assert all(c.key for c in from_dashboard), [c.title for c in from_dashboard if not c.key]
        # The app's keys and every key of every screen one can go to, from the dashboard.
        for cls in (LlamadeckApp, *(place.screen_class() for place in PLACES)):
            for binding in own_bindings(cls):
                assert any(action == binding.action for action, _key in actions), (cls.__name__, binding)
        # Every screen's keys (dialogs too) are commands while it is on top: checked per class, so a
        # binding added later without a command fails here.
        classes = all_screen_classes()
        assert len(classes) >= 10
        for cls in classes:
            for binding in own_bindings(cls):
                assert binding.description or binding.tooltip, (cls.__name__, binding.key)


async def test_the_palette_lists_a_screens_keys_with_the_key_beside_and_runs_them(
        fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = await search(pilot, "pull", lambda s: any("Models: Pull" in p for p in s))
        assert any(p.startswith("Models: Pull") and p.rstrip().endswith("  p") for p in shown), shown
        text = screen_text(app)
        assert "Models: Pull" in text
        await pilot.press("enter")
        # Chosen from the dashboard: the Models screen opens and the pull dialog with it.
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PullDialog")
        assert app.current_mode == "models"


async def test_typing_model_or_a_models_name_finds_it(fake_ollama: Any, settings: Settings,
                                                      tmp_path: Path) -> None:
    gguf = tmp_path / "ggufs" / "tinyllama"
    gguf.mkdir(parents=True)
    (gguf / "TinyStories-656K-Q8_0.gguf").write_bytes(b"GGUF")
    (gguf / "big-00002-of-00002.gguf").write_bytes(b"GGUF")
    from dataclasses import replace
    app = chat_app(fake_ollama, replace(settings, gguf_dirs=(tmp_path / "ggufs",)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = await search(pilot, "model", lambda s: any("qwen3:8b" in p for p in s))
        assert any(p.startswith("Go to the Models screen") for p in shown), shown
        assert any(p.startswith("Models: Pull") for p in shown), shown  # its actions too
        shown = await search(pilot, "qwen3:8b", lambda s: any(p.startswith("Plan qwen3:8b") for p in s))
        assert any(p.startswith("Model qwen3:8b in Models") for p in shown), shown
        shown = await search(pilot, "qwen3 8b", lambda s: any("(catalog)" in p for p in s))
        shown = await search(pilot, "tinystories", lambda s: any("TinyStories-656K" in p for p in s))
        assert any(p.startswith("Plan TinyStories-656K-Q8_0.gguf") for p in shown), shown
        # A split model is listed once, by its first part; the second part alone is not.
        shown = await search(pilot, "big-0000", lambda s: True)
        assert not any("00002-of" in p for p in shown), shown


async def test_go_to_a_model_opens_it_in_the_models_screen(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = await search(pilot, "llama3.2", lambda s: any(p.startswith("Model llama3.2") for p in s))
        listing = app.screen.query_one(CommandList)
        listing.highlighted = next(i for i, p in enumerate(shown) if p.startswith("Model llama3.2"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "models")
        screen = app.screen
        await wait_for(pilot, lambda: screen.table.models != () and screen.table.highlighted is not None
                       and screen.table.highlighted.name.startswith("llama3.2"))  # type: ignore[attr-defined]
