"""The model browser as a new user first meets it (#14): Esc, a hanging server, counts, bulk actions."""

from __future__ import annotations

from dataclasses import replace

from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from core.ollama.client import OllamaClient
from tests.fakes.fake_nvml import FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.not_ollama import not_ollama
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import SIZE, models_app, notes, one_line, open_browser, shown_names, table
from tui.app import make_app
from tui.screens.confirm import ConfirmDialog
from tui.screens.models.screen import ModelsScreen
from tui.services import Services
from tui.widgets.live_text import LiveText
from tui.widgets.models.listing import ModelList
from tui.widgets.models.table import MARKED


async def test_esc_closes_the_health_view(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("h")
        await pilot.pause()
        assert screen.browser.has_class("-health")
        await pilot.press("escape")
        await pilot.pause()
        assert not screen.browser.has_class("-health")
        assert "qwen3:8b" in screen_text(app)  # the table is back


async def test_a_hanging_server_is_not_said_to_have_nothing_loaded(settings: Settings) -> None:
    with not_ollama(hold=True) as server:
        app = models_app(settings, server)  # type: ignore[arg-type]  # only .url is read
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot, listed=False)
            await wait_for(pilot, lambda: server.holding.is_set() and isinstance(app.screen, ModelsScreen))
            await pilot.pause()
            text = one_line(screen_text(app))
            assert "Nothing is loaded" not in text
            assert "Not known yet" in text
            assert screen.offline is None


async def test_one_model_is_one_model(settings: Settings, fake_ollama: FakeOllama) -> None:
    for name in list(fake_ollama.models)[1:]:
        del fake_ollama.models[name]
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        subtitle = str(screen.query_one(ModelList).border_subtitle)
        assert subtitle.startswith("1 model, ")
        assert "1 models" not in screen_text(app)


async def test_marked_models_are_deleted_together_after_one_confirmation(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        first, second, third = shown_names(screen)[:3]
        await pilot.press("space", "space")  # marks the first two, as in gollama
        assert table(screen).marked == {first, second}
        assert MARKED in screen_text(app) and "2 marked" in screen_text(app)
        await pilot.press("d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert first in dialog.message and second in dialog.message and third not in dialog.message
        assert "Delete these 2 models" in dialog.message
        await pilot.press("y")
        await wait_for(pilot, lambda: first not in shown_names(screen) and second not in shown_names(screen))
        assert fake_ollama.find(first) is None and fake_ollama.find(second) is None
        assert fake_ollama.find(third) is not None
        assert f"Deleted 2 models: {first}, {second}." in notes(app)
        assert not table(screen).marked


async def test_marked_models_are_copied_together_and_esc_clears_marks(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        first, second = shown_names(screen)[:2]
        await pilot.press("space", "escape")
        assert not table(screen).marked  # Esc forgot the mark
        await pilot.press("up", "space", "space", "c")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        base, _, tag = first.partition(":")
        assert f"{first} -> {base}-copy:{tag}" in dialog.message and second in dialog.message
        await pilot.press("n")  # cancelled: nothing copied
        assert app.screen is screen
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: f"{base}-copy:{tag}" in shown_names(screen))
        assert fake_ollama.find(f"{base}-copy:{tag}") is not None
        assert fake_ollama.find(first) is not None


async def test_a_timeout_says_the_server_did_not_answer_in_time(settings: Settings) -> None:
    with not_ollama(hold=True) as server:
        these = replace(settings, hosts=(HostConfig(name="box", url=server.url),), default_host="box")
        services = Services(hardware=HardwareProbe.from_settings(these, nvml=FakeNvml([])))
        services.ollama = lambda host: OllamaClient(host, timeout=0.3)
        app = make_app(these, services)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot, listed=False)
            await wait_for(pilot, lambda: screen.offline is not None)
            box = screen.query_one("#offline", LiveText)
            assert box.border_title == "The server did not answer in time"
            assert "answered with an error" not in screen_text(app)
            assert box.text.startswith(f"Timed out: Ollama at {server.url} did not answer within 0.3 s")
