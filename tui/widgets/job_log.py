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
from textual.widgets import RichLog

from tui.widgets.job_state import LOG_LINES


class JobLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=LOG_LINES, min_width=20, wrap=True, markup=False,
                         highlight=False, auto_scroll=False)

    def _at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def add_line(self, line: str) -> None:
        self.write(Text(line), scroll_end=self._at_end())

    def show_lines(self, lines: Iterable[str]) -> None:
        """Replace what is shown with `lines`, and follow the end again."""
        self.clear()
        shown = list(lines)
        for i, line in enumerate(shown):  # scrolled once, at the last line (also when the write is deferred)
            self.write(Text(line), scroll_end=i == len(shown) - 1)
