"""The app shell: number keys reach every screen, `?` shows the keys of the screen underneath, `q` quits."""

from __future__ import annotations

import gc

import pytest

from cli.main import pause_gc_for_start_up
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.tui.conftest import AppFactory, first_sample, screen_text, wait_for
from tui.screens.dashboard.screen import DashboardScreen
from tui.screens.help import HelpScreen
from tui.widgets.key_bar import KeyBar
from tui.widgets.title_bar import TitleBar

# key, mode, and the screen class that mode shows
SCREENS = [
    ("2", "models", "ModelsScreen"),
    ("3", "planner", "PlannerScreen"),
    ("4", "chat", "ChatScreen"),
    ("5", "jobs", "JobsScreen"),
    ("6", "discover", "DiscoverScreen"),
]


async def test_the_dashboard_is_the_home_screen(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        assert app.current_mode == "dashboard"
        assert "Dashboard" in screen_text(app)


@pytest.mark.parametrize(("key", "mode", "screen"), SCREENS)
async def test_number_keys_reach_each_screen(build_app: AppFactory, key: str, mode: str, screen: str) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert app.current_mode == mode
        assert type(app.screen).__name__ == screen
        assert app.screen.query(KeyBar), "every screen shows its keys on the bottom line"
        title = app.screen.title
        assert title and app.screen.query(TitleBar)
        await wait_for(pilot, lambda: title in screen_text(app).splitlines()[0])


async def test_the_top_line_follows_the_title_and_sub_title(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_sample(pilot)
        top = lambda: screen_text(app).splitlines()[0]  # noqa: E731
        assert "Dashboard" in top() and "every 1 s" in top()
        await pilot.press("p")
        await wait_for(pilot, lambda: "paused" in top())
        screen.title = "电源 仪表盘"  # CJK, two cells a character
        await wait_for(pilot, lambda: "电源 仪表盘" in top())
        screen.title = None
        await wait_for(pilot, lambda: "llamadeck" in top())  # the app's own title


async def test_going_home_keeps_the_same_dashboard_and_its_history(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]), refresh_seconds=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        home = await first_sample(pilot)
        # Away on another screen (one whose keys do not include typing digits).
        await pilot.press("3")
        await pilot.pause()
        assert app.current_mode == "planner"
        # It keeps sampling while away, so its history has no hole.
        seen = home.last_sample
        await wait_for(pilot, lambda: home.last_sample is not seen)
        await pilot.press("1")
        await pilot.pause()
        assert app.screen is home


@pytest.mark.parametrize("close_key", ["escape", "question_mark"])
async def test_help_lists_the_keys_of_the_screen_underneath_and_closes(
    build_app: AppFactory, close_key: str
) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for words in ("Slower", "Faster", "RAM bw", "Pause"):
            assert words in text, words
        rows = " ".join(does for _, section in app.screen.rows() for _, does in section)
        for words in ("Quit", "Models screen", "Planner screen"):  # "On every screen", below the fold
            assert words in rows, words
        await pilot.press(close_key)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_help_names_the_dashboard_scroll_keys_in_words(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(100, 50)) as pilot:
        await first_sample(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert "Page down" in text and "Scroll to the top" in text
        assert "scroll_body" not in text


async def test_help_on_another_screen_offers_only_its_keys(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        await pilot.press("3", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "Slower" not in screen_text(app)  # dashboard keys are not offered elsewhere
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "PlannerScreen"


async def test_q_quits(build_app: AppFactory) -> None:
    nvml = FakeNvml([FakeGpu()])
    app = build_app(nvml)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0
    assert nvml.initialised == 0  # quitting closed the probe, which shut NVML down


async def test_collection_paused_for_start_up_is_back_after_the_first_frame(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    pause_gc_for_start_up()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, gc.isenabled)
            # What start-up built is frozen: later collections do not walk it.
            assert gc.get_freeze_count() > 0
            await first_sample(pilot)
    finally:
        gc.enable()
        gc.unfreeze()


async def test_an_app_started_with_collection_on_leaves_it_alone(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        assert gc.isenabled() and gc.get_freeze_count() == 0
