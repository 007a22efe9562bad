"""NO_COLOR keeps warnings readable: red and orange words turn bold reverse video, not a dim grey."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import Monochrome
from textual.geometry import Region

from core.config import Settings
from tests.tui.conftest import wait_for
from tests.tui.planner_support import SIZE, open_planner, plan_of, planner_app, type_into
from tui.no_color import WarningsStandOut, is_alarm
from tui.widgets.planner.table import PlanTable


def test_red_and_orange_words_stand_out_and_the_rest_is_grey() -> None:
    line = [Segment("won't fit", Style(color="red", bold=True)), Segment("  F32 ", Style(color="#ba3c5b")),
            Segment("CPU", Style(color="dark_orange")), Segment("─╮", Style(color="red")),
            Segment("GPU", Style(color="green")), Segment("plain", None)]
    out = WarningsStandOut().apply(line, Color(0, 0, 0))
    assert [s.text for s in out] == [s.text for s in line]
    alarms = [s.text for s in out if s.style is not None and s.style.reverse and s.style.bold]
    assert alarms == ["won't fit", "  F32 ", "CPU"]  # the border in red stays a border
    green = out[4].style
    assert green is not None and not green.reverse and green.color is not None
    r, g, b = green.color.get_truecolor()
    assert r == g == b  # grey, as Textual's own NO_COLOR does
    assert not is_alarm(None, "text") and not is_alarm(Style(color="blue"), "text")


async def test_no_color_app_shows_a_wont_fit_row_in_reverse(settings: Settings,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = planner_app(settings)
    filters = app._filters  # Textual's render filters: where NO_COLOR takes effect
    assert not any(type(f) is Monochrome for f in filters)
    assert any(isinstance(f, WarningsStandOut) for f in filters)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:70b")
        await type_into(pilot, "plan-machine", "3060")
        await wait_for(pilot, lambda: screen.settled and screen.plan is not None
                       and screen.plan.row("F32").placement == "none")
        table = screen.query_one(PlanTable)
        lines = table.render_lines(Region(0, 0, table.size.width, table.size.height))
        row = next(line for line in lines if "won't fit" in line.text)
        shown = list(row)
        for f in filters:
            shown = f.apply(shown, Color(0, 0, 0))
        stand_out = [s for s in shown if s.style is not None and s.style.reverse and s.style.bold]
        assert any("won't fit" in s.text for s in stand_out)
