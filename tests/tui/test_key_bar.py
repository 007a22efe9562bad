"""The bottom key line: what it lists, in what order, what fits, and that a click presses the key."""

from __future__ import annotations

from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.tui.conftest import AppFactory, first_sample, wait_for
from tui.widgets.key_bar import KeyBar

DASHBOARD_KEYS = ["+ Slower", "- Faster", "p Pause", "b RAM bw", "1-6 Screens", "? Help", "q Quit"]


def bar_text(bar: KeyBar) -> str:
    return "".join(segment.text for segment in bar.render_line(0))


async def test_dashboard_keys_in_order_and_the_palette_at_the_right_end(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(120, 30)) as pilot:
        await first_sample(pilot)
        bar = app.screen.query_one(KeyBar)
        text = bar_text(bar)
        assert len(text) == 120
        positions = [text.index(item) for item in DASHBOARD_KEYS]
        assert positions == sorted(positions)
        # The hidden scroll keys are not listed; the palette key ends the line.
        assert "Scroll" not in text and "up" not in text
        assert text.rstrip().endswith("^p palette")
        assert [item.label for item in bar.items][-2:] == ["Help", "Quit"]


async def test_a_narrow_terminal_drops_whole_items_never_half_of_one(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(40, 12)) as pilot:
        await first_sample(pilot)
        text = bar_text(app.screen.query_one(KeyBar)).rstrip()
        assert len(text) <= 40
        shown = [item for item in DASHBOARD_KEYS if item in text]
        # The screen's keys go first; how to switch screens, get help and quit always stay.
        assert shown[-3:] == ["1-6 Screens", "? Help", "q Quit"]
        assert shown[:-3] == DASHBOARD_KEYS[: len(shown) - 3]
        # What is left after the last whole item is blank: no cut-off word.
        assert text.endswith("q Quit")
        assert "palette" not in text


async def test_a_click_on_a_key_presses_it(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(100, 30)) as pilot:
        home = await first_sample(pilot)
        bar = app.screen.query_one(KeyBar)
        column = bar_text(bar).index("p Pause") + 2
        assert not home.paused
        await pilot.click(KeyBar, offset=(column, 0))
        await wait_for(pilot, lambda: home.paused)
        # Clicking the gap between items does nothing.
        gap = bar_text(bar).index("p Pause") - 1
        await pilot.click(KeyBar, offset=(gap, 0))
        await pilot.pause()
        assert home.paused


async def test_each_screen_lists_its_own_keys(build_app: AppFactory) -> None:
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(100, 30)) as pilot:
        await first_sample(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: app.current_mode == "planner")
        bar = app.screen.query_one(KeyBar)
        await wait_for(pilot, lambda: "q Quit" in bar_text(bar))
        text = bar_text(bar)
        assert "Slower" not in text and "RAM bw" not in text
        assert "1-6 Screens" in text
