"""The chat screen when things go wrong: nothing typed or received is lost, and a sentence says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events

from core import paths
from core.chat.history import HistoryStore
from core.config import Settings
from tests.tui.chat_support import chat_app, finished, open_chat, replies, send, stored, type_prompt
from tests.tui.conftest import screen_text, wait_for
from tui.screens.chat.options import ChatOptionsScreen
from tui.screens.confirm import ConfirmDialog
from tui.widgets.chat.input import MAX_PROMPT_CHARS
from tui.widgets.notice_bar import NoticeBar

WORDS = [f"part{i} " for i in range(12)]


async def test_a_dropped_stream_keeps_the_partial_reply_and_retry_finishes_it(
        fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(chunks=WORDS)
    fake_ollama.add_fault(path="/api/chat", drop_after=5, times=1)
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "Count for me")
        text = screen_text(app)
        assert "part0 part1 part2 part3" in text
        assert "✗" in text and "Ctrl+R asks again" in text
        broken = stored(screen)[1]
        assert broken.status == "error" and broken.content == "part0 part1 part2 part3 part4 "
        assert broken.error
        await pilot.press("ctrl+r")
        await finished(pilot, screen)
        text = screen_text(app)
        assert "part11" in text and "✗" not in text
        assert [m.status for m in stored(screen)] == ["complete", "complete"]
        assert stored(screen)[1].content == "".join(WORDS)


async def test_an_error_line_mid_stream_is_shown_and_the_partial_kept(fake_ollama: Any,
                                                                      settings: Settings) -> None:
    fake_ollama.set_script(chunks=WORDS)
    fake_ollama.add_fault(path="/api/chat", error_line_after=3, error="model runner has unexpectedly stopped",
                          times=1)
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "Go")
        text = screen_text(app)
        assert "unexpectedly stopped" in text
        assert "part0 part1 part2" in text
        assert stored(screen)[1].status == "error"


async def test_server_down_leaves_the_prompt_in_the_box_and_says_so(fake_ollama: Any,
                                                                   settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        with fake_ollama.refusing():
            await send(pilot, screen, "Is anyone there?\nSecond line.")
            await pilot.pause(0.1)
            assert "Ollama is not running at" in screen_text(app)
            sentence = f"Ollama is not running at {fake_ollama.url} - start it with `ollama serve`"
            assert screen.query_one(NoticeBar).notices[0].startswith(sentence)
            assert screen.prompt.text == "Is anyone there?\nSecond line."
            assert not replies(screen)
            assert screen.session is None
            assert screen.store is not None and screen.store.sessions() == []  # no empty chat left behind
        # Back up: Enter sends the same prompt, nothing retyped.
        await send(pilot, screen, screen.prompt.text)
        assert stored(screen)[0].content == "Is anyone there?\nSecond line."
        assert "Ollama is not running" not in screen_text(app)


async def test_a_model_that_is_not_there_is_named(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        app.open_chat("ghost:7b")  # a hand-off for a model deleted in the meantime
        await wait_for(pilot, lambda: screen.model == "ghost:7b")
        await send(pilot, screen, "hello?")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Model 'ghost:7b' is not on Ollama" in text
        assert screen.prompt.text == "hello?"
        assert not replies(screen)


async def test_a_one_megabyte_paste_is_taken_and_sent(fake_ollama: Any, settings: Settings) -> None:
    line = "0123456789 abcdefghij ABCDEFGHIJ klmnopqrst 中文字符测试 😀 uvwxyz " * 2
    big = (line + "\n") * (1_000_000 // (len(line) + 1) + 1)
    assert len(big) > 1_000_000
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await wait_for(pilot, lambda: "llama3.2:latest" in screen.state.facts)  # its context is known
        screen.prompt.focus()
        screen.prompt.post_message(events.Paste(big))
        await wait_for(pilot, lambda: len(screen.prompt.text) == len(big), timeout=30)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))  # 300k tokens > 131,072
        await pilot.press("y")
        await finished(pilot, screen, timeout=30)
        chats = [r for r in fake_ollama.requests if r.path == "/api/chat"]
        assert chats[-1].body["messages"][-1]["content"] == big
        assert stored(screen)[0].content == big
        # On screen the prompt is cut, so layout stays quick; it says all of it was sent.
        assert f"{len(big):,} characters in all" in screen_text(app) or screen.log_view.max_scroll_y > 0


async def test_a_paste_past_the_limit_is_refused_with_a_sentence(fake_ollama: Any,
                                                                 settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await type_prompt(pilot, screen, "keep me")
        screen.prompt.post_message(events.Paste("x" * MAX_PROMPT_CHARS))
        await wait_for(pilot, lambda: "Not pasted" in screen_text(app))
        assert "llamadeck sends at most 2,000,000" in screen.query_one(NoticeBar).notices[0]
        assert screen.prompt.text == "keep me"


async def test_a_40_by_12_terminal_still_chats(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(thinking=["Short", " thought."], chunks=["Small", " screens", " work", " too."])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(40, 12)) as pilot:
        screen = await open_chat(pilot, "qwen3:8b")
        await send(pilot, screen, "hi")
        text = screen_text(app)
        assert "Small screens work too." in text
        assert "Enter send" not in text or "hi" in text
        assert screen.prompt.region.height >= 3 and screen.prompt.region.bottom <= 12
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatOptionsScreen))
        assert "Chat options" in screen_text(app)
        await pilot.press("escape")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "Small screens work too." in screen_text(app)


async def test_a_corrupt_history_is_moved_aside_and_said_so(fake_ollama: Any, settings: Settings) -> None:
    history = paths.data_dir() / "history.sqlite3"
    history.parent.mkdir(parents=True, exist_ok=True)
    history.write_bytes(b"this is not a database, it was truncated by a full disk" * 100)
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        text = screen_text(app)
        assert "could not be read" in text and "Nothing was deleted" in text
        assert screen.store is not None and screen.store.moved_to is not None
        moved: Path = screen.store.moved_to
        assert moved.read_bytes().startswith(b"this is not a database")
        await send(pilot, screen, "still works")
        assert stored(screen)[0].content == "still works"
    assert [s.title for s in HistoryStore.open(history).sessions()] == ["still works"]


async def test_options_say_what_is_wrong_and_reach_the_server(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "one")
        await send(pilot, screen, "two")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatOptionsScreen))
        dialog = app.screen
        dialog.query_one("#opt-temperature").value = "warm"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        assert "temperature must be a number such as 0.7, not 'warm'" in screen_text(app)
        dialog.query_one("#opt-temperature").value = "0.2"  # type: ignore[attr-defined]
        dialog.query_one("#opt-history_limit").value = "1"  # type: ignore[attr-defined]
        dialog.query_one("#opt-num_ctx").value = "8192"  # type: ignore[attr-defined]
        dialog.query_one("#opt-system").load_text("Answer in one word.")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.options.temperature == 0.2 and screen.options.history_limit == 1
        assert "history 1" in screen_text(app) and "ctx 8,192" in screen_text(app)
        await send(pilot, screen, "three")
        body = [r for r in fake_ollama.requests if r.path == "/api/chat"][-1].body
        assert body["options"]["temperature"] == 0.2 and body["options"]["num_ctx"] == 8192
        assert [m["content"] for m in body["messages"]] == ["Answer in one word.", "three"]


async def test_quitting_mid_reply_keeps_what_arrived(fake_ollama: Any, settings: Settings) -> None:
    fake_ollama.set_script(chunks=[f"word{i} " for i in range(400)], hold_after=10)
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "Talk for a while", wait=False)
        await wait_for(pilot, lambda: "word5" in screen_text(app))
        assert screen.session is not None
        session_id = screen.session.id
        app.exit()
    with HistoryStore.open() as store:
        messages = store.messages(session_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].status == "stopped"
    assert messages[1].content.startswith("word0 word1 word2 word3 word4 word5")


async def test_an_openai_host_takes_a_typed_model_name(fake_ollama: Any, settings: Settings) -> None:
    """llama-server and vLLM list no models the way Ollama does: the name is typed in Ctrl+O."""
    from dataclasses import replace

    from textual.widgets import Input

    from core.config import HostConfig
    from core.hardware.probe import HardwareProbe
    from tests.fakes.fake_nvml import FakeGpu, FakeNvml
    from tui.app import make_app
    from tui.screens.chat.screen import ChatScreen
    from tui.services import Services

    these = replace(settings, hosts=(HostConfig(name="llama-server", url="http://127.0.0.1:9/v1",
                                                kind="openai"),))
    app = make_app(these, Services(hardware=HardwareProbe.from_settings(these, nvml=FakeNvml([FakeGpu()]))))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen.store is not None)
        screen = app.screen
        assert isinstance(screen, ChatScreen) and screen.model is None
        assert "Set the model with Ctrl+O" in screen_text(app)
        await send(pilot, screen, "hello", wait=False)
        assert screen.prompt.text == "hello" and not screen.session  # nothing to send to yet
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatOptionsScreen))
        app.screen.query_one("#opt-model", Input).value = "qwen2.5-0.5b-instruct"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.model == "qwen2.5-0.5b-instruct"
        assert "qwen2.5-0.5b-instruct" in screen_text(app)
