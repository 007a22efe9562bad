"""The model browser when Ollama misbehaves: refused connections, 500s, broken pull streams.

Each fault is injected in the fake server with its knobs. The screen must show
the sentence core wrote for it, never a traceback, and keep working once the
server behaves again.
"""

from __future__ import annotations

import pytest

from core.config import HostConfig, Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import (
    SIZE,
    browser,
    details,
    models_app,
    notes,
    offline_text,
    one_line,
    open_browser,
    pull_panel,
    shown_names,
    table,
)
from tui.screens.models.pull_dialog import PullDialog


async def test_refused_shows_how_to_start_ollama_and_recovers_by_itself(settings: Settings,
                                                                        fake_ollama: FakeOllama) -> None:
    fake_ollama.stop()
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, listed=False)
        await wait_for(pilot, lambda: screen.offline is not None)
        sentence = (f"Ollama is not running at {fake_ollama.url} - start it with `ollama serve` "
                    "or `systemctl start ollama`.")
        assert offline_text(screen).startswith(sentence)
        text = one_line(screen_text(app))
        assert sentence in text
        assert "r retries now" in text and "not reachable" in text
        assert "Traceback" not in text
        await pilot.press("p")  # actions say why they cannot run instead of doing nothing
        await pilot.pause()
        assert notes(app)[-1] == sentence

        fake_ollama.start()  # same port: the 2 s poll notices without a key press
        await wait_for(pilot, lambda: shown_names(screen) == ["qwen3:8b", "llama3.2:latest", "deepseek-r1:7b",
                                                               "nomic-embed-text:latest"], timeout=6)
        assert screen.offline is None
        assert f"Ollama at {fake_ollama.url} answers again." in notes(app)
        await wait_for(pilot, lambda: details(screen).info is not None)
        assert "Ollama 0.12.6" in screen_text(app)


async def test_server_that_goes_away_and_r_that_retries(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        fake_ollama.stop()
        await wait_for(pilot, lambda: screen.offline is not None, timeout=6)  # the poll saw it go
        assert "Ollama is not running at" in one_line(screen_text(app))
        screen.set_polling(False)  # from here on only r can bring it back
        fake_ollama.start()
        await pilot.pause(0.3)
        assert screen.offline is not None
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.offline is None and bool(table(screen).models))
        assert "qwen3:8b" in screen_text(app)


async def test_remote_host_that_does_not_answer(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.stop()
    # A name under .invalid never resolves (RFC 6761), so this fails fast and offline.
    app = models_app(settings, hosts=(HostConfig(name="gpu-box", url="http://gpu-box.invalid:11434"),))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, listed=False)
        await wait_for(pilot, lambda: screen.offline is not None)
        assert offline_text(screen).startswith(
            "The host name in http://gpu-box.invalid:11434 could not be resolved. "
            "Check the name in the config or in --host.")


async def test_a_500_on_the_list_is_said_and_r_recovers(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/tags", status=500, error="loading manifests: disk I/O error", times=1)
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, listed=False)
        await wait_for(pilot, lambda: screen.offline is not None)
        assert offline_text(screen).startswith(
            f"Ollama at {fake_ollama.url} failed while listing models (HTTP 500): "
            "loading manifests: disk I/O error.")
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.offline is None and len(table(screen).models) == 4)


async def test_a_500_on_show_stays_in_the_details_pane(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/show", status=500, error="unexpected EOF", times=1)
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot, listed=False)
        pane = details(screen)
        await wait_for(pilot, lambda: pane.has_class("-error"))
        assert (f"Ollama at {fake_ollama.url} failed while showing qwen3:8b (HTTP 500): unexpected EOF."
                in one_line(screen_text(app)))
        assert len(table(screen).models) == 4  # the rest of the screen works
        await pilot.press("r")  # asks again
        await wait_for(pilot, lambda: pane.info is not None and pane.info.name == "qwen3:8b")


async def test_a_failing_ps_poll_is_said_in_the_running_panel(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/ps", status=500, error="scheduler busy")
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await wait_for(pilot, lambda: "scheduler busy" in one_line(screen_text(app)))
        assert screen.offline is None
        fake_ollama.clear_faults()
        fake_ollama.set_running("qwen3:8b")
        await wait_for(pilot, lambda: "100% GPU" in screen_text(app), timeout=6)


async def test_a_failed_delete_is_said_and_the_model_stays(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/delete", status=500, error="remove blob: permission denied", times=1)
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: any("permission denied" in n for n in notes(app)))
        assert notes(app)[-1] == (f"Ollama at {fake_ollama.url} failed while deleting qwen3:8b (HTTP 500): "
                                  "remove blob: permission denied.")
        assert "qwen3:8b" in shown_names(screen)


PULL_FAULTS = [
    pytest.param(dict(error_line_after=4, error="max retries exceeded: unexpected EOF"),
                 "reported an error while pulling tinyllama: max retries exceeded: unexpected EOF.",
                 id="error-line"),
    pytest.param(dict(drop_after=4), "The connection to Ollama at {url} dropped while pulling tinyllama.",
                 id="drop"),
    pytest.param(dict(malformed_after=4), "sent a line that is not JSON while pulling tinyllama",
                 id="malformed"),
    pytest.param(dict(status=500, error="registry unavailable"),
                 "failed while pulling tinyllama (HTTP 500): registry unavailable.", id="http-500"),
]


@pytest.mark.parametrize(("fault", "sentence"), PULL_FAULTS)
async def test_a_broken_pull_says_why_and_p_resumes(settings: Settings, fake_ollama: FakeOllama,
                                                    fault: dict[str, object], sentence: str) -> None:
    fake_ollama.pull_steps = 10
    fake_ollama.add_fault(path="/api/pull", times=1, **fault)  # type: ignore[arg-type]
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("p", *"tinyllama", "enter")
        panel = pull_panel(screen)
        await wait_for(pilot, lambda: panel.outcome == "failed")
        text = one_line(screen_text(app))
        assert sentence.format(url=fake_ollama.url) in text
        assert "Press p again to resume" in text
        assert "Traceback" not in text
        assert screen.pulling is None and screen.interrupted_pull == "tinyllama"

        await pilot.press("p")
        assert isinstance(app.screen, PullDialog)
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.outcome == "done")
        if "drop_after" in fault or "error_line_after" in fault or "malformed_after" in fault:
            assert panel.resumed_from > 0  # the bytes before the break were kept
        await wait_for(pilot, lambda: "tinyllama:latest" in shown_names(screen))
        assert browser(pilot) is screen
