"""A sparkline of the last few minutes, in fixed time slices.

Textual's Sparkline rescales to the data's own minimum and maximum and
re-buckets the whole series to the width on every paint, so a flat 2 % load
fills the cell height and old columns shimmer as samples arrive. A gauge
history wants the opposite: a fixed scale (0-100 % means the same height on
every panel) and columns pinned to wall-clock slices, so a column only
changes while its slice is current and the picture scrolls left steadily.
Each column is the peak of its slice, because a short VRAM or utilisation
spike is the thing a user is looking for. The widget keeps its own ring
buffer of samples, so callers just `push` readings as they come.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

LEVELS = " ▁▂▃▄▅▆▇█"
FASTEST_REFRESH_S = 0.25


def slice_peaks(
    samples: list[tuple[float, float]] | deque[tuple[float, float]], now: float, window_s: float, columns: int
) -> list[float | None]:
    """Peak value per column; the last column holds the slice that contains `now`.

    A column with no sample repeats the one before it (the reading held until
    the next one), except before the first sample, which stays empty.
    """
    if columns <= 0:
        return []
    slice_s = window_s / columns
    now_slice = math.floor(now / slice_s)
    peaks: list[float | None] = [None] * columns
    for t, value in samples:
        col = columns - 1 - (now_slice - math.floor(t / slice_s))
        if 0 <= col < columns:
            current = peaks[col]
            peaks[col] = value if current is None else max(current, value)
    return hold(peaks)


def hold(peaks: list[float | None]) -> list[float | None]:
    """Fill empty columns with the reading before them; leading empties stay empty."""
    held: float | None = None
    for col, peak in enumerate(peaks):
        if peak is None:
            peaks[col] = held
        else:
            held = peak
    return peaks


def draw_rows(peaks: list[float | None], maximum: float, height: int) -> list[str]:
    """Block-glyph rows, top row first; any sample shows at least the lowest glyph."""
    rows = [[" "] * len(peaks) for _ in range(height)]
    for col, value in enumerate(peaks):
        if value is None:
            continue
        eighths = max(1, round(min(1.0, max(0.0, value / maximum)) * height * 8)) if maximum > 0 else 1
        for row in range(height):
            filled = min(8, max(0, eighths - (height - 1 - row) * 8))
            rows[row][col] = LEVELS[filled]
    return ["".join(row) for row in rows]


class HistorySparkline(Widget):
    """The recent history of one reading, with an optional label in front.

    Set `maximum=None` to scale to the data. The label is drawn by the widget
    itself rather than by a sibling, since a dashboard holds many of these
    and every widget costs something on each screen update.
    """

    DEFAULT_CSS = """
    HistorySparkline {
        height: 1;
        width: 1fr;
        color: $accent;
    }
    HistorySparkline > .history-sparkline--label {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"history-sparkline--label"}

    def __init__(
        self,
        label: str = "",
        *,
        label_width: int = 6,
        window_s: float = 180.0,
        maximum: float | None = 100.0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.label = label
        self.label_width = label_width if label else 0
        self.window_s = window_s
        self.maximum = maximum
        self._samples: deque[tuple[float, float]] = deque(maxlen=int(window_s / FASTEST_REFRESH_S) + 8)
        self._now = 0.0
        self._rows: list[str] = []
        # Per-slice peaks for the current width, kept up to date on each push so
        # a tick costs O(columns), not O(samples); rebuilt from _samples on resize.
        self._columns = 0
        self._slices: deque[list[float]] = deque()  # [slice index, peak]

    @property
    def values(self) -> list[float]:
        """The readings still inside the window, oldest first."""
        return [v for _, v in self._samples]

    def push(self, timestamp: float, value: float | None) -> None:
        """Add a reading; a missing one (`None`) leaves a gap in time, not a zero."""
        self._now = timestamp
        if value is not None:
            self._samples.append((timestamp, value))
            self._add_to_slices(timestamp, value)
        while self._samples and self._samples[0][0] < timestamp - self.window_s:
            self._samples.popleft()
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _add_to_slices(self, timestamp: float, value: float) -> None:
        if self._columns <= 0:
            return
        index = math.floor(timestamp / (self.window_s / self._columns))
        if self._slices and self._slices[-1][0] == index:
            self._slices[-1][1] = max(self._slices[-1][1], value)
        else:
            self._slices.append([index, value])

    def _peaks(self, columns: int) -> list[float | None]:
        if columns != self._columns:
            self._columns = columns
            self._slices.clear()
            for timestamp, value in self._samples:
                self._add_to_slices(timestamp, value)
        if columns <= 0:
            return []
        now_index = math.floor(self._now / (self.window_s / columns))
        while self._slices and self._slices[0][0] <= now_index - columns:
            self._slices.popleft()
        peaks: list[float | None] = [None] * columns
        for index, peak in self._slices:
            col = columns - 1 - (now_index - int(index))
            if 0 <= col < columns:
                peaks[col] = peak
        return hold(peaks)

    def _redraw(self) -> None:
        size = self.content_size
        peaks = self._peaks(max(0, size.width - self.label_width))
        maximum = self.maximum
        if maximum is None:
            maximum = max((p for p in peaks if p is not None), default=0.0)
        rows = draw_rows(peaks, maximum, size.height)
        if rows != self._rows:
            self._rows = rows
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self.visual_style.rich_style
        if not 0 <= y < len(self._rows):
            return Strip.blank(width, base)
        segments = [Segment(self._rows[y], base)]
        if self.label_width:
            label = (self.label if y == 0 else "")[: self.label_width].ljust(self.label_width)
            label_style = base + self.get_component_rich_style("history-sparkline--label", partial=True)
            segments.insert(0, Segment(label, label_style))
        return Strip(segments).adjust_cell_length(width, base)
