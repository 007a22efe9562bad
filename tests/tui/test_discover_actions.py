"""Discover's actions from a file row: pull into Ollama (the model browser's pull), download as a job (the
jobs screen), open in the planner; and the screen at 40x12."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core.config import Settings
from core.pipeline.job_state import SUCCEEDED
from core.planner.report import llama_server_command
from tests.fakes.fake_hub import FakeHub, sha256_of
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_ollama_models import LibraryModel
from tests.tui.conftest import screen_text, wait_for
from tests.tui.discover_support import (  # noqa: F401 (the hub fixture)
    SIZE,
    TINY,
    discover_app,
    hub,
    one_line,
    open_discover,
    open_repo,
    stock,
)
from tui.screens.discover.screen import DiscoverScreen
from tui.screens.jobs.screen import JobsScreen
from tui.screens.models.screen import ModelsScreen
from tui.screens.planner.screen import PlannerScreen
from tui.widgets.models.pull import PullPanel


async def to_file(pilot: object, screen: DiscoverScreen, name_part: str) -> None:
    listing = screen.files.listing
    assert listing is not None
    row = next(i for i, g in enumerate(listing.groups) if name_part in g.name)
    screen.files.focus()
    screen.files.move_cursor(row=row)
    await pilot.pause()  # type: ignore[attr-defined]


async def test_pull_hands_the_hf_name_to_the_models_screen_with_progress(
        hub: FakeHub, settings: Settings, tmp_path: Path, fake_ollama: FakeOllama) -> None:  # noqa: F811
    stock(hub, tmp_path)
    name = "hf.co/someone/Tiny-GGUF:Q4_K_M"
    tiny = fake_ollama.library["tinyllama:latest"]
    fake_ollama.library[name] = LibraryModel(replace(tiny.model, name=name), tiny.layers)
    fake_ollama.pull_steps, fake_ollama.pull_hold_at = 30, 300_000_000  # in progress until released
    app = discover_app(settings, tmp_path, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, TINY)
        await to_file(pilot, screen, "Tiny-Q4_K_M")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen))
        models = app.screen
        assert isinstance(models, ModelsScreen)
        panel = models.query_one(PullPanel)
        await wait_for(pilot, lambda: panel.progress is not None and panel.progress.completed_bytes > 0)
        assert models.pulling == name
        pulls = [r for r in fake_ollama.requests if r.path == "/api/pull"]
        assert pulls and pulls[-1].body.get("model") == name
        assert f"Pull {name}" in one_line(screen_text(app)) and "x cancels" in screen_text(app)
        fake_ollama.pull_release.set()
        await wait_for(pilot, lambda: panel.outcome == "done")
        assert fake_ollama.find(name) is not None


async def test_a_split_file_is_not_pulled_and_says_why(hub: FakeHub, settings: Settings,  # noqa: F811
                                                       tmp_path: Path, fake_ollama: FakeOllama) -> None:
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, TINY)
        await to_file(pilot, screen, "Tiny-F16")
        await pilot.press("p")
        await wait_for(pilot, lambda: any("single-file" in str(n.message) for n in app._notifications))
        assert app.screen is screen
        assert not [r for r in fake_ollama.requests if r.path == "/api/pull"]


async def test_download_runs_as_a_job_into_the_first_gguf_folder(hub: FakeHub, settings: Settings,  # noqa: F811
                                                                 tmp_path: Path) -> None:
    repo = stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, TINY)
        await to_file(pilot, screen, "Tiny-F16")  # a split file: every part comes
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        await wait_for(pilot, lambda: bool(jobs.jobs) and next(iter(jobs.jobs.values())).status == SUCCEEDED,
                       timeout=30)
        job = next(iter(jobs.jobs.values()))
        assert [s.name for s in job.stages] == ["preflight", "download"]
        assert job.title.startswith("#1 Tiny-GGUF")
        folder = tmp_path / "models" / "someone" / "Tiny-GGUF"
        parts = sorted(p for p in repo.files if p.startswith("F16/"))
        for path in parts:
            local = folder / Path(path).name
            assert local.is_file() and sha256_of(local) == sha256_of(repo.files[path])
        assert "succeeded" in screen_text(app)


async def test_plan_opens_the_planner_on_the_files_own_quant(hub: FakeHub, settings: Settings,  # noqa: F811
                                                             tmp_path: Path) -> None:
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, TINY)
        await to_file(pilot, screen, "Tiny-Q8_0")
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PlannerScreen) and app.screen.model is not None
                       and app.screen.plan is not None and app.screen.settled)
        planner = app.screen
        assert isinstance(planner, PlannerScreen) and planner.model is not None
        assert planner.model.label == "Tiny-Q8_0.gguf" and planner.model.facts.file_type == "Q8_0"
        row = planner.query_one("#plan-table").selected  # type: ignore[attr-defined]
        assert row is not None and row.quant == "Q8_0"  # the cursor starts on the file's own quant
        assert "this is how Tiny-Q8_0.gguf is" in one_line(screen_text(app))
        assert planner.plan is not None
        command = llama_server_command(planner.plan, row, planner.model)
        assert command is not None and "-m Tiny-Q8_0.gguf" in command


async def test_at_40x12_nothing_breaks(hub: FakeHub, settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=(40, 12)) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, TINY)
        for key in ("c", "k", "down", "escape", "down", "up", "slash", "escape", "s"):
            await pilot.press(key)
        await wait_for(pilot, lambda: screen.settled)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen is screen and app.return_code is None
        assert "Search" in screen_text(app)

