"""A bordered panel that draws its gauges, histories and text lines itself.

A dashboard panel is a dozen one-line things. As a dozen widgets, each one
is styled, laid out and composited on its own: about two milliseconds apiece
at start-up and a little on every update. As lines of one widget they cost a
few string operations, and a reading that changed repaints just its line.

A subclass fills `gauges` and `histories`, says in `line_items` which items
are shown and how many rows each takes, and draws any other item in
`draw_item`. When what `line_items` would say changes (an error appears, the
history gets taller), it calls `rearrange`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.dashboard.history import History
from tui.widgets.gauge import Gauge, Level

HISTORY_LABEL_WIDTH = 6


class LinePanel(Widget):
    DEFAULT_CSS = """
    LinePanel {
        height: auto;
    }
    LinePanel > .line-panel--label { text-style: bold; }
    LinePanel > .line-panel--label-danger { color: $text-error; }
    LinePanel > .line-panel--fill { color: $success; }
    LinePanel > .line-panel--fill-warn { color: $warning; }
    LinePanel > .line-panel--fill-danger { color: $error; }
    LinePanel > .line-panel--track { color: $foreground 25%; }
    LinePanel > .line-panel--value-warn { color: $text-warning; text-style: bold; }
    LinePanel > .line-panel--value-danger { color: $text-error; text-style: bold reverse; }
    LinePanel > .line-panel--history { color: $accent; }
    LinePanel > .line-panel--muted { color: $text-muted; }
    LinePanel > .line-panel--error { color: $text-error; text-style: bold; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-panel--label", "line-panel--label-danger",
        "line-panel--fill", "line-panel--fill-warn", "line-panel--fill-danger", "line-panel--track",
        "line-panel--value-warn", "line-panel--value-danger",
        "line-panel--history", "line-panel--muted", "line-panel--error",
    }

    def __init__(self, *, history_rows: int = 1, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.history_rows = history_rows  # how tall each history is; 0 hides them
        self.gauges: dict[str, Gauge] = {}
        self.histories: dict[str, tuple[str, History]] = {}  # name -> (label, history)
        self._version = 0
        self._arranged_for: tuple[int, int] | None = None  # (width, version)
        self._rows: list[tuple[str, int]] = []  # per content row: (item, row within the item)
        self._placed: dict[str, tuple[int, int]] = {}  # item -> (first row, height)
        self._drawn: dict[str, object] = {}  # what an item showed last, to skip repaints

    # ------------------------------------------------------------ for subclasses

    def line_items(self, width: int) -> list[tuple[str, int]]:
        """The items shown, top to bottom, with the rows each takes at `width`."""
        raise NotImplementedError

    def draw_item(self, name: str, row: int, width: int) -> list[Segment]:
        """Segments for row `row` of an item that is neither a gauge nor a history."""
        return []

    def rearrange(self) -> None:
        """What `line_items` says has changed: lay the panel out and draw it again."""
        self._version += 1
        self.refresh(layout=True)

    def gauge(self, name: str) -> Gauge:
        return self.gauges[name]

    def set_history_rows(self, rows: int) -> None:
        if rows != self.history_rows:
            self.history_rows = rows
            self.rearrange()

    def set_gauge(self, name: str, fraction: float | None, text: str, level: Level = "ok") -> None:
        if self.gauges[name].set(fraction, text, level):
            self.refresh_item(name)

    def push_history(self, name: str, timestamp: float, value: float | None) -> None:
        history = self.histories[name][1]
        history.push(timestamp, value)
        placed = self._placed.get(name)
        if placed is None or self._arranged_for is None:
            return
        rows = history.rows(self._arranged_for[0] - HISTORY_LABEL_WIDTH, placed[1])
        self.refresh_item_if_changed(name, rows)

    def refresh_item_if_changed(self, name: str, drawn: object) -> None:
        """Repaint an item if `drawn`, what it would show now, differs from last time."""
        if self._drawn.get(name) != drawn:
            self._drawn[name] = drawn
            self.refresh_item(name)

    def refresh_item(self, name: str) -> None:
        """Repaint the rows of one item, if it is shown."""
        placed = self._placed.get(name)
        width = self.content_size.width
        if placed is not None and width > 0:
            self.refresh(Region(0, placed[0], width, placed[1]))

    def row_of(self, name: str) -> int | None:
        """The content row an item starts on, or None where it is not shown."""
        placed = self._placed.get(name)
        return None if placed is None else placed[0]

    def style_of(self, *components: str) -> Style:
        """The panel's style with these component classes on top."""
        base = self.visual_style.rich_style
        if not components:
            return base
        return base + self.get_component_rich_style(*components, partial=True)

    # ------------------------------------------------------------ layout and drawing

    def _arrange_for(self, width: int) -> None:
        if self._arranged_for == (width, self._version):
            return
        self._arranged_for = (width, self._version)
        self._rows = []
        self._placed = {}
        for name, height in self.line_items(width):
            if height > 0:
                self._placed[name] = (len(self._rows), height)
                self._rows.extend((name, row) for row in range(height))
        self._drawn = {}

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._arrange_for(width)
        return len(self._rows)

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self.visual_style.rich_style
        self._arrange_for(width)
        if not 0 <= y < len(self._rows) or width <= 0:
            return Strip.blank(width, base)
        name, row = self._rows[y]
        if name in self.gauges:
            segments = self._draw_gauge(self.gauges[name], width)
        elif name in self.histories:
            segments = self._draw_history(name, row, width)
        else:
            segments = self.draw_item(name, row, width)
        return Strip(segments).adjust_cell_length(width, base)

    def _draw_gauge(self, gauge: Gauge, width: int) -> list[Segment]:
        label, filled, empty, value = gauge.parts(width)
        level = gauge.level
        base = self.style_of()
        if level == "ok":
            label_style, fill_style = self.style_of("line-panel--label"), self.style_of("line-panel--fill")
            value_style = base
        else:
            label_style = self.style_of("line-panel--label", f"line-panel--label-{level}") \
                if level == "danger" else self.style_of("line-panel--label")
            fill_style = self.style_of("line-panel--fill", f"line-panel--fill-{level}")
            value_style = self.style_of(f"line-panel--value-{level}")
        segments = [Segment(label, label_style), Segment(" ", base)]
        if filled or empty:
            segments += [
                Segment(filled, fill_style),
                Segment(empty, self.style_of("line-panel--track")),
                Segment(" ", base),
            ]
        segments.append(Segment(value, value_style))
        return segments

    def _draw_history(self, name: str, row: int, width: int) -> list[Segment]:
        label, history = self.histories[name]
        height = self._placed[name][1]
        rows = history.rows(width - HISTORY_LABEL_WIDTH, height)
        self._drawn[name] = rows
        text = (label if row == 0 else "")[:HISTORY_LABEL_WIDTH].ljust(HISTORY_LABEL_WIDTH)
        return [
            Segment(text, self.style_of("line-panel--muted")),
            Segment(rows[row] if row < len(rows) else "", self.style_of("line-panel--history")),
        ]
