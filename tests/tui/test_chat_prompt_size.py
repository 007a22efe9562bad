"""A prompt longer than the model's context: asked about before it is sent, kept when declined."""

from __future__ import annotations

from typing import Any

from core.chat.types import ChatOptions
from core.config import Settings
from tests.tui.chat_support import chat_app, finished, open_chat, send, stored, type_prompt
from tests.tui.conftest import screen_text, wait_for
from tui.screens.chat.screen import ChatScreen
from tui.screens.confirm import ConfirmDialog


def question(app: Any) -> str:
    dialog = app.screen
    assert isinstance(dialog, ConfirmDialog)
    return dialog.message


def chats(fake: Any) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in fake.requests if r.path == "/api/chat"]


async def test_a_prompt_over_the_context_is_asked_about_and_kept_when_declined(
        fake_ollama: Any, settings: Settings) -> None:
    big = " ".join(["The quick brown fox jumps over the lazy dog."] * 1000)  # 44,999 characters
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await wait_for(pilot, lambda: "llama3.2:latest" in screen.state.facts)  # the vocabulary is known
        screen.options = ChatOptions(num_ctx=8192)
        await type_prompt(pilot, screen, big)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Longer than the model's context" in screen_text(app)
        assert question(app).startswith("This prompt is about 11,258 tokens (44,999 characters). "
                                        "llama3.2:latest runs with a context of 8,192 tokens, so it will "
                                        "not see all of it")
        assert question(app).endswith("Send it anyway?")
        await pilot.press("enter")  # the focused button is Cancel: a stray Enter sends nothing
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert screen.prompt.text == big and chats(fake_ollama) == []
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert screen.prompt.text == big and chats(fake_ollama) == [] and screen.session is None

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: chats(fake_ollama) == [big])
        await finished(pilot, screen)
        assert stored(screen)[0].content == big and screen.prompt.text == ""


async def test_the_conversation_so_far_counts_and_a_prompt_that_fits_is_not_asked_about(
        fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await wait_for(pilot, lambda: "llama3.2:latest" in screen.state.facts)
        screen.options = ChatOptions(num_ctx=2048)
        await send(pilot, screen, "word " * 1200)  # ~1,500 tokens: fits alone, no question
        assert len(chats(fake_ollama)) == 1 and isinstance(app.screen, ChatScreen)
        screen.prompt.focus()
        screen.prompt.load_text("more " * 1200)  # fits alone, not with what came before
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert question(app).startswith("This prompt is about 1,508 tokens (6,000 characters); with what is "
                                        "sent along with it, about 3,030.")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert len(chats(fake_ollama)) == 1 and screen.prompt.text == "more " * 1200
