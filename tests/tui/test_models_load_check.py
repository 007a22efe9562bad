"""The Models screen shows, for a loaded model, what Ollama was predicted to load beside what it did.

The fake Ollama reports the model as a server with some settings would load
it (tests.tui.test_cli_ps_predict.simulate: Ollama's rules for those
settings); llamadeck is told other settings, and the details pane must show
both rows and name the setting that differs.
"""

from __future__ import annotations

from dataclasses import replace

from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from core.ollama.server_settings import OllamaServerSettings, settings_from_env
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, GiB
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import details, highlight, one_line, open_browser
from tests.tui.test_cli_ps_predict import DESKTOP, NAME, simulate
from tui.app import LlamadeckApp, make_app
from tui.services import Services
from tui.widgets.models.load_check import LoadCheckView


def app_for(settings: Settings, fake: FakeOllama, vram_used: int,
            assumed: OllamaServerSettings) -> LlamadeckApp:
    hosts = (HostConfig(name="fake", url=fake.url),)
    these = replace(settings, hosts=hosts, default_host="fake")
    nvml = FakeNvml([FakeGpu(memory_total=16 * GiB, memory_used=DESKTOP + vram_used)])
    probe = HardwareProbe.from_settings(these, nvml=nvml)

    def reader(host: HostConfig) -> OllamaServerSettings:
        return assumed

    return make_app(these, Services(hardware=probe, ollama_server=reader))


async def test_a_loaded_model_shows_predicted_beside_actual(settings: Settings,
                                                           fake_ollama: FakeOllama) -> None:
    truth = settings_from_env({"OLLAMA_NUM_PARALLEL": "2"}, "the server")
    loaded = simulate(fake_ollama, 16, truth, {})
    app = app_for(settings, fake_ollama, loaded.size_vram, OllamaServerSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, NAME)
        view = details(screen).query_one(LoadCheckView)
        await wait_for(pilot, lambda: view.check is not None)
        assert view.check is not None and view.check.comparison is not None
        assert view.check.comparison.actual.size == loaded.size
        text = screen_text(app)
        assert "Predicted" in text and "Actual" in text
    async with app_for(settings, fake_ollama, loaded.size_vram, OllamaServerSettings()).run_test(
            size=(160, 50)) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, NAME)
        view = details(screen).query_one(LoadCheckView)
        await wait_for(pilot, lambda: view.check is not None)
        assert "OLLAMA_NUM_PARALLEL=2 (assumed 1" in one_line(screen_text(pilot.app))


async def test_a_model_that_loaded_as_predicted_says_so(settings: Settings, fake_ollama: FakeOllama) -> None:
    server = settings_from_env({"OLLAMA_CONTEXT_LENGTH": "8192"}, "the server")
    loaded = simulate(fake_ollama, 16, server, {})
    app = app_for(settings, fake_ollama, loaded.size_vram, server)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, NAME)
        view = details(screen).query_one(LoadCheckView)
        await wait_for(pilot, lambda: view.check is not None)
        assert "As predicted." in one_line(screen_text(app))
        await highlight(pilot, screen, "llama3.2:latest")  # not loaded: no comparison
        assert not view.display
