"""Help (`?`): this screen's keys as its key line names them, then every screen's; no Textual internals."""

from __future__ import annotations

from typing import Any

from core.config import Settings
from tests.tui.chat_support import chat_app
from tests.tui.conftest import wait_for
from tui.screens.help import HelpScreen
from tui.widgets.key_bar import KeyBar

SCREEN_NAMES = ("Dashboard", "Models", "Planner", "Chat", "Jobs", "Discover")
INTERNALS = ("super+c", "Copy selected text", "Focus Next", "Cursor up", "Delete character")


def help_rows(app: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    screen = app.screen
    assert isinstance(screen, HelpScreen)
    return screen.rows()


async def open_help(pilot: Any, mode: str) -> list[tuple[str, list[tuple[str, str]]]]:
    app = pilot.app
    await app.switch_mode(mode)
    await wait_for(pilot, lambda: app.current_mode == mode and bool(app.screen.query(KeyBar)))
    app.screen.set_focus(None)  # out of any text box, where ? would be typed
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    return help_rows(app)


async def test_help_names_the_real_screens_and_has_no_textual_internals(fake_ollama: Any,
                                                                        settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        modes = ("dashboard", "models", "planner", "chat", "jobs", "discover")
        for mode, name in zip(modes, SCREEN_NAMES, strict=True):
            await app.switch_mode(mode)
            await wait_for(pilot, lambda: bool(app.screen.query(KeyBar)))
            labels = {item.label for item in app.screen.query_one(KeyBar).items}
            sections = await open_help(pilot, mode)
            assert [title for title, _ in sections] == [f"{name} keys", "On every screen"]
            text = "\n".join(f"{key} {does}" for _, rows in sections for key, does in rows)
            for internal in INTERNALS:
                assert internal not in text, (mode, internal)
            assert "Dash " not in text and "Plan " not in text.replace("Plan - ", "")
            everywhere = "\n".join(does for key, does in sections[1][1])
            for screen_name in SCREEN_NAMES:
                assert f"{screen_name} screen" in everywhere
            # The screen's keys as its key line names them (the app's keys are in "On every screen").
            here = [does.split(" - ")[0] for _, does in sections[0][1]]
            for label in labels - {"Screens", "Help", "Quit"}:
                assert label in here, (mode, label, here)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_help_on_a_small_terminal_scrolls_and_closes(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(40, 12)) as pilot:
        sections = await open_help(pilot, "models")
        assert sections[0][0] == "Models keys"
        assert any(key == "p" for key, _ in sections[0][1])
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
