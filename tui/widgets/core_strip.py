"""Per-core load as one row of block glyphs: `▁▁█▂▁▁▇▁`.

A single busy core (a tokenizer, a Python loop) hides inside an 8 % total but
is plain to see here. With more cores than cells, neighbours share a cell and
the cell shows their peak, so a pegged core is never averaged away.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.history_sparkline import draw_rows


def core_glyphs(per_cpu: tuple[float, ...] | list[float], width: int) -> str:
    if width <= 0 or not per_cpu:
        return ""
    n = len(per_cpu)
    cells = min(n, width)
    peaks: list[float | None] = [max(per_cpu[c * n // cells : (c + 1) * n // cells]) for c in range(cells)]
    return draw_rows(peaks, 100.0, 1)[0]


class CoreStrip(Widget):
    DEFAULT_CSS = """
    CoreStrip {
        height: 1;
        width: 1fr;
        color: $accent;
    }
    CoreStrip > .core-strip--label {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"core-strip--label"}

    def __init__(
        self,
        label: str = "",
        *,
        label_width: int = 6,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.label = label
        self.label_width = label_width if label else 0
        self._per_cpu: tuple[float, ...] = ()
        self._glyphs = ""

    @property
    def glyphs(self) -> str:
        return self._glyphs

    def show(self, per_cpu: tuple[float, ...]) -> None:
        self._per_cpu = per_cpu
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        glyphs = core_glyphs(self._per_cpu, self.content_size.width - self.label_width)
        if glyphs != self._glyphs:
            self._glyphs = glyphs
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self.visual_style.rich_style
        if y != 0:
            return Strip.blank(width, base)
        segments = [Segment(self._glyphs, base)]
        if self.label_width:
            label_style = base + self.get_component_rich_style("core-strip--label", partial=True)
            segments.insert(0, Segment(self.label[: self.label_width].ljust(self.label_width), label_style))
        return Strip(segments).adjust_cell_length(width, base)
