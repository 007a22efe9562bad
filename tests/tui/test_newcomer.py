"""#14 at 80x24: planner columns, type-ahead, the Ctrl+O focus, jobs' tools, names and toast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, Static

from core.config import Settings
from core.pipeline.types import JobSpec
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
from tests.tui.chat_support import chat_app, open_chat
from tests.tui.conftest import screen_text, wait_for
from tests.tui.planner_support import SIZE, open_planner, plan_of, planner_app
from tests.tui.test_jobs import jobs_app, no_tools, open_jobs, type_text
from tui.screens.chat.options import ChatOptionsScreen
from tui.screens.jobs.new_job import NewJobDialog
from tui.screens.jobs.screen import TOAST_S
from tui.screens.planner.screen import PlannerScreen
from tui.widgets.planner.table import PlanTable


def header(table: PlanTable) -> list[str]:
    return [c.label.plain for c in table.columns.values()]


async def test_the_planner_shows_the_deciding_columns_with_units_and_the_rest_on_x(
        settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_planner(pilot)
        screen = await plan_of(pilot, "llama3.1:8b")
        table = screen.query_one(PlanTable)
        assert header(table) == ["Quant", "Runs on", "tok/s", "GPU", "RAM", "File"]
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no scroll to the right
        text = screen_text(app)
        assert "tok/s" in text and "File" in text and "GiB" in text
        await pilot.press("x")
        await pilot.pause()
        assert header(table) == ["Quant", "Runs on", "+PPL L3-8B", "Max ctx", "KV", "Prompt tok/s", "bpw"]
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert "Prompt tok/s" in screen_text(app)
        await pilot.press("x")
        await pilot.pause()
        assert header(table)[2] == "tok/s"


async def test_text_typed_right_after_opening_the_planner_lands_in_the_model_field(
        settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        for ch in "3llama":  # all typed before the app has read the 3
            app.post_message(events.Key(ch, ch))
        await wait_for(pilot, lambda: isinstance(app.screen, PlannerScreen)
                       and app.screen.query_one("#plan-model", Input).value == "llama")
        field = app.screen.query_one("#plan-model", Input)
        assert app.screen.focused is field
        assert app.screen.query_one("#plan-fa").has_class("-textual-compact")  # no 'a' ran as a key
        assert str(app.screen.choices.flash_attn) == "auto"


async def test_ctrl_o_opens_the_chat_options_with_the_model_list_focused(fake_ollama: Any,
                                                                         settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_chat(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatOptionsScreen))
        assert app.screen.focused is not None and app.screen.focused.id == "opt-model"


async def test_the_job_form_says_the_tools_are_missing_before_submit_and_the_toast_is_short(
        settings: Settings, tmp_path: Path) -> None:
    model = ensure_hf_model(TINY_LLAMA)
    app = jobs_app(settings, llamacpp=no_tools(tmp_path), ollama_url="http://127.0.0.1:9")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewJobDialog))
        dialog = app.screen
        tools = dialog.query_one("#job-tools", Static)
        await wait_for(pilot, lambda: bool(tools.display))
        await type_text(pilot, str(model))
        await wait_for(pilot, lambda: "convert_hf_to_gguf.py and llama-quantize" in str(tools.content))
        assert "llama-quantize are not found" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and len(screen.jobs) == 1)
        await wait_for(pilot, lambda: screen.jobs[1].status == "failed", timeout=60)
        await pilot.pause()
        toasts = list(app._notifications)
        assert toasts and all(t.timeout <= TOAST_S and not t.title and "\n" not in t.message for t in toasts)
        assert "The pre-flight found" in screen_text(app)  # the report, not hidden


def checkpoint(folder: Path, name_or_path: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"_name_or_path": name_or_path}), encoding="utf-8")
    return folder


async def test_two_jobs_from_two_hf_folders_are_named_by_their_models(settings: Settings,
                                                                     tmp_path: Path) -> None:
    qwen = checkpoint(tmp_path / "a" / "hf", "Qwen/Qwen2.5-7B-Instruct")
    llama = checkpoint(tmp_path / "b" / "hf", "/home/me/Llama-3.1-8B")
    app = jobs_app(settings, llamacpp=no_tools(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        first = screen.add_job(JobSpec(str(qwen)))
        second = screen.add_job(JobSpec(str(llama)))
        await pilot.pause()
        assert (first.name, second.name) == ("Qwen2.5-7B-Instruct", "Llama-3.1-8B")
        text = screen_text(app)
        assert "Qwen2.5-7B-Instruct" in text and "Llama-3.1-8B" in text
