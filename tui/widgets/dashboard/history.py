"""Sparkline history of the last few minutes, in fixed time slices, and per-core load.

Textual's Sparkline rescales to the data's own minimum and maximum and
re-buckets the whole series to the width on every paint, so a flat 2 % load
fills the cell height and old columns shimmer as samples arrive. A gauge
history wants the opposite: a fixed scale (0-100 % means the same height on
every panel) and columns pinned to wall-clock slices, so a column only
changes while its slice is current and the picture scrolls left steadily.
Each column is the peak of its slice, because a short VRAM or utilisation
spike is the thing a user is looking for. A `History` keeps its own ring
buffer of samples, so callers just `push` readings as they come; like a
`Gauge`, it is drawn by the panel that holds it, not by a widget of its own.
"""

from __future__ import annotations

import math
from collections import deque

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


def core_glyphs(per_cpu: tuple[float, ...] | list[float], width: int) -> str:
    """Per-core load as one row of block glyphs: `▁▁█▂▁▁▇▁`.

    A single busy core (a tokenizer, a Python loop) hides inside an 8 % total
    but is plain to see here. With more cores than cells, neighbours share a
    cell and the cell shows their peak, so a pegged core is never averaged away.
    """
    if width <= 0 or not per_cpu:
        return ""
    n = len(per_cpu)
    cells = min(n, width)
    peaks: list[float | None] = [max(per_cpu[c * n // cells : (c + 1) * n // cells]) for c in range(cells)]
    return draw_rows(peaks, 100.0, 1)[0]


class History:
    """The recent history of one reading, drawn as rows of block glyphs.

    Set `maximum=None` to scale to the data.
    """

    def __init__(self, *, window_s: float = 180.0, maximum: float | None = 100.0) -> None:
        self.window_s = window_s
        self.maximum = maximum
        self._samples: deque[tuple[float, float]] = deque(maxlen=int(window_s / FASTEST_REFRESH_S) + 8)
        self._now = 0.0
        # Per-slice peaks for one width, kept up to date on each push so a
        # tick costs O(columns), not O(samples); rebuilt from _samples when
        # the width changes.
        self._columns = 0
        self._slices: deque[list[float]] = deque()  # [slice index, peak]
        self._drawn: tuple[tuple[int, int, float, int], list[str]] | None = None
        self._pushes = 0

    @property
    def values(self) -> list[float]:
        """The readings still inside the window, oldest first."""
        return [v for _, v in self._samples]

    @property
    def samples(self) -> list[tuple[float, float]]:
        """(timestamp, value) pairs still inside the window, oldest first."""
        return list(self._samples)

    @property
    def now(self) -> float:
        return self._now

    def push(self, timestamp: float, value: float | None) -> None:
        """Add a reading; a missing one (`None`) leaves a gap in time, not a zero."""
        self._now = timestamp
        self._pushes += 1
        if value is not None:
            self._samples.append((timestamp, value))
            self._add_to_slices(timestamp, value)
        while self._samples and self._samples[0][0] < timestamp - self.window_s:
            self._samples.popleft()

    def rows(self, columns: int, height: int) -> list[str]:
        """The picture `columns` wide and `height` rows high, top row first."""
        key = (columns, height, self._now, self._pushes)
        if self._drawn is not None and self._drawn[0] == key:
            return self._drawn[1]
        peaks = self._peaks(max(0, columns))
        maximum = self.maximum
        if maximum is None:
            maximum = max((p for p in peaks if p is not None), default=0.0)
        rows = draw_rows(peaks, maximum, max(0, height))
        self._drawn = (key, rows)
        return rows

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
