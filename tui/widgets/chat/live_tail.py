"""The last words of a streaming reply, shown as they arrive, before the Markdown above catches up.

Drawing Markdown costs a layout pass of the whole screen (every widget is
visited, the log scrolls, so every row is repainted): tens of milliseconds
in Textual however little changed. Done for every token at a GPU's pace, that
is most of a core. So the Markdown above is drawn a few times a second
(markdown.StreamingMarkdown), and this strip under it shows the text that has
arrived since, as plain text, up to `ROWS` rows, updated `EVERY` seconds.
Its height never changes while the reply streams, so an update repaints
these rows only: no layout, nothing else redrawn.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len, chop_cells
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget

ROWS = 4  # rows the strip keeps while a reply streams
EVERY = 0.1  # seconds between two repaints of the strip


def last_rows(text: str, width: int, rows: int) -> tuple[list[str], bool]:
    """The last `rows` rows `text` takes when wrapped at `width` cells (wide CJK characters count
    twice; a row breaks at a character, since the words are still arriving), and whether it takes
    more than that."""
    width = max(4, width)
    out: list[str] = []
    for line in reversed(text.split("\n")):
        if cell_len(line) <= width:
            out.append(line)
        else:
            out.extend(reversed(chop_cells(line, width)))
        if len(out) > rows:
            break
    return list(reversed(out[:rows])), len(out) > rows


class LiveTail(Widget):
    """Plain text of what the Markdown above has not drawn yet; repaints without a layout."""

    DEFAULT_CSS = f"""
    LiveTail {{ height: {ROWS}; width: 1fr; color: $text-muted; }}
    """

    def __init__(self, pending: Callable[[], str], *, overflowed: Callable[[], None] | None = None,
                 classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._pending = pending  # the text not drawn above yet
        self._overflowed = overflowed  # called when the pending text takes more than ROWS rows
        self._changed = False
        self._timer: Timer | None = None
        self.repaints = 0  # for tests and benchmarks

    def on_mount(self) -> None:
        if self._changed:  # text came before the strip was mounted
            self._timer = self.set_interval(EVERY, self._repaint, name="live-tail")

    def touch(self) -> None:
        """The pending text changed: the strip catches up within `EVERY` seconds (cheap: per token)."""
        self._changed = True
        if self._timer is None and self.is_mounted:  # a reply that never thinks never ticks its reasoning's
            self._timer = self.set_interval(EVERY, self._repaint, name="live-tail")

    def _repaint(self) -> None:
        if self._changed:
            self.repaint_now()

    def repaint_now(self) -> None:
        self._changed = False
        self.refresh()

    def render(self) -> Content:
        self.repaints += 1
        rows, more = last_rows(self._pending(), self.size.width, ROWS)
        if more and self._overflowed is not None:
            self._overflowed()
        return Content("\n".join(rows))

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
