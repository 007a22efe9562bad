"""A one-line labelled gauge: `VRAM ██████████▍░░░░░░░  14.2/24.0 GiB`.

Textual's ProgressBar is built for tasks (ETA, indeterminate animation, three
child widgets); a dashboard wants dozens of cheap, still gauges. This one is a
single widget that draws one line straight from `render_line`, repaints only
when what it would draw changes, and shows its state with the `-warn` and
`-danger` classes so colours live in CSS. The filled and empty parts use
different glyphs (not only different colours) and danger also reverses the
value, so the gauge still reads with `NO_COLOR` or on a monochrome terminal.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.units import NA

Level = Literal["ok", "warn", "danger"]

FULL = "█"
EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
TRACK = "░"


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


class Meter(Widget):
    """A gauge with a label on the left and its reading on the right."""

    DEFAULT_CSS = """
    Meter {
        height: 1;
        width: 1fr;
    }
    Meter > .meter--label { text-style: bold; }
    Meter > .meter--fill { color: $success; }
    Meter > .meter--track { color: $foreground 25%; }
    Meter > .meter--value { }
    Meter.-warn > .meter--fill { color: $warning; }
    Meter.-warn > .meter--value { color: $text-warning; text-style: bold; }
    Meter.-danger > .meter--fill { color: $error; }
    Meter.-danger > .meter--value { color: $text-error; text-style: bold reverse; }
    Meter.-danger > .meter--label { color: $text-error; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"meter--label", "meter--fill", "meter--track", "meter--value"}

    fraction: reactive[float | None] = reactive(None, layout=False)
    value_text: reactive[str] = reactive(NA, layout=False)

    def __init__(
        self,
        label: str,
        *,
        label_width: int = 5,
        value_width: int = 13,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.label = label
        self.label_width = label_width
        self.value_width = value_width
        self._parts: dict[str, tuple[object, object, Style]] = {}

    @property
    def level(self) -> Level:
        if self.has_class("-danger"):
            return "danger"
        return "warn" if self.has_class("-warn") else "ok"

    def show(self, fraction: float | None, text: str, level: Level = "ok") -> None:
        """Set the reading. Jitter smaller than a thousandth does not repaint."""
        self.fraction = None if fraction is None else round(min(1.0, max(0.0, fraction)), 3)
        self.value_text = text
        self.set_class(level == "warn", "-warn")
        self.set_class(level == "danger", "-danger")

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self.visual_style.rich_style
        if y != 0 or width <= 0:
            return Strip.blank(width, base)

        def part(name: str) -> Style:
            # Textual drops its component-style cache on every refresh; a gauge
            # repaints every second, so keep ours until the styles themselves change.
            styles, visual = self.get_component_styles(name), self.visual_style
            cached = self._parts.get(name)
            if cached is not None and cached[0] is styles and cached[1] is visual:
                return cached[2]
            style = base + styles.partial_rich_style
            self._parts[name] = (styles, visual, style)
            return style

        value = self.value_text
        value_width = max(self.value_width, len(value))
        label = self.label[: self.label_width].ljust(self.label_width)
        bar_width = width - self.label_width - value_width - 2
        segments = [Segment(label, part("meter--label"))]
        if bar_width >= 3:
            filled, empty = bar_cells(self.fraction, bar_width)
            segments += [
                Segment(" ", base),
                Segment(filled, part("meter--fill")),
                Segment(empty, part("meter--track")),
                Segment(" ", base),
            ]
        else:
            segments.append(Segment(" ", base))
        segments.append(Segment(value.rjust(value_width), part("meter--value")))
        return Strip(segments).adjust_cell_length(width, base)
