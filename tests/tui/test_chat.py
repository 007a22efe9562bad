"""The chat screen against the fake Ollama at 80x24: streaming, reasoning, stop, regenerate, edit."""

from __future__ import annotations

from typing import Any

from core.chat.history import HistoryStore
from core.config import Settings
from tests.tui.chat_support import (
    chat_app,
    finished,
    open_chat,
    press_now,
    replies,
    send,
    stored,
    type_prompt,
)
from tests.tui.conftest import screen_text, wait_for
from tui.screens.chat.copy_dialog import CopyScreen
from tui.screens.chat.screen import ChatScreen
from tui.widgets.chat.message import UserMessage

WORDS = ["Local", " models", " stream", " their", " answers", " token", " by", " token", "."]


async def test_a_reply_streams_in_and_gets_its_stats_line(fake_ollama: Any, settings: Settings) -> None:
    script = fake_ollama.set_script(chunks=WORDS * 4, hold_after=len(WORDS))  # held until seen
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "Say something", wait=False)
        # Part of the answer is on screen while the rest is still coming.
        seen: list[str] = []

        def partial() -> bool:
            text = screen_text(app)
            if screen.streaming and "Local models" in text:
                seen.append(text)
            return bool(seen)

        await wait_for(pilot, partial)
        assert "TTFT" not in seen[0] and "streaming…" in seen[0]
        script.release.set()
        await finished(pilot, screen)
        text = screen_text(app)
        assert "Say something" in text
        assert "token by token." in text
        # 36 chunks at the fake's fixed 10 ms each: 100 tok/s; prompt at 1 ms per token.
        assert "output 36 tok @ 100 tok/s" in text
        assert "TTFT" in text and "tok/s" in text
        messages = stored(screen)
        assert [m.role for m in messages] == ["user", "assistant"]
        assert messages[1].status == "complete"
        assert messages[1].content == "".join(WORDS * 4)


async def test_reasoning_sits_in_a_block_that_ctrl_t_hides_and_shows(fake_ollama: Any,
                                                                     settings: Settings) -> None:
    fake_ollama.set_script(thinking=["First", " I weigh", " the options."], chunks=["The answer", " is 42."])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "qwen3:8b")
        await send(pilot, screen, "What is the answer?")
        reply = replies(screen)[-1]
        assert reply.reasoning == "First I weigh the options."
        text = screen_text(app)
        assert "Thinking" in text and "The answer is 42." in text
        # Collapsed once the answer began; opening it shows the reasoning.
        assert reply.thinking_box.collapsed
        assert "I weigh" not in text
        reply.thinking_box.collapsed = False
        await pilot.pause()
        assert "First I weigh the options." in screen_text(app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        text = screen_text(app)
        assert "Thinking" not in text and "I weigh" not in text
        assert "The answer is 42." in text
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert "First I weigh the options." in screen_text(app)
        assert stored(screen)[1].thinking == "First I weigh the options."


async def test_inline_think_tags_are_split_from_the_answer(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(chunks=["<thi", "nk>Hmm, ", "a greeting.</th", "ink>", "\n\nHi there!"])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "deepseek-r1:7b")
        await send(pilot, screen, "hello")
        reply = replies(screen)[-1]
        assert reply.reasoning == "Hmm, a greeting."
        assert reply.content == "Hi there!"
        assert "<think>" not in screen_text(app)


async def test_escape_stops_the_reply_and_keeps_what_arrived(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(chunks=[f"word{i} " for i in range(400)], hold_after=10)
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "Go on and on", wait=False)
        await wait_for(pilot, lambda: "word5" in screen_text(app))
        await press_now(pilot, "escape")
        await finished(pilot, screen)
        text = screen_text(app)
        assert "Stopped" in text
        reply = stored(screen)[1]
        assert reply.status == "stopped"
        assert reply.content.startswith("word0 word1 ")
        assert "word399" not in reply.content
        assert replies(screen)[-1].content == reply.content
        # The prompt box is free again, and the stopped reply can be asked again.
        assert not screen.streaming


async def test_regenerate_replaces_the_last_reply(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(chunks=["First", " try."])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "Tell me a fact")
        assert "First try." in screen_text(app)
        fake_ollama.set_script(chunks=["Second", " try."])
        await pilot.press("ctrl+r")
        await finished(pilot, screen)
        text = screen_text(app)
        assert "Second try." in text and "First try." not in text
        assert len(replies(screen)) == 1
        assert [m.content for m in stored(screen)] == ["Tell me a fact", "Second try."]


async def test_edit_puts_the_last_prompt_back_and_resending_replaces_it(fake_ollama: Any,
                                                                       settings: Settings) -> None:
    fake_ollama.set_script(chunks=["Answer."])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "What is a GGUF?")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert screen.prompt.text == "What is a GGUF?"
        assert "Editing your last message" in screen_text(app)
        await send(pilot, screen, "What is a safetensors file?")
        assert [m.content for m in stored(screen)] == ["What is a safetensors file?", "Answer."]
        users = list(screen.log_view.query_children(UserMessage))
        assert [u.text for u in users] == ["What is a safetensors file?"]
        assert len(replies(screen)) == 1
        assert "Editing your last message" not in screen_text(app)
        last = fake_ollama.requests[-1] if fake_ollama.requests[-1].path == "/api/chat" else None
        chats = [r for r in fake_ollama.requests if r.path == "/api/chat"]
        assert chats[-1].body["messages"][-1]["content"] == "What is a safetensors file?"
        assert last is None or last.body["messages"][-1]["content"] == "What is a safetensors file?"


async def test_escape_while_editing_gives_back_the_draft(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "first")
        await type_prompt(pilot, screen, "half-written draft")
        await pilot.press("ctrl+l")
        assert screen.prompt.text == "first"
        await pilot.press("escape")
        await pilot.pause()
        assert screen.prompt.text == "half-written draft"
        assert not screen.turns.editing


async def test_prompt_history_walks_back_and_forth(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "one")
        await send(pilot, screen, "two")
        await type_prompt(pilot, screen, "dra")
        await pilot.press("end")
        await pilot.press("up")
        assert screen.prompt.text == "two"
        await pilot.press("up")
        assert screen.prompt.text == "one"
        await pilot.press("up")
        assert screen.prompt.text == "one"  # the oldest stays
        await pilot.press("down", "down")
        assert screen.prompt.text == "dra"


async def test_ctrl_j_adds_a_line_and_enter_sends_both(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        screen.prompt.focus()
        await pilot.press("a", "ctrl+j", "b", "q", "1")
        assert screen.prompt.text == "a\nbq1"  # letters and digits type; they do not quit or switch
        await pilot.press("enter")
        await finished(pilot, screen)
        assert stored(screen)[0].content == "a\nbq1"


async def test_chinese_and_emoji_replies_are_on_screen(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(chunks=["你好", "！量化", "模型", "运行", "很快 🚀", "\n\n- 列表", "项 😀"])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "用中文回答")
        text = screen_text(app)
        assert "用中文回答" in text
        assert "你好！量化模型运行很快 🚀" in text
        assert "列表项 😀" in text


async def test_copy_the_reply_or_a_code_block(fake_ollama: Any, settings: Settings) -> None:
    reply = "Run this:\n\n```bash\nollama run qwen3:8b\n```\n\nThen that:\n\n```python\nprint('hi')\n```\n"
    fake_ollama.set_script(chunks=[reply[i:i + 7] for i in range(0, len(reply), 7)])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "How do I run it?")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, CopyScreen))
        text = screen_text(app)
        assert "Code block 1: bash" in text and "Code block 2: python" in text
        assert "set-clipboard" in text  # how to make OSC 52 pass through tmux
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert app.clipboard == "ollama run qwen3:8b\n"
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, CopyScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert app.clipboard == reply


async def test_the_model_browser_hands_off_a_model(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "qwen3:8b")
        assert app.current_mode == "chat"
        assert "qwen3:8b" in screen_text(app)
        await send(pilot, screen, "hi")
        assert stored(screen)[1].model == "qwen3:8b"
        # A second hand-off to another model starts a new chat; the first stays in the history.
        first = screen.session
        app.open_chat("llama3.2:latest")
        await wait_for(pilot, lambda: screen.model == "llama3.2:latest")
        assert screen.session is None and not replies(screen)
        assert first is not None and len(HistoryStore.open().messages(first.id)) == 2


async def test_context_warning_when_the_prompt_nears_the_context(fake_ollama: Any,
                                                                  settings: Settings) -> None:
    fake_ollama.set_script(chunks=["ok"], stats={"prompt_eval_count": 3900})
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "a long document ...")
        # The fake runs models at 4096 tokens (its /api/ps says so), as Ollama does by default.
        assert screen.state.context_length == 4096
        text = screen_text(app)
        assert "3,901 of 4,096 context tokens" in text


async def test_escape_leaves_the_prompt_so_screen_keys_work_and_f1_shows_the_keys(
        fake_ollama: Any, settings: Settings) -> None:
    from tui.screens.dashboard.screen import DashboardScreen
    from tui.screens.help import HelpScreen

    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        assert screen.prompt.has_focus
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        body = app.screen.query_one("#help-body")
        while body.scroll_y < body.max_scroll_y:  # read the whole list, a page at a time
            body.scroll_page_down(animate=False)
            await pilot.pause()
            text += screen_text(app)
        for words in ("Regenerate", "Edit the last prompt", "thinking", "Options", "Chats", "Copy", "Compare",
                      "Send", "New line", "on the first line", "Leave the prompt", "A new chat"):
            assert words in text, words
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        assert screen.log_view.has_focus
        await pilot.press("i")
        assert screen.prompt.has_focus and screen.prompt.text == ""
        await pilot.press("escape", "1")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("4")
        await wait_for(pilot, lambda: app.screen is screen)
