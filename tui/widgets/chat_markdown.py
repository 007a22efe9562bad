"""Markdown that grows while a reply streams, at a cost per token that stays flat however long it gets.

Textual's Markdown widget appends incrementally (`Markdown.get_stream` ->
`MarkdownStream.write`), but costs in it grow with the document: every
append rebuilds the source and splits it into lines, every layout pass walks
every block widget, every focus change restyles them all. Streamed into one
widget, a 20,000-token reply costs several CPU-seconds per 1,000 tokens by
the end. So a reply here is a column of segments (chat_segment.Segment),
each its own Markdown widget with its own stream:

- writes are gathered and handed to the stream at most every `FLUSH_EVERY`
  (30 times a second), however fast tokens come;
- once a segment holds `SEGMENT_CHARS`, the next safe cut starts a new one
  (chat_markdown_cuts), so an append only ever touches a short document;
- when one flush brings more than `LIVE_TAIL_CHARS` (tokens arriving faster
  than anyone reads), only its last part is drawn; the segments before it
  start folded and are drawn when scrolled to; and until the burst is over,
  the screen is drawn only every `BURST_FLUSH_EVERY`, so reading the stream
  keeps most of the time;
- segments far from the viewport are folded by the chat log (chat_log).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

from tui.widgets.chat_markdown_cuts import SEGMENT_CHARS, FenceTracker
from tui.widgets.chat_segment import Segment

FLUSH_EVERY = 1 / 30  # seconds between two writes to the Markdown streams
LIVE_TAIL_CHARS = 1500  # in one flush, text further than this from its end starts folded (half a screen)
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
                 flush_every: float = FLUSH_EVERY, live_tail: int = LIVE_TAIL_CHARS) -> None:
        super().__init__(id=id, classes=classes)
        self.segment_chars = segment_chars
        self.flush_every = flush_every
        self.live_tail = live_tail
        self.streaming = streaming
        self._parts: list[str] = [text] if text else []  # everything written, in order (the source)
        self._pending: list[str] = [text] if text and streaming else []  # not yet handed to a stream
        self._tracker = FenceTracker()
        self._segment: Segment | None = None  # the one taking text
        self._stream: MarkdownStream | None = None
        self._open: list[tuple[Segment, MarkdownStream]] = []  # streams not stopped yet
        self._segment_size = 0
        self._timer: Timer | None = None
        self._last_flush = 0.0
        self._reset = False
        self._bursting = False  # the last flush brought more than a screenful: draw less often
        self._flushing = False  # a flush worker is running
        self._lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        if not self.streaming and self._parts:
            yield Segment.lazy(self._parts[0], self._width())

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
    def segments(self) -> list[Segment]:
        return list(self.query_children(Segment))

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
        await self._stop_streams()
        self._tracker = FenceTracker()
        self._segment = None
        self._stream = None
        self._segment_size = 0
        await self.remove_children()

    async def flush(self) -> None:
        """Hand everything written so far to the segments now."""
        async with self._lock:
            if self._reset:
                await self._do_reset()
            if not self._pending:
                return
            text = "".join(self._pending)
            self._pending.clear()
            self._bursting = len(text) > self.live_tail
            pieces = list(self._pieces(text))
            left = len(text)
            run: list[str] = []  # segments that will not be drawn now: one folded widget for them all
            for i, (piece, new_segment) in enumerate(pieces):
                left -= len(piece)
                if new_segment and i < len(pieces) - 1 and left >= self.live_tail:
                    self._seal()
                    run.append(piece)
                    continue
                if run:
                    await self.mount(Segment.lazy("".join(run), self._width()))
                    run = []
                if new_segment or self._segment is None:
                    await self._start_segment()
                assert self._segment is not None and self._stream is not None
                self._segment.written += len(piece)
                self._segment_size += len(piece)
                await self._stream.write(piece)
        self._grew()

    def _grew(self) -> None:
        """Tell the log (see chat_log) at once: a message would wait behind a busy queue."""
        for node in self.ancestors:
            request = getattr(node, "request_folds", None)
            if callable(request):
                request()
                return

    def _pieces(self, text: str) -> Iterable[tuple[str, bool]]:
        """`text` cut where a new segment should start: (piece, starts a new segment)."""
        start, size, new = 0, self._segment_size, False
        for point in self._tracker.feed(text):
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
        self._stream = None
        self._segment_size = 0

    async def _start_segment(self) -> None:
        self._seal()
        segment = Segment()
        await self.mount(segment)
        self._segment = segment
        self._stream = Markdown.get_stream(segment)
        self._open.append((segment, self._stream))
        # Earlier segments take no more text: stop their streams once drawn.
        for old, stream in self._open[:-1]:
            if not old.busy:
                await stream.stop()
                self._open.remove((old, stream))

    async def _stop_streams(self) -> None:
        for segment, stream in self._open:
            await segment.drained()
            await stream.stop()
        self._open.clear()

    async def finish(self) -> None:
        """Draw everything written and stop the streams (the reply has ended)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self.flush()
        async with self._lock:
            await self._stop_streams()
            self._seal()
        self.streaming = False

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        for _segment, stream in self._open:
            task = stream._task  # the widget is gone: its updaters must not outlive it
            if task is not None:
                task.cancel()
        self._open.clear()
