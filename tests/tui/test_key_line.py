"""The key line at 80 columns: a screen's few keys in words, and always screens, help and quit."""

from __future__ import annotations

from typing import Any

from core.config import Settings
from tests.tui.chat_support import chat_app
from tests.tui.conftest import wait_for
from tui.widgets.key_bar import KeyBar

MODES = ("dashboard", "models", "planner", "chat", "jobs", "discover")
EVERYWHERE = ("1-6 Screens", "? Help", "q Quit")
IN_A_TEXT_BOX = ("esc 1-6 Screens", "f1 Help", "^q Quit")


def bar_text(app: Any) -> str:
    return "".join(segment.text for segment in app.screen.query_one(KeyBar).render_line(0))


async def show(pilot: Any, mode: str) -> str:
    app = pilot.app
    await app.switch_mode(mode)
    await wait_for(pilot, lambda: app.current_mode == mode and bool(app.screen.query(KeyBar))
                   and "Screens" in bar_text(app))
    return bar_text(app)


async def test_every_screen_shows_screens_help_and_quit_at_80_columns(fake_ollama: Any,
                                                                      settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        for mode in MODES:
            text = await show(pilot, mode)
            in_text_box = mode == "chat"  # the prompt has the focus: 1-6, ? and q would be typed
            for item in IN_A_TEXT_BOX if in_text_box else EVERYWHERE:
                assert item in text, (mode, text)
            # Words, not letter soup: each item is one key and a word or two.
            bar = app.screen.query_one(KeyBar)
            for key in bar.items:
                assert key.label, (mode, key)
                assert len(key.keys) <= 7, (mode, key)


async def test_the_chat_line_says_what_works_in_the_prompt_and_out_of_it(fake_ollama: Any,
                                                                         settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        text = await show(pilot, "chat")
        assert "^s Chats" in text and "^o Options" in text
        await pilot.press("escape")  # out of the prompt: the app's keys work again
        await wait_for(pilot, lambda: "? Help" in bar_text(app))
        for item in EVERYWHERE:
            assert item in bar_text(app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")


async def test_at_40_columns_the_screens_keys_give_way_first(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(40, 12)) as pilot:
        for mode in MODES:
            text = (await show(pilot, mode)).rstrip()
            assert len(text) <= 40
            wanted = IN_A_TEXT_BOX if mode == "chat" else EVERYWHERE
            assert all(item in text for item in wanted[:2]), (mode, text)


async def test_the_models_line_names_its_main_keys_in_words(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        text = await show(pilot, "models")
        for item in ("/ Filter", "p Pull", "d Delete", "l Load", "f Plan"):
            assert item in text, text
        text = await show(pilot, "planner")
        for item in ("m Model", "c Context"):
            assert item in text, text
