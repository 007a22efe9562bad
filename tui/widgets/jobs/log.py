"""The live tail of a job's tool output: wrapped, bounded, following the end unless scrolled back.

Tool lines are long (the converter's tensor list, llama-quantize's per-tensor
sizes, absolute paths), so they wrap instead of hiding behind a horizontal
scrollbar. The log follows new lines only while the user is at the bottom:
scrolling up to read an earlier line keeps it still until they scroll down
again. The job's own record (`JobState.log`) holds the lines; this widget
only shows them, so switching jobs redraws from the record.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from core.pipeline.job_state import LOG_LINES
from core.redact import redact


class JobLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=LOG_LINES, min_width=20, wrap=True, markup=False,
                         highlight=False, auto_scroll=False)
        self._source: Iterable[str] | None = None  # the record shown: re-wrapped when the width changes
        self._wrapped_at: int | None = None

    def _at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def _width(self) -> int | None:
        """Wrap at the widget's width less the scrollbar's column, shown or not yet.

        RichLog on its own wraps at the narrower of the widget and the app's
        console, which is not the terminal's width in every driver.
        """
        width = self.content_region.width - self.styles.scrollbar_size_vertical
        return width if width >= 20 else None

    def add_line(self, line: str) -> None:
        self.write(Text(redact(line)), width=self._width(), scroll_end=self._at_end())

    def on_resize(self, event: Resize) -> None:  # RichLog's own handler runs after this one
        if self._source is not None and self._width() != self._wrapped_at:
            self.show_lines(self._source)

    def show_lines(self, lines: Iterable[str]) -> None:
        """Show `lines` (the job's record, which later `add_line` calls extend) and follow the end."""
        self._source = lines
        self._wrapped_at = self._width()
        self.clear()
        shown = list(lines)
        for i, line in enumerate(shown):  # scrolled once, at the last line (also when the write is deferred)
            self.write(Text(redact(line)), width=self._width(), scroll_end=i == len(shown) - 1)
