"""#14 on the chat screen at 80x24: the wait says the model loads, a crash's chat is offered again,
the prompt is ready after a hand-off, and compare's cells keep their units and flag a model on the CPU."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, SelectionList, TextArea

from core.chat.history import HistoryStore
from core.config import Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.chat_support import chat_app, finished, open_chat, press_now, replies, send, two_hosts_app
from tests.tui.conftest import screen_text, wait_for
from tui.screens.chat.compare import CompareScreen
from tui.screens.chat.screen import ChatScreen
from tui.screens.chat.turns import ChatTurns
from tui.screens.confirm import ConfirmDialog


def flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- the wait for the first token


async def test_a_held_reply_says_the_model_is_loading_and_for_how_long(
        fake_ollama: FakeOllama, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChatTurns, "LOAD_POLL", 3600.0)  # no second look while the test reads the first
    script = fake_ollama.set_script(chunks=["Hi", "!"], hold_after=0)
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await wait_for(pilot, lambda: screen.state.resident is not None)  # /api/ps: nothing in memory
        await send(pilot, screen, "hello?", wait=False)
        await wait_for(pilot, lambda: bool(replies(screen)) and script.held.is_set())
        view = replies(screen)[-1]
        start = view._waited_from
        view.clock = lambda: start + 75  # type: ignore[method-assign]  # a minute and a quarter later
        await wait_for(pilot, lambda: "loading the model into memory · 1 min 15 s" in screen_text(app))
        script.release.set()
        await finished(pilot, screen)
        assert view.content == "Hi!"
        assert view.stats is not None and view.stats.load_s  # Ollama's load_duration, after the fact


async def test_the_wait_says_when_the_model_is_in_memory(
        fake_ollama: FakeOllama, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChatTurns, "LOAD_POLL", 0.05)
    script = fake_ollama.set_script(chunks=["Hi"], hold_after=0)
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await wait_for(pilot, lambda: screen.state.resident is not None)
        await send(pilot, screen, "hello?", wait=False)
        # The fake loads the model when the request arrives: the next look at /api/ps sees it.
        await wait_for(pilot, lambda: "model in memory, reading the prompt · " in screen_text(app))
        script.release.set()
        await finished(pilot, screen)


# --------------------------------------------------------------------------- after a crash


def crashed_chat(hours_ago: float = 1.0) -> int:
    """A chat whose reply was still streaming when the app died, an hour ago."""
    then = time.time() - hours_ago * 3600
    with HistoryStore.open(now=lambda: then) as store:
        info = store.create_session(model="llama3.2:latest", host="fake", host_kind="ollama")
        store.add_message(info.id, "user", "tell me about tides")
        reply = store.begin_reply(info.id, "llama3.2:latest")
        store.save_reply(reply, content="Tides come from the moon's", thinking="")
    return info.id


async def test_after_a_crash_the_chat_offers_the_interrupted_conversation(
        fake_ollama: FakeOllama, settings: Settings) -> None:
    session_id = crashed_chat()
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Resume the interrupted chat?" in screen_text(app)
        assert "tell me about tides" in flat(screen_text(app))
        await pilot.press("y")
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.session is not None and screen.session.id == session_id)
        text = flat(screen_text(app))
        assert "Tides come from the moon's" in text and "Interrupted" in text
    app = chat_app(fake_ollama, settings)  # offered once: the next start opens an empty chat
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot)
        await pilot.pause(0.2)
        assert app.screen is screen and screen.session is None


# --------------------------------------------------------------------------- hand-offs


async def test_the_prompt_is_focused_after_a_hand_off(fake_ollama: FakeOllama, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot)
        await press_now(pilot, "escape")  # the conversation has the focus now
        assert not screen.prompt.has_focus
        await pilot.press("1")
        app.open_chat("qwen3:8b")
        await wait_for(pilot, lambda: app.screen is screen and screen.model == "qwen3:8b")
        assert screen.prompt.has_focus


async def test_a_hand_off_to_another_host_starts_a_fresh_view(
        fake_ollama: FakeOllama, settings: Settings) -> None:
    app = two_hosts_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await send(pilot, screen, "first question")
        first = screen.session
        assert first is not None and len(replies(screen)) == 1
        app.open_chat("llama3.2:latest", "spare")  # same model, other host
        await wait_for(pilot, lambda: screen.host.name == "spare")
        assert replies(screen) == [] and screen.session is None
        assert "first question" not in screen_text(app)
        await send(pilot, screen, "second question")
        assert len(replies(screen)) == 1 and "first question" not in screen_text(app)
        assert screen.session is not None and screen.session.info.host == "spare"
        assert app.current_host is not None and app.current_host.name == "spare"


# --------------------------------------------------------------------------- compare


async def test_compare_keeps_units_and_flags_a_model_on_the_cpu(
        fake_ollama: FakeOllama, settings: Settings) -> None:
    cpu_only, partial = fake_ollama.find("qwen3:8b"), fake_ollama.find("llama3.2:latest")
    assert cpu_only is not None and partial is not None
    cpu_only.vram_fraction, partial.vram_fraction = 0.0, 0.5
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        compare.query_one(SelectionList).select("qwen3:8b")
        compare.query_one("#compare-prompt", TextArea).load_text("Why is the sky blue?")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not compare.running and bool(compare.results)
                       and all(r.status == "done" for r in compare.results.values()), timeout=30)
        table = compare.query_one(DataTable)
        rows = {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(2)}
        _m, ttft, prompt, output, predicted, vram, status = rows["qwen3:8b"]
        assert ttft.endswith(" ms") and output == "100 tok/s" and prompt.endswith(" tok/s")
        assert predicted.endswith(" tok/s") and status == "done"
        assert vram == "! 0 B: CPU only"
        assert rows["llama3.2:latest"][5].endswith(": 50% on GPU")
        # Nothing cut to the header's width: the whole cell is on screen (the table scrolls sideways).
        for column in table.ordered_columns:
            widest = max(len(str(table.get_row_at(i)[column_index(table, column.key)])) for i in range(2))
            assert column.content_width >= widest
        assert "100 tok/s" in screen_text(app)
        del screen


def column_index(table: DataTable[str], key: object) -> int:
    return [c.key for c in table.ordered_columns].index(key)  # type: ignore[arg-type]
