"""Pilot tests of the model browser at 80x24: list, sort, filter, details, loaded models and `ollama ps`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.config import Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import (
    SIZE,
    details,
    highlight,
    models_app,
    one_line,
    open_browser,
    running_panel,
    shown_names,
    table,
)
from tui.screens.help import HelpScreen
from tui.widgets.models.table import LOADED_MARK
from tui.widgets.models.table import ModelTable as ModelTableWidget

DEMO_BY_NEWEST = ["qwen3:8b", "llama3.2:latest", "deepseek-r1:7b", "nomic-embed-text:latest"]
BY_NAME = ["deepseek-r1:7b", "llama3.2:latest", "nomic-embed-text:latest", "qwen3:8b"]
BY_SIZE = ["qwen3:8b", "deepseek-r1:7b", "llama3.2:latest", "nomic-embed-text:latest"]


async def test_the_list_shows_every_model_like_ollama_list(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        assert shown_names(screen) == DEMO_BY_NEWEST  # newest first, as `ollama list`
        text = screen_text(app)
        for row in (["qwen3:8b", "5.2 GB", "8.2B", "Q4_K_M", "qwen3", "5h ago"],
                    ["nomic-embed-text:latest", "274 MB", "137M", "F16", "nomic-bert", "3mo ago"]):
            line = next(line for line in text.splitlines() if row[0] in line)
            for cell in row:
                assert cell in line, (cell, line)
        assert "4 models, 12 GB" in text
        assert f"fake · {fake_ollama.url} · Ollama 0.12.6" in text  # which server, in the header
        assert "q Quit" in text and "? Help" in text  # the footer still fits at 80 columns


async def test_s_cycles_the_sort_column_and_S_reverses_it(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("s")  # modified -> name (the column after the last is the first)
        assert table(screen).order.column == "name"
        assert shown_names(screen) == BY_NAME
        assert "Name▲" in screen_text(app)
        await pilot.press("s")  # size, biggest first
        assert shown_names(screen) == BY_SIZE
        await pilot.press("S")
        assert shown_names(screen)[0] == "nomic-embed-text:latest"
        assert "sort size ▲" in screen_text(app)
        await pilot.press("s")  # parameters: 137M sorts below 3.2B below 8.2B
        assert shown_names(screen) == BY_SIZE
        await pilot.press("s")  # quant: best quality first, F16 before Q4_K_M
        assert shown_names(screen)[0] == "nomic-embed-text:latest"
        await pilot.press("s")  # family
        assert [m.details.family for m in table(screen).shown] == ["llama", "nomic-bert", "qwen2", "qwen3"]


async def test_clicking_a_header_sorts_and_clicking_again_reverses(settings: Settings,
                                                                   fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        grid = table(screen)
        size_x = grid.column_x("size") + 1  # after the column's padding
        header = screen_text(app).splitlines()[2]
        assert header[size_x + 1:size_x + 5] == "Size"  # + 1: the box's border comes first
        await pilot.click(ModelTableWidget, offset=(size_x, 0))
        await pilot.pause()
        assert grid.order.column == "size" and grid.order.descending
        await pilot.click(ModelTableWidget, offset=(size_x, 0))
        await pilot.pause()
        assert grid.order.column == "size" and not grid.order.descending
        assert shown_names(screen)[0] == "nomic-embed-text:latest"


async def test_sorting_keeps_the_cursor_on_the_same_model(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, "deepseek-r1:7b")
        await pilot.press("s", "s")
        assert table(screen).highlighted is not None
        assert table(screen).highlighted.name == "deepseek-r1:7b"
        assert details(screen).info is not None and details(screen).info.name == "deepseek-r1:7b"


async def test_slash_filters_as_you_type_and_escape_clears(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("slash", "q", "w")
        assert shown_names(screen) == ["qwen3:8b", "deepseek-r1:7b"]  # deepseek-r1:7b is a qwen2
        await pilot.press("e", "n", "3")
        assert shown_names(screen) == ["qwen3:8b"]
        assert "1 match 'qwen3'" in screen_text(app)
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace")
        await pilot.press(*"f16")  # the quantization is searched too
        assert shown_names(screen) == ["nomic-embed-text:latest"]
        await pilot.press("escape")
        assert shown_names(screen) == DEMO_BY_NEWEST
        assert screen.focused is table(screen)
        # Letters typed into the filter never reach the screen's keys (p would open the pull dialog).
        await pilot.press("slash", "p", "z")
        assert app.screen is screen
        assert shown_names(screen) == []
        assert "No model matches 'pz'" in one_line(screen_text(app))
        await pilot.press("escape")


async def test_enter_in_the_filter_keeps_it_and_returns_to_the_list(settings: Settings,
                                                                    fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("slash", *"llama", "enter")
        assert screen.focused is table(screen)
        assert shown_names(screen) == ["llama3.2:latest"]
        await wait_for(pilot, lambda: details(screen).info is not None
                       and details(screen).info.name == "llama3.2:latest")
        await pilot.press("s")  # keys act on the list again
        assert table(screen).order.column == "name"


async def test_details_pane_shows_what_api_show_says(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        assert details(screen).info is not None and details(screen).info.name == "qwen3:8b"
        body = one_line(screen_text(app))
        for fact in ("Architecture qwen3", "Context 40,960", "Embedding 4,096", "Layers 36", "Heads 32",
                     "KV heads 8", "8.19 B (8.2B)", "✓ completion ✓ thinking ✓ tools · vision"):
            assert fact in body, fact
        # The long texts are further down: scroll the pane page by page and read everything it shows.
        pane = details(screen)
        pane.focus()
        seen = body
        while pane.scroll_y < pane.max_scroll_y:
            await pilot.press("pagedown")
            await pilot.pause()
            seen += " " + one_line(screen_text(app))
        assert pane.scroll_y > 0
        for part in ("Parameters", "temperature 0.6", "top_k 20", "Template", "<|im_start|>assistant",
                     "License", "Apache License", "Modelfile",
                     "FROM /root/.ollama/models/blobs/sha256-500a1f067a9f", 'Version 2.0, January 2004"""'):
            assert part in seen, part


async def test_details_follow_the_cursor_and_name_per_layer_heads(settings: Settings,
                                                                  fake_ollama: FakeOllama) -> None:
    gemma = fake_ollama.find("llama3.2:latest")
    assert gemma is not None
    gemma.head_count_kv = [8, 8, 4, 4]  # a hybrid model stores one value per layer
    gemma.capabilities = ["completion", "vision"]
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, "llama3.2:latest")
        body = one_line(screen_text(app))
        assert "KV heads 4-8 per layer" in body
        assert "· completion" not in body and "✓ vision" in body and "· thinking" in body
        assert "Context 131,072" in body


async def test_loaded_models_get_a_marker_and_the_ps_processor_string(settings: Settings,
                                                                      fake_ollama: FakeOllama) -> None:
    # 48% of 10 GB on the CPU: `ollama ps` prints "48%/52% CPU/GPU".
    fake_ollama.set_running("qwen3:8b", size=10_000_000_000, size_vram=5_200_000_000, context_length=8192,
                            expires_in=250)
    fake_ollama.set_running("llama3.2", size=3_000_000_000, size_vram=3_000_000_000, expires_in=-1)
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await wait_for(pilot, lambda: len(running_panel(screen).running) == 2)
        text = screen_text(app)
        marked = {line.split()[2] for line in text.splitlines() if f"│ {LOADED_MARK} " in line}
        assert marked == {"qwen3:8b", "llama3.2:latest"}
        qwen = next(line for line in text.splitlines() if "qwen3:8b" in line and "CPU/GPU" in line)
        for cell in ("10 GB", "5.2 GB", "48%/52% CPU/GPU", "8192", "in 4 minutes"):
            assert cell in qwen, (cell, qwen)
        llama = next(line for line in text.splitlines() if "llama3.2:latest" in line and "GPU" in line)
        assert "100% GPU" in llama and "forever" in llama
        assert "2 loaded" in text


async def test_the_ps_poll_follows_the_server(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        assert "Nothing is loaded" in screen_text(app)
        fake_ollama.set_running("deepseek-r1:7b", size_vram=0)  # loaded by someone else, e.g. `ollama run`
        await wait_for(pilot, lambda: "deepseek-r1:7b" in table(screen).loaded, timeout=5)
        assert "100% CPU" in screen_text(app)
        fake_ollama.unload("deepseek-r1:7b")
        await wait_for(pilot, lambda: not table(screen).loaded, timeout=5)
        assert "Nothing is loaded" in screen_text(app)


async def test_expired_models_read_stopping(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.set_running("qwen3:8b")
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await wait_for(pilot, lambda: bool(running_panel(screen).running))
        panel = running_panel(screen)
        panel.clock = lambda: datetime.now(UTC).timestamp() + timedelta(minutes=10).total_seconds()
        panel.show(panel.running)
        await pilot.pause()
        assert "stopping…" in screen_text(app)


async def test_help_lists_every_key_of_the_browser(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=(100, 50)) as pilot:
        await open_browser(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        # the names the key line uses, each with its longer explanation where it has one
        for words in ("Filter", "Sort by next column", "Reverse the order", "Pull", "Mark for a bulk",
                      "Delete", "Copy to a new name", "Rename", "Load - Into memory", "Load and keep loaded",
                      "Unload from memory", "Plan", "Server health", "Next Ollama host", "Refresh / retry",
                      "GGUF files"):
            assert words in text, words
        await pilot.press("escape")


async def test_enter_and_f_hand_the_model_to_chat_and_planner(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    calls: list[tuple[str, str, str | None]] = []
    app.open_planner = lambda model, host=None: calls.append(("planner", model, host))  # type: ignore[method-assign]
    app.open_chat = lambda model, host=None: calls.append(("chat", model, host))  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, "deepseek-r1:7b")
        await pilot.press("f")
        await pilot.press("enter")
        await pilot.pause()
        assert calls == [("planner", "deepseek-r1:7b", "fake"), ("chat", "deepseek-r1:7b", "fake")]


async def test_a_wide_terminal_puts_the_details_beside_the_list(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.set_running("qwen3:8b")
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=(150, 40)) as pilot:
        screen = await open_browser(pilot)
        # The panel's data first, then the frame that paints it (one can lag the other).
        await wait_for(pilot, lambda: bool(running_panel(screen).running))
        await wait_for(pilot, lambda: "100% GPU" in screen_text(app))
        assert screen.has_class("-wide")
        lines = screen_text(app).splitlines()
        row = next(line for line in lines if "qwen3:8b" in line and "5.2 GB" in line)
        # a list row and a details line share the screen row (a loaded model's details start with its
        # predicted load beside the actual one, then the facts)
        assert "Predicted" in row and "40,960" in screen_text(app)
        assert "100% GPU" in screen_text(app)
