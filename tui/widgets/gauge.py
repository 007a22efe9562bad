"""One labelled gauge reading: `VRAM ██████████▍░░░░░░░  14.2/24.0 GiB`.

Not a widget: a dashboard shows a dozen of these, and every Textual widget
costs a couple of milliseconds to style and lay out at start-up and a little
on every update. A `LinePanel` holds the readings and draws each as one line.
The filled and empty parts use different glyphs (not only different
colours) and danger also reverses the value, so a gauge still reads with
`NO_COLOR` or on a monochrome terminal.
"""

from __future__ import annotations

from typing import Literal

from core.units import NA

Level = Literal["ok", "warn", "danger"]

FULL = "█"
EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
TRACK = "░"
LABEL_WIDTH = 5
VALUE_WIDTH = 13
MIN_BAR = 3


def bar_cells(fraction: float | None, width: int) -> tuple[str, str]:
    """The filled and the empty part of a bar `width` cells wide, at 1/8 cell resolution."""
    if width <= 0:
        return "", ""
    if fraction is None:
        return "", TRACK * width
    eighths = round(min(1.0, max(0.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    filled = FULL * full + EIGHTHS[rest]
    return filled, TRACK * (width - len(filled))


def level_for(value: float | None, warn: float, danger: float) -> Level:
    """`danger` at or above `danger`, `warn` at or above `warn`; a missing value is `ok`."""
    if value is None:
        return "ok"
    if value >= danger:
        return "danger"
    if value >= warn:
        return "warn"
    return "ok"


class Gauge:
    """The reading one gauge shows: how full, the text on the right, and how worrying."""

    __slots__ = ("fraction", "label", "level", "value_text")

    def __init__(self, label: str) -> None:
        self.label = label
        self.fraction: float | None = None
        self.value_text = NA
        self.level: Level = "ok"

    def set(self, fraction: float | None, text: str, level: Level = "ok") -> bool:
        """Take a reading; returns whether the gauge would look different.

        Jitter smaller than a thousandth of the scale does not count.
        """
        fraction = None if fraction is None else round(min(1.0, max(0.0, fraction)), 3)
        if (fraction, text, level) == (self.fraction, self.value_text, self.level):
            return False
        self.fraction, self.value_text, self.level = fraction, text, level
        return True

    def parts(self, width: int) -> tuple[str, str, str, str]:
        """Label, filled bar, empty bar and value for a line `width` cells wide.

        A space goes between the label and the bar and between the bar and
        the value. The bar is left out when fewer than three cells are left
        for it; the value is never cut.
        """
        value_width = max(VALUE_WIDTH, len(self.value_text))
        label = self.label[:LABEL_WIDTH].ljust(LABEL_WIDTH)
        filled, empty = bar_cells(self.fraction, width - LABEL_WIDTH - value_width - 2)
        if len(filled) + len(empty) < MIN_BAR:
            filled = empty = ""
        return label, filled, empty, self.value_text.rjust(value_width)
