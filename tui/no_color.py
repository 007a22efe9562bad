"""NO_COLOR without losing the warnings.

Under NO_COLOR Textual (0.x `App.__init__`) renders through its `Monochrome`
filter: every colour becomes a grey of the same luminance, so a red warning
("100% CPU", "loaded on the CPU only", "won't fit", an error line) turns
dark grey on near-black, about 1.5:1. This filter does the same for
everything else and makes those words stand out the way a terminal without
colour can: bold, in reverse video, in the terminal's own colours.

A segment counts as an alarm when its text colour is clearly red or orange
(red well above green and blue: Textual's $error and $warning, Rich's red and
dark_orange) and it carries words; box-drawing borders in those colours stay
as they are.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter, Monochrome, NoColor, monochrome_style

ALARM = Style(color="default", bgcolor="default", bold=True, reverse=True)


def is_alarm(style: Style | None, text: str) -> bool:
    if style is None or style.color is None or not any(ch.isalnum() for ch in text):
        return False
    r, g, b = style.color.get_truecolor()
    return r >= 120 and r - max(g, b) >= 60


class WarningsStandOut(LineFilter):
    """Monochrome, except that red and orange words become bold reverse video."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = []
        for text, style, _ in segments:
            if is_alarm(style, text):
                assert style is not None
                out.append(Segment(text, style + ALARM, None))
            else:
                out.append(Segment(text, None if style is None else monochrome_style(style), None))
        return out


def install(filters: list[LineFilter]) -> None:
    """Put WarningsStandOut where Textual's NO_COLOR filter is (the app's filter list, in place)."""
    for i, f in enumerate(filters):
        if isinstance(f, Monochrome | NoColor):
            filters[i] = WarningsStandOut()
