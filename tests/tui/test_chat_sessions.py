"""Ctrl+S: the saved chats, to search (Chinese too), open, rename, delete and export."""

from __future__ import annotations

import json
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from core import paths
from core.config import Settings
from tests.tui.chat_support import chat_app, open_chat, replies, send, stored
from tests.tui.conftest import screen_text, wait_for
from tui.screens.chat.screen import ChatScreen
from tui.screens.chat.sessions import SessionsScreen, TextPromptScreen
from tui.screens.confirm import ConfirmDialog
from tui.widgets.chat.message import UserMessage

PROMPTS = ["How do I quantize a model?", "推荐一个中文模型", "Benchmark speeds on a 4090"]


async def three_chats(pilot: Pilot[Any], screen: ChatScreen) -> None:
    for prompt in PROMPTS:
        await send(pilot, screen, prompt)
        await pilot.press("ctrl+n")


async def open_list(pilot: Pilot[Any]) -> SessionsScreen:
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen)
                   and bool(pilot.app.screen.sessions))
    screen = pilot.app.screen
    assert isinstance(screen, SessionsScreen)
    return screen


def highlight(listing: SessionsScreen, title: str) -> None:
    index = [s.title for s in listing.sessions].index(title)
    listing.query_one("#sessions-list", OptionList).highlighted = index


async def test_search_finds_chinese_and_english(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await open_chat(pilot, "llama3.2:latest")
        await three_chats(pilot, chat)
        listing = await open_list(pilot)
        assert [s.title for s in listing.sessions] == list(reversed(PROMPTS))
        text = screen_text(app)
        assert all(p in text for p in PROMPTS)
        listing.query_one("#sessions-search", Input).value = "中文"
        await wait_for(pilot, lambda: len(listing.sessions) == 1)
        assert listing.sessions[0].title == "推荐一个中文模型"
        assert "1 chat contain" in screen_text(app)
        listing.query_one("#sessions-search", Input).value = "4090 benchmark"
        await wait_for(pilot, lambda: [s.title for s in listing.sessions] == [PROMPTS[2]])
        listing.query_one("#sessions-search", Input).value = "nothing like this"
        await wait_for(pilot, lambda: not listing.sessions)


async def test_rename_delete_and_open(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(chunks=["Use", " llama-quantize."])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await open_chat(pilot, "llama3.2:latest")
        await three_chats(pilot, chat)
        listing = await open_list(pilot)
        highlight(listing, PROMPTS[0])
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        app.screen.query_one(Input).value = "Quantizing notes"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Quantizing notes" in [s.title for s in listing.sessions])
        assert chat.store is not None
        assert "Quantizing notes" in [s.title for s in chat.store.sessions()]

        highlight(listing, PROMPTS[2])
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Benchmark speeds on a 4090" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(listing.sessions) == 2)
        assert PROMPTS[2] not in [s.title for s in chat.store.sessions()]

        highlight(listing, "Quantizing notes")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is chat and bool(replies(chat)))
        assert [u.text for u in chat.log_view.query_children(UserMessage)] == [PROMPTS[0]]
        await wait_for(pilot, lambda: "Use llama-quantize." in screen_text(app))
        assert "Quantizing notes" in screen_text(app)  # the title bar
        # It goes on where it was: the next prompt is part of the same chat.
        await send(pilot, chat, "And then?")
        assert [m.content for m in stored(chat)] == [PROMPTS[0], "Use llama-quantize.", "And then?",
                                                     "Use llama-quantize."]
        # Up walks the prompts of the opened chat.
        await pilot.press("up", "up")
        assert chat.prompt.text == PROMPTS[0]


async def test_export_markdown_and_json_to_the_data_dir(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(thinking=["Weighing", " options."], chunks=["Try ", "**qwen3**."])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await open_chat(pilot, "qwen3:8b")
        await send(pilot, chat, "推荐一个中文模型")
        listing = await open_list(pilot)
        session = listing.sessions[0]
        await pilot.press("m")
        md = paths.data_dir() / "exports" / f"chat-{session.id}-推荐一个中文模型.md"
        await wait_for(pilot, lambda: md.exists())
        await wait_for(pilot, lambda: "Exported to" in screen_text(app))
        assert str(md.parent) in screen_text(app).replace("\n", "") or md.name[:10] in screen_text(app)
        text = md.read_text(encoding="utf-8")
        assert "# 推荐一个中文模型" in text and "Try **qwen3**." in text and "Weighing options." in text
        await pilot.press("j")
        js = md.with_suffix(".json")
        await wait_for(pilot, lambda: js.exists())
        data = json.loads(js.read_text(encoding="utf-8"))
        assert data["session"]["title"] == "推荐一个中文模型"
        assert [m["content"] for m in data["messages"]] == ["推荐一个中文模型", "Try **qwen3**."]
        assert not list(md.parent.glob("*.part"))
