"""Markdown that grows while a reply streams, at a cost per token that stays flat however long it gets.

Textual's Markdown widget appends incrementally (`Markdown.append`), but
costs in it grow with the document: every append rebuilds the source and
splits it into lines, every layout pass walks every block widget, every
focus change restyles them all. And whatever changes, drawing it is a layout
pass of the whole screen and, with the log following the end, a repaint of
every row: tens of milliseconds. So a reply here is a column of segments
(segment.Segment), each its own Markdown widget, with a live tail under them:

- writes are gathered and handed to the Markdown once a second
  (`FLUSH_EVERY`), or every `SOONEST_FLUSH` when more arrives than the live
  tail can show, however fast tokens come; the live tail (live_tail) shows
  the words that arrived since, as plain text, ten times a second, without a
  layout (bench/chat_paced.py measures what this saves at a GPU's pace);
- once a segment holds `SEGMENT_CHARS`, the next safe cut starts a new one
  (markdown_cuts), so an append only ever re-parses a short document, and
  segments before the live one are never touched again;
- when one flush brings more than a screenful (tokens arriving faster than
  anyone reads), only its last screenful is drawn; the text before it,
  with the segment it continues, folds into one run that is drawn when
  scrolled to; and until the burst is over, the screen is drawn only every
  `BURST_FLUSH_EVERY`, so reading the stream keeps most of the time;
- segments far from the viewport are folded by the chat log (log), and
  folded neighbours merge into one run, so a long reply leaves few widgets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer

from tui.widgets.chat.live_tail import LiveTail
from tui.widgets.chat.markdown_cuts import SEGMENT_CHARS, FenceTracker, estimate_rows
from tui.widgets.chat.segment import Segment

FLUSH_EVERY = 1.0  # most seconds between two draws of the Markdown (the live tail shows what is between)
SOONEST_FLUSH = 0.5  # least seconds between two draws, when the live tail overflows before FLUSH_EVERY
BURST_FLUSH_EVERY = 1.0  # seconds between flushes while text comes faster than a screenful per flush


class StreamingMarkdown(Vertical):
    """A column of Markdown segments: `write(text)` while a reply streams, `finish()` at its end.

    Built with `text` and `streaming=False`, it holds finished Markdown (a reply
    from the history) as folded segments, drawn as they come into view.
    """

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; }
    """

    def __init__(self, text: str = "", *, streaming: bool = True, id: str | None = None,
                 classes: str | None = None, segment_chars: int = SEGMENT_CHARS,
                 flush_every: float = FLUSH_EVERY, live_rows: int | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.segment_chars = segment_chars
        self.flush_every = flush_every
        self.live_rows = live_rows  # rows a burst's drawn end fills; None: what the log may draw
        self.streaming = streaming
        self._parts: list[str] = [text] if text else []  # everything written, in order (the source)
        self._pending: list[str] = [text] if text and streaming else []  # not yet handed to a stream
        self._tracker = FenceTracker()
        self._segment: Segment | None = None  # the one taking text
        self._segment_size = 0
        self._timer: Timer | None = None
        self._last_flush = 0.0
        self._reset = False
        self._bursting = False  # the last flush brought more than a screenful: draw less often
        self._flushing = False  # a flush worker is running
        self._lock = asyncio.Lock()
        self._tail = self._new_tail() if streaming else None

    def compose(self) -> ComposeResult:
        if not self.streaming and self._parts:
            yield Segment.lazy(self._parts[0], self._width())
        if self._tail is not None:
            yield self._tail

    def _new_tail(self) -> LiveTail:
        return LiveTail(self._pending_text, overflowed=self._tail_overflowed)

    def _tail_overflowed(self) -> None:
        """The live tail cannot show all that is pending: draw the Markdown as soon as allowed."""
        if self._timer is None or self._flushing or self._bursting:
            return
        due = self._last_flush + min(self.flush_every, SOONEST_FLUSH) - time.monotonic()
        self._timer.stop()
        self._timer = None
        self._schedule(max(0.0, due))

    def _pending_text(self) -> str:
        if len(self._pending) > 1:
            self._pending[:] = ["".join(self._pending)]
        return self._pending[0] if self._pending else ""

    async def _mount_segment(self, segment: Segment) -> None:
        """Segments go above the live tail."""
        tail = self._tail if self._tail is not None and self._tail.parent is self else None
        await self.mount(segment, before=tail)

    def _width(self) -> int:
        return self.size.width or max(20, self.app.size.width - 8)

    # -- what it holds ------------------------------------------------------------

    @property
    def text(self) -> str:
        """The whole Markdown source written so far (drawn or not)."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def idle(self) -> bool:
        """Nothing pending, no flush due or running."""
        return not self._pending and self._timer is None and not self._flushing

    @property
    def segments(self) -> list[Segment]:
        return [s for s in self.query_children(Segment) if not s.gone]

    async def on_mount(self) -> None:
        if self._pending:
            await self.flush()
        elif self.children:
            self.call_after_refresh(self._grew)  # once laid out, the log draws what is in view

    # -- writing ------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Add `text` to the end; it reaches the screen within `flush_every` seconds."""
        if not text:
            return
        if not self.streaming:
            raise RuntimeError("This Markdown has finished; it takes no more text.")
        self._parts.append(text)
        self._pending.append(text)
        if self._tail is not None:
            self._tail.touch()
        self._schedule()

    def _schedule(self, wait: float | None = None) -> None:
        """Flush `wait` seconds from now, or `flush_every` after the last flush ended."""
        if self._timer is not None or self._flushing or not self.is_attached:
            return
        if wait is None:
            every = BURST_FLUSH_EVERY if self._bursting else self.flush_every
            wait = self._last_flush + every - time.monotonic()
        # Textual's Timer cannot take a zero delay.
        self._timer = self.set_timer(max(0.001, wait), self._flush_due, name="markdown-flush")

    def _flush_due(self) -> None:
        self._timer = None
        self._flushing = True
        # Not awaited here: a long flush must not hold this widget's message queue.
        self.run_worker(self._timed_flush(), group="markdown-flush")

    async def _timed_flush(self) -> None:
        try:
            await self.flush()
        finally:
            # The pause runs from the end of a flush: reading the stream gets its share however
            # long drawing took.
            self._last_flush = time.monotonic()
            self._flushing = False
            if self._pending:
                self._schedule()

    def reset(self) -> None:
        """Forget everything written (the answer so far turned out to be reasoning); takes text again."""
        self._parts.clear()
        self._pending.clear()
        self._reset = True
        self.streaming = True
        self._schedule(0.0)

    async def _do_reset(self) -> None:
        self._reset = False
        self._tracker = FenceTracker()
        self._segment = None
        self._segment_size = 0
        await self.remove_children(Segment)
        if self._tail is None:
            self._tail = self._new_tail()
            await self.mount(self._tail)

    async def flush(self) -> None:
        """Hand everything written so far to the segments now."""
        async with self._lock:
            if self._reset:
                await self._do_reset()
            if not self._pending:
                return
            text = "".join(self._pending)
            self._pending.clear()
            points = self._tracker.feed(text)
            fold_to = self._fold_point(text, points)
            self._bursting = fold_to is not None
            # One layout pass for all of it: each pass lays out every widget on screen, so a fold,
            # a new segment and its blocks each getting a pass of their own would cost three.
            with self.app.batch_update():
                if fold_to is not None:
                    # More than a screenful came at once: what is above its last screenful is not drawn.
                    if fold_to:
                        await self._fold_into_run(text[:fold_to])
                    self._seal()
                    text = text[fold_to:]
                    points = [p - fold_to for p in points if p >= fold_to]
                for piece, new_segment in self._pieces(text, points):
                    if new_segment or self._segment is None:
                        await self._start_segment(piece)
                    else:
                        await self._write(piece)
                if self._tail is not None:
                    self._tail.repaint_now()  # what it showed is in the Markdown now
        self._last_flush = time.monotonic()  # the next one waits its interval from here, whoever flushed
        self.call_after_refresh(self._grew)  # the log judges by regions: let the layout place this first

    def _fold_point(self, text: str, points: list[int]) -> int | None:
        """Where the last screenful of `text` starts (a split point), or None if it is shorter."""
        # The log draws what is within a quarter screen of its view, which is shorter than the terminal.
        need = self.live_rows or self.app.size.height * 5 // 4
        width = self._width()
        rows, end = 0, len(text)
        for point in reversed(points):
            if point >= end:
                continue
            rows += estimate_rows(text[point:end], width)
            end = point
            if rows >= need:
                return point
        return None

    async def _fold_into_run(self, head: str) -> None:
        """`head` goes undrawn: into the segment it continues (which folds), else a run of its own."""
        segment = self._segment
        if segment is None:
            await self._mount_segment(Segment.lazy(head, self._width()))
            return
        await segment.drained()
        segment.fold_with(head, self._width())

    def _grew(self) -> None:
        """Tell the log (see log) that what it folds or draws may have changed."""
        for node in self.ancestors:
            request = getattr(node, "request_folds", None)
            if callable(request):
                request()
                return

    def _pieces(self, text: str, points: list[int]) -> Iterable[tuple[str, bool]]:
        """`text` cut at split `points` where a new segment should start: (piece, starts a new segment)."""
        start, size, new = 0, self._segment_size, False
        for point in points:
            if size + (point - start) < self.segment_chars or (point == start and size == 0):
                continue
            if point > start:
                yield text[start:point], new
            start, size, new = point, 0, True
        if start < len(text):
            yield text[start:], new

    def _seal(self) -> None:
        if self._segment is not None:
            self._segment.sealed = True
        self._segment = None
        self._segment_size = 0

    async def _start_segment(self, text: str) -> None:
        """A new segment, parsed from `text` as it mounts (a stream only starts if more text follows)."""
        self._seal()
        segment = Segment(text)
        await self._mount_segment(segment)
        self._segment = segment
        self._segment_size = len(text)

    async def _write(self, text: str) -> None:
        """Append to the segment taking text; Textual's Markdown.append re-parses from its last block,
        which a short segment keeps short. Awaited here, inside the flush's batch, so the new text
        and the emptied live tail reach the screen in one frame."""
        segment = self._segment
        assert segment is not None
        segment.written += len(text)
        self._segment_size += len(text)
        await segment.append(text)

    async def finish(self) -> None:
        """Draw everything written and stop the streams (the reply has ended)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self.flush()
        async with self._lock:
            self._seal()
            if self._tail is not None:
                self._tail.stop()
                await self._tail.remove()
                self._tail = None
        self.streaming = False

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()
