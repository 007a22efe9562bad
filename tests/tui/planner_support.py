"""Helpers for the planner's Pilot tests: the real app and probe, fake NVML (and fake Ollama where asked)."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input

from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.planner.screen import PlannerScreen
from tui.services import Services
from tui.widgets.live_text import LiveText
from tui.widgets.planner.table import PlanTable

SIZE = (80, 24)


def planner_app(settings: Settings, nvml: FakeNvml | None = None,
                ollama: FakeOllama | None = None) -> LlamadeckApp:
    """The real app on one fake RTX 4090 (by default); `ollama` becomes the configured host "fake"."""
    if ollama is not None:
        settings = replace(settings, hosts=(HostConfig(name="fake", url=ollama.url),), default_host="fake")
    probe = HardwareProbe.from_settings(settings, nvml=nvml if nvml is not None else FakeNvml([FakeGpu()]))
    return make_app(settings, Services(hardware=probe))


def planner(pilot: Pilot[object]) -> PlannerScreen:
    screen = pilot.app.screen
    assert isinstance(screen, PlannerScreen), f"expected the planner, got {screen!r}"
    return screen


async def open_planner(pilot: Pilot[object]) -> PlannerScreen:
    """Press 3 and wait until the machine has been probed."""
    await pilot.press("3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PlannerScreen)
                   and pilot.app.screen.info is not None)
    return planner(pilot)


async def type_into(pilot: Pilot[object], field: str, text: str) -> None:
    """Focus a field (by id), clear it and type `text` key by key, as a user would."""
    screen = planner(pilot)
    widget = screen.query_one(f"#{field}", Input)
    widget.focus()
    await pilot.pause()
    widget.value = ""
    await pilot.press(*text)


async def plan_of(pilot: Pilot[object], text: str) -> PlannerScreen:
    """`i`, type the model, Enter; wait for its plan (or its failure)."""
    screen = planner(pilot)
    before = screen.model_number
    await pilot.press("i")
    await type_into(pilot, "plan-model", text)
    await pilot.press("enter")
    await settled(pilot, before)
    return screen


async def settled(pilot: Pilot[object], model_number: int) -> None:
    """Wait until a lookup newer than `model_number` has ended in a plan or a sentence."""
    screen = planner(pilot)
    await wait_for(pilot, lambda: screen.model_number > model_number and screen.settled
                   and (screen.has_class("-failed") or screen.plan is not None))


def cell(screen: PlannerScreen, quant: str, column: str) -> Text:
    table = screen.query_one(PlanTable)
    return table.get_cell(quant, column)


def error_text(screen: PlannerScreen) -> str:
    return screen.query_one("#plan-error", LiveText).text


def problem_text(screen: PlannerScreen) -> str:
    return screen.query_one("#plan-problem", LiveText).text
