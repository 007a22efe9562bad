"""#14 at 80x24: one current host for the whole app, switched from any screen and shown on every top line;
the chat list says each chat's host; toggles read without colour (NO_COLOR)."""

from __future__ import annotations

import pytest
from textual.widgets import SelectionList

from core.chat.history import HistoryStore
from core.config import Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.chat_support import open_chat, press_now, two_hosts_app
from tests.tui.conftest import screen_text, wait_for
from tui.app import LlamadeckApp
from tui.hosts import ollama_name
from tui.screens.chat.compare import CompareScreen
from tui.screens.chat.sessions import SessionsScreen
from tui.screens.models.screen import ModelsScreen
from tui.screens.planner.screen import PlannerScreen


def top_line(app: LlamadeckApp) -> str:
    return screen_text(app).splitlines()[0]


async def test_every_top_line_shows_the_host_at_80x24(fake_ollama: FakeOllama, settings: Settings) -> None:
    app = two_hosts_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in "12345":
            await pilot.press(key)
            await pilot.pause(0.2)
            assert "fake" in top_line(app), (key, top_line(app))


async def test_the_host_switches_from_chat_and_from_the_planner(
        fake_ollama: FakeOllama, settings: Settings) -> None:
    app = two_hosts_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await open_chat(pilot)
        await press_now(pilot, "escape")  # out of the prompt box, where o is a letter
        await pilot.press("o")
        await wait_for(pilot, lambda: chat.host.name == "spare")
        assert app.current_host is not None and app.current_host.name == "spare"
        assert "host spare" in top_line(app)
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, PlannerScreen))
        planner = app.screen
        assert ollama_name(planner, planner.ollama_host) == "spare"  # its Ollama list asks spare
        await pilot.press("f2")  # F2 works where a text box has the letters
        await wait_for(pilot, lambda: app.current_host is not None and app.current_host.name == "fake")
        assert ollama_name(planner, planner.ollama_host) == "fake" and "host fake" in top_line(app)
        await pilot.press("4")
        await wait_for(pilot, lambda: app.screen is chat and chat.host.name == "fake")
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen))
        models = app.screen
        assert isinstance(models, ModelsScreen) and models.host.name == "fake"
        await press_now(pilot, "f2")
        await wait_for(pilot, lambda: models.host.name == "spare")


async def test_the_chat_list_shows_each_chats_host(fake_ollama: FakeOllama, settings: Settings) -> None:
    with HistoryStore.open() as store:
        store.create_session(model="llama3.2:latest", host="spare", title="Tides", host_kind="ollama")
        store.create_session(model="qwen3:8b", host="fake", title="Moons", host_kind="ollama")
    app = two_hosts_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_chat(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and bool(app.screen.sessions))
        text = screen_text(app)
        assert "llama3.2:latest on spare" in text and "qwen3:8b on fake" in text


# --------------------------------------------------------------------------- without colour


async def test_no_color_compare_and_job_checkboxes_read_on_and_off(
        fake_ollama: FakeOllama, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = two_hosts_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_chat(pilot, "llama3.2:latest")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "▐X▌ llama3.2:latest" in text and "▐ ▌ qwen3:8b" in text
        app.screen.query_one(SelectionList).select("qwen3:8b")
        await pilot.pause()
        assert "▐X▌ qwen3:8b" in screen_text(app)
        await pilot.press("escape")  # back to the chat, in its prompt box
        await press_now(pilot, "escape")
        await pilot.press("5")
        await pilot.pause(0.2)
        await pilot.press("n")
        await wait_for(pilot, lambda: "Import into Ollama" in screen_text(app))
        text = screen_text(app)
        assert "▐X▌ Import into Ollama" in text and "▐ ▌ Keep the F16/BF16 GGUF" in text
