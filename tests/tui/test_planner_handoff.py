"""The planner reached from the model browser (`f`) and its Ollama side: the model comes from /api/show."""

from __future__ import annotations

from core.config import Settings
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import highlight, models_app, one_line, open_browser
from tests.tui.planner_support import SIZE, cell, open_planner, planner, planner_app
from tui.screens.planner.picker import PickerScreen
from tui.screens.planner.screen import PlannerScreen
from tui.widgets.planner.table import PlanTable


async def test_f_in_the_browser_opens_the_planner_with_the_model(settings: Settings,
                                                                 fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama, nvml=FakeNvml([FakeGpu()]))
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(pilot)
        await highlight(pilot, browser, "deepseek-r1:7b")
        shows_before = sum(1 for r in fake_ollama.requests if r.path == "/api/show")
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PlannerScreen) and app.screen.plan is not None
                       and app.screen.settled)
        screen = planner(pilot)
        assert app.current_mode == "planner"
        model = screen.model
        assert model is not None
        assert (model.kind, model.ollama_name) == ("ollama", "deepseek-r1:7b")
        assert model.facts.architecture == "qwen2"
        assert sum(1 for r in fake_ollama.requests if r.path == "/api/show") > shows_before
        assert screen.query_one("#plan-model").value == "ollama:deepseek-r1:7b"  # type: ignore[attr-defined]
        table = screen.query_one(PlanTable)
        assert table.selected is not None and table.selected.quant == "Q4_K_M"  # how Ollama stores it
        text = one_line(screen_text(app))
        assert "deepseek-r1:7b · ollama · qwen2" in text
        assert "this is how deepseek-r1:7b is" in text  # "stored" may wrap past the scroll bar
        assert cell(screen, "Q4_K_M", "Runs on").plain == "GPU"
        # Back in the browser and f on another model: the same planner, the new model.
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "models")
        await highlight(pilot, browser, "qwen3:8b")
        await pilot.press("f")
        await wait_for(pilot, lambda: app.screen is screen and screen.settled and screen.model is not None
                       and screen.model.ollama_name == "qwen3:8b")


async def test_the_model_picker_lists_the_servers_models(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = planner_app(settings, ollama=fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen)
                       and any(i.value == "ollama:llama3.2:latest" for i in app.screen.items))
        await pilot.press(*"ollama:llama3.2", "enter")
        await wait_for(pilot, lambda: screen.settled and screen.model is not None)
        assert screen.model is not None and screen.model.kind == "ollama"
        assert screen.model.ollama_name == "llama3.2:latest" and screen.plan is not None


async def test_the_picker_says_when_ollama_is_not_there(settings: Settings) -> None:
    from tests.tui.test_planner_faults import dead_host

    app = planner_app(dead_host(settings))
    async with app.run_test(size=SIZE) as pilot:
        await open_planner(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen)
                       and app.screen.query_one("#picker-status").has_class("-error"))
        assert "Ollama is not running at http://127.0.0.1:" in one_line(screen_text(app))
        await pilot.press(*"qwen3 8b", "enter")  # the catalog still works
        screen = planner(pilot)
        await wait_for(pilot, lambda: screen.settled and screen.model is not None)
        assert screen.model is not None and screen.model.facts.name == "Qwen3 8B"
