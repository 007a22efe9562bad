"""Pilot tests of every model action at 80x24 against the fake Ollama: pull, cancel and resume,
delete, copy, rename, load, unload, and switching between hosts."""

from __future__ import annotations

from core.config import Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import (
    SIZE,
    browser,
    details,
    highlight,
    models_app,
    notes,
    one_line,
    open_browser,
    pull_panel,
    running_panel,
    shown_names,
    table,
)
from tui.screens.confirm import ConfirmDialog
from tui.screens.models.copy_dialog import CopyDialog
from tui.screens.models.pull_dialog import PullDialog


async def test_pull_shows_layers_speed_and_eta_then_lists_the_model(settings: Settings,
                                                                    fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_steps, fake_ollama.pull_delay = 30, 0.04
    fake_ollama.pull_hold_at = 400_000_000  # still pulling while the test reads the panel
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("p")
        assert isinstance(app.screen, PullDialog)
        await pilot.press(*"tinyllama", "enter")
        assert app.screen is screen
        panel = pull_panel(screen)
        # Speed needs half a second of transfer to be measured; then the ETA follows from it.
        await wait_for(pilot, lambda: panel.progress is not None and panel.progress.speed is not None)
        text = one_line(screen_text(app))
        assert "Pull tinyllama" in text
        assert "pulling e428a5346713" in text  # the model layer, named like `ollama pull` does
        assert "/637 MB" in text and "MB/s" in text and "ETA " in text
        assert "x cancels" in text  # the pull panel says how to stop it (x is in ? and the palette too)
        assert "q Quit" in text  # and the footer still fits 80 columns
        fake_ollama.pull_release.set()
        await wait_for(pilot, lambda: panel.outcome == "done")
        assert panel.outcome_text == "Pulled tinyllama (637 MB)."
        assert panel.progress is not None and all(layer.done for layer in panel.progress.layers)
        assert len(panel.progress.layers) == 4  # the model blob and three small ones
        # The new model is listed and highlighted, its details in the pane.
        await wait_for(pilot, lambda: details(screen).info is not None
                       and details(screen).info.name == "tinyllama:latest")
        assert "Pulled tinyllama (637 MB)." in notes(app)
        assert fake_ollama.find("tinyllama") is not None


async def test_cancelled_pull_resumes_where_it_stopped(settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_steps, fake_ollama.pull_hold_at = 400, 200_000_000  # waits there until cancelled
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("p", *"tinyllama", "enter")
        panel = pull_panel(screen)
        await wait_for(pilot, lambda: panel.progress is not None and panel.progress.completed_bytes > 100e6)
        await pilot.press("x")
        await wait_for(pilot, lambda: panel.outcome == "cancelled")
        text = one_line(screen_text(app))
        assert "Cancelled the pull of tinyllama at" in text
        assert "Press p again to resume" in text
        kept = max(fake_ollama.downloaded.values())
        assert 0 < kept < 637_700_138
        assert "tinyllama:latest" not in shown_names(screen)
        fake_ollama.pull_hold_at = 500_000_000  # the resumed pull holds again, later on

        # p offers the interrupted pull again; Enter resumes it from the bytes Ollama kept.
        await pilot.press("p")
        dialog = app.screen
        assert isinstance(dialog, PullDialog) and dialog.resume == "tinyllama"
        assert "resumes the pull of tinyllama" in one_line(screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.resumed_from > 0)
        assert panel.resumed_from >= kept - 16_000_000  # at most one step more arrived before the cut
        assert "Resumed at" in one_line(screen_text(app))
        fake_ollama.pull_release.set()
        await wait_for(pilot, lambda: panel.outcome == "done")
        await wait_for(pilot, lambda: "tinyllama:latest" in shown_names(screen))
        await pilot.press("p")
        dialog = app.screen
        assert isinstance(dialog, PullDialog) and dialog.resume is None  # nothing left to resume
        await pilot.press("escape")
        assert app.screen is screen


async def test_pull_of_an_unknown_model_says_so(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("p", *"no-such-model:1b", "enter")
        panel = pull_panel(screen)
        await wait_for(pilot, lambda: panel.outcome == "failed")
        text = one_line(screen_text(app))
        assert "Model 'no-such-model:1b' was not found in the Ollama library." in text
        assert "resume" not in panel.outcome_text
        await pilot.press("p")
        dialog = app.screen
        assert isinstance(dialog, PullDialog) and dialog.resume is None
        await pilot.press("enter")  # an empty name is refused in the dialog
        assert app.screen is dialog
        assert "Type the name of a model" in screen_text(app)
        await pilot.press("escape")


async def test_delete_asks_first_and_n_keeps_the_model(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, "llama3.2:latest")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        text = one_line(screen_text(app))
        assert f"Delete llama3.2:latest (2.0 GB) from Ollama at {fake_ollama.url}?" in text
        await pilot.press("enter")  # focus starts on Cancel: a stray Enter deletes nothing
        assert app.screen is screen
        await pilot.press("d", "n")
        assert app.screen is screen
        assert fake_ollama.find("llama3.2:latest") is not None

        await pilot.press("d", "y")
        await wait_for(pilot, lambda: "llama3.2:latest" not in shown_names(screen))
        assert fake_ollama.find("llama3.2:latest") is None
        assert "Deleted llama3.2:latest." in notes(app)
        # The cursor moved on to a model that exists; its details are asked for, then shown.
        await wait_for(pilot, lambda: details(screen).info is not None)
        info = details(screen).info
        assert info is not None and fake_ollama.find(info.name) is not None


async def test_deleting_a_loaded_model_unloads_it_first(settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.set_running("deepseek-r1:7b")
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await wait_for(pilot, lambda: "deepseek-r1:7b" in table(screen).loaded)
        await highlight(pilot, screen, "deepseek-r1:7b")
        await pilot.press("delete")
        assert "It is loaded now and will be unloaded first." in one_line(screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "deepseek-r1:7b" not in shown_names(screen)
                       and not running_panel(screen).running)
        assert not fake_ollama.running


async def test_copy_makes_a_second_name(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("c")
        dialog = app.screen
        assert isinstance(dialog, CopyDialog)
        assert "qwen3-copy:8b" in screen_text(app)  # a suggestion that does not overwrite anything
        await pilot.press(*"llama3.2", "enter")  # typing replaces the suggestion; an existing name is refused
        assert app.screen is dialog
        assert "llama3.2:latest already exists" in one_line(screen_text(app))
        await pilot.press(*["backspace"] * 8, *"my-qwen:8b", "enter")
        await wait_for(pilot, lambda: "my-qwen:8b" in shown_names(screen))
        assert "qwen3:8b" in shown_names(screen)
        assert "Copied qwen3:8b to my-qwen:8b." in notes(app)
        copy = fake_ollama.find("my-qwen:8b")
        assert copy is not None and copy.size == 5_225_388_164


async def test_rename_copies_then_deletes_the_old_name(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, "deepseek-r1:7b")
        await pilot.press("m")
        assert isinstance(app.screen, CopyDialog)
        await pilot.press("enter")  # the current name is offered and refused as is
        assert "That is the model's current name." in screen_text(app)
        await pilot.press(*["backspace"] * 14, *"r1-distill:7b", "enter")
        await wait_for(pilot, lambda: "r1-distill:7b" in shown_names(screen))
        assert "deepseek-r1:7b" not in shown_names(screen)
        assert fake_ollama.find("deepseek-r1:7b") is None
        assert "Renamed deepseek-r1:7b to r1-distill:7b." in notes(app)


async def test_load_and_unload_change_what_ps_shows(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, "llama3.2:latest")
        await pilot.press("u")
        await pilot.pause()
        assert "llama3.2:latest is not loaded." in notes(app)
        await pilot.press("l")
        await wait_for(pilot, lambda: "llama3.2:latest" in table(screen).loaded)
        line = next(ln for ln in screen_text(app).splitlines() if "llama3.2:latest" in ln and "GPU" in ln)
        assert "100% GPU" in line and "in 4 minutes" in line  # Ollama's default keep-alive, 5 minutes
        assert "Loaded llama3.2:latest with Ollama's default keep-alive." in notes(app)
        load = [r for r in fake_ollama.requests if r.path == "/api/generate"][-1]
        assert load.body is not None and "keep_alive" not in load.body

        await pilot.press("u")
        await wait_for(pilot, lambda: not table(screen).loaded)
        assert "Nothing is loaded" in screen_text(app)
        unload = [r for r in fake_ollama.requests if r.path == "/api/generate"][-1]
        assert unload.body is not None and unload.body["keep_alive"] == 0

        await pilot.press("L")  # load and keep: keep_alive -1, shown as "forever"
        await wait_for(pilot, lambda: "llama3.2:latest" in table(screen).loaded)
        assert "forever" in screen_text(app)
        keep = [r for r in fake_ollama.requests if r.path == "/api/generate"][-1]
        assert keep.body is not None and keep.body["keep_alive"] == -1


async def test_loading_an_embedding_model_shows_the_servers_sentence(settings: Settings,
                                                                     fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await highlight(pilot, screen, "nomic-embed-text:latest")
        await pilot.press("l")
        await wait_for(pilot, lambda: any("refused loading" in n for n in notes(app)))
        said = next(n for n in notes(app) if "refused loading" in n)
        assert said == (f"Ollama at {fake_ollama.url} refused loading nomic-embed-text:latest: "
                        '"nomic-embed-text:latest" does not support generate.')
        assert not table(screen).loaded


async def test_o_switches_between_configured_hosts(settings: Settings, fake_ollama: FakeOllama) -> None:
    with FakeOllama() as other:
        other.add_model(fake_ollama.find("nomic-embed-text:latest"))  # type: ignore[arg-type]
        other.set_running("nomic-embed-text:latest")
        app = models_app(settings, fake_ollama, other)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot)
            assert len(shown_names(screen)) == 4
            await pilot.press("o")
            await wait_for(pilot, lambda: shown_names(screen) == ["nomic-embed-text:latest"]
                           and bool(running_panel(screen).running))
            assert f"fake2 · {other.url}" in screen_text(app)
            assert table(screen).loaded == {"nomic-embed-text:latest"}
            await pilot.press("o")
            await wait_for(pilot, lambda: len(shown_names(screen)) == 4 and not running_panel(screen).running)
            assert f"fake · {fake_ollama.url}" in screen_text(app)
            assert browser(pilot) is screen


async def test_o_with_one_host_says_how_to_add_more(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot)
        await pilot.press("o")
        await pilot.pause()
        assert any("add [hosts.NAME] tables" in n for n in notes(app))


async def test_switching_hosts_mid_pull_cancels_it_cleanly(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_steps, fake_ollama.pull_hold_at = 400, 100_000_000  # waits there until cancelled
    with FakeOllama() as other:
        app = models_app(settings, fake_ollama, other)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot)
            await pilot.press("p", *"tinyllama", "enter")
            panel = pull_panel(screen)
            await wait_for(pilot, lambda: panel.progress is not None and panel.progress.completed_bytes > 0)
            await pilot.press("o")
            await wait_for(pilot, lambda: f"fake2 · {other.url}" in screen_text(app))
            assert screen.pulling is None and panel.outcome == "cancelled"
            await pilot.press("p")  # a new pull on the new host, not "already pulling"
            assert isinstance(app.screen, PullDialog) and app.screen.resume is None
            await pilot.press("escape")
