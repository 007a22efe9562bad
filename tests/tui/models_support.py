"""Helpers for the model browser's Pilot tests: the real app against the fake Ollama server.

Only Ollama's binary (the fake server) and the GPU (fake NVML) are fakes; the
client, the app, the hardware probe and psutil are the real ones.
"""

from __future__ import annotations

from dataclasses import replace

from textual.pilot import Pilot

from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.models.screen import ModelsScreen
from tui.services import Services
from tui.widgets.live_text import LiveText
from tui.widgets.models.details import ModelDetailsPane
from tui.widgets.models.health import HealthPanel
from tui.widgets.models.pull import PullPanel
from tui.widgets.models.running import RunningPanel
from tui.widgets.models.table import ModelTable

SIZE = (80, 24)


def models_app(settings: Settings, *fakes: FakeOllama, nvml: FakeNvml | None = None,
               hosts: tuple[HostConfig, ...] | None = None) -> LlamadeckApp:
    """The real app whose configured Ollama hosts are the given fake servers (named fake, fake2, ...)."""
    if hosts is None:
        hosts = tuple(HostConfig(name="fake" if i == 0 else f"fake{i + 1}", url=f.url)
                      for i, f in enumerate(fakes))
    these = replace(settings, hosts=hosts, default_host=hosts[0].name if hosts else None)
    probe = HardwareProbe.from_settings(these, nvml=nvml if nvml is not None else FakeNvml([]))
    return make_app(these, Services(hardware=probe))


def with_gpu() -> FakeNvml:
    return FakeNvml([FakeGpu()])


def browser(pilot: Pilot[object]) -> ModelsScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ModelsScreen), f"expected the model browser, got {screen!r}"
    return screen


async def open_browser(pilot: Pilot[object], *, listed: bool = True) -> ModelsScreen:
    """Press 2 and (by default) wait until the models are listed and the details pane has its model."""
    await pilot.press("2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ModelsScreen))
    screen = browser(pilot)
    if listed:
        await wait_for(pilot, lambda: bool(table(screen).models) and details(screen).info is not None
                       and screen.report is not None)
    return screen


def table(screen: ModelsScreen) -> ModelTable:
    return screen.query_one("#models-table", ModelTable)


def shown_names(screen: ModelsScreen) -> list[str]:
    return [m.name for m in table(screen).shown]


def details(screen: ModelsScreen) -> ModelDetailsPane:
    return screen.query_one(ModelDetailsPane)


def running_panel(screen: ModelsScreen) -> RunningPanel:
    return screen.query_one(RunningPanel)


def pull_panel(screen: ModelsScreen) -> PullPanel:
    return screen.query_one(PullPanel)


def health_panel(screen: ModelsScreen) -> HealthPanel:
    return screen.query_one(HealthPanel)


def offline_text(screen: ModelsScreen) -> str:
    return screen.query_one("#offline", LiveText).text


def notes(app: LlamadeckApp) -> list[str]:
    """The messages of the toasts raised so far (they stay in the list after they fade)."""
    return [n.message for n in app._notifications]


def one_line(text: str) -> str:
    """Screen text with borders and line breaks removed, so wrapped sentences can be searched."""
    kept = []
    for line in text.splitlines():
        kept.append(line.strip(" │╭╮╰╯─▕▏"))
    return " ".join(" ".join(kept).split())


async def highlight(pilot: Pilot[object], screen: ModelsScreen, name: str) -> None:
    """Move the cursor to `name` with the arrow keys and wait for its details."""
    names = shown_names(screen)
    target = names.index(name)
    while table(screen).cursor_row != target:
        await pilot.press("down" if table(screen).cursor_row < target else "up")
    await wait_for(pilot, lambda: details(screen).info is not None and details(screen).info.name == name)
