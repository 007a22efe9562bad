"""Markdown that grows while a reply streams, at a cost that stays flat however long it gets.

Textual's Markdown widget appends incrementally (`Markdown.get_stream` ->
`MarkdownStream.write`), but two costs in it grow with the document: every
append rebuilds the source and splits it into lines, and every layout pass
walks every block widget. Streamed into one widget, a 20,000-token reply costs
tens of CPU-seconds per 1,000 tokens by the end. So a reply here is a column
of *segments*, each its own Markdown widget with its own stream:

- writes are gathered and handed to the stream at most `FLUSH_EVERY` (30 times
  a second), however fast tokens come;
- once a segment holds `SEGMENT_CHARS`, the next safe boundary (a blank line
  outside a code fence, followed by a line that is not indented) starts a new
  segment, so an append only ever touches a short document;
- segments far from the viewport are *folded* by the chat log (see
  `chat_log.ChatLog`): their blocks are hidden and the segment keeps its
  height, so layout skips them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable

from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

FLUSH_EVERY = 1 / 30  # seconds between two writes to the Markdown stream
SEGMENT_CHARS = 1500  # a segment this long starts a new one at the next safe boundary

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class FenceTracker:
    """Follows fenced code blocks through text that arrives in pieces, and finds safe split points.

    A split point is the start of a line that follows a blank line, lies outside
    a code fence and does not begin with whitespace: cutting the Markdown there
    leaves both halves meaning what they meant together (an indented line after a
    blank one may continue a list item, so it is not a split point).
    """

    def __init__(self) -> None:
        self._fence: str | None = None  # the opening run of backticks or tildes
        self._partial = ""  # the unfinished last line seen so far
        self._blank_before = True  # the line before the current one was blank

    @property
    def in_fence(self) -> bool:
        return self._fence is not None

    def feed(self, text: str) -> list[int]:
        """Consume `text`; return the offsets in it where a new segment may start."""
        points: list[int] = []
        pos = 0
        start_offset = -len(self._partial)  # where the current (partial) line began, relative to text
        buf = self._partial + text
        while True:
            newline = buf.find("\n", pos)
            line_start = pos
            if newline < 0:
                self._partial = buf[pos:]
                # A line whose first character is known can already be judged.
                if self._partial and line_start + start_offset >= 0 and self._can_start(self._partial):
                    points.append(line_start + start_offset)
                    self._blank_before = False  # judged once
                return points
            line = buf[pos:newline]
            offset = line_start + start_offset
            if offset >= 0 and self._can_start(line):
                points.append(offset)
            self._close_line(line)
            pos = newline + 1

    def _can_start(self, line: str) -> bool:
        return self._fence is None and self._blank_before and bool(line) and not line[0].isspace()

    def _close_line(self, line: str) -> None:
        match = _FENCE.match(line)
        if self._fence is None:
            if match:
                self._fence = match.group(1)
        elif match and match.group(1)[0] == self._fence[0] and len(match.group(1)) >= len(self._fence) \
                and not line.strip().strip(self._fence[0]):
            self._fence = None
        self._blank_before = not line.strip() and self._fence is None


class Segment(Markdown):
    """One Markdown widget of a StreamingMarkdown.

    It knows when its stream has drawn everything written, and it can *fold*:
    drop its block widgets and keep its height, so that a segment far from
    view costs nothing in layout, styling or focus changes (Textual restyles
    every widget in the DOM when focus moves); unfolding parses its source
    again.
    """

    DEFAULT_CSS = """
    Segment { padding: 0; }
    """

    def __init__(self, markdown: str | None = None, *, sealed: bool = False) -> None:
        super().__init__(markdown)
        self.written = 0  # characters handed to the stream
        self.appended = 0  # characters the widget has taken in
        self.sealed = sealed  # takes no more text: it may fold
        self.folded = False
        self.stale = False  # folded at another width: its height is only a guess
        self._appending = 0
        self._unfolding: AwaitComplete | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def can_fold(self) -> bool:
        unfolding = self._unfolding is not None and not self._unfolding.is_done
        return self.sealed and not self.folded and not self.busy and not unfolding

    def fold(self, height: int) -> None:
        """Keep `height` rows, drop the blocks."""
        if not self.can_fold:
            return
        self.folded = True
        self.styles.height = height
        self.remove_children()

    def unfold(self) -> None:
        """Draw the blocks again (from the source); the height follows them once they are in."""
        if not self.folded:
            return
        self.folded = False
        self.stale = False

        async def redraw() -> None:
            await self.update(self.source)
            self.styles.height = None

        self._unfolding = AwaitComplete(redraw())

    @property
    def busy(self) -> bool:
        return self._appending > 0 or self.appended < self.written

    def append(self, markdown: str) -> AwaitComplete:
        self._appending += 1
        self._idle.clear()
        self.appended += len(markdown)
        inner = super().append(markdown)

        async def run() -> None:
            try:
                await inner
            finally:
                self._appending -= 1
                if not self.busy:
                    self._idle.set()

        return AwaitComplete(run())

    async def drained(self) -> None:
        """Wait until everything written to this segment's stream is in the widget.

        `MarkdownStream.stop()` cancels its updater and appends what is still
        queued; if an append is running at that moment, the two overlap and the
        second re-reads lines the first has not finished with (blocks come out
        twice). Stopping only a drained stream avoids that.
        """
        while self.busy:
            self._idle.clear()
            await self._idle.wait()


def split_markdown(text: str, segment_chars: int = SEGMENT_CHARS) -> list[str]:
    """Cut finished Markdown into segment-sized pieces at the same safe points streaming uses."""
    pieces: list[str] = []
    start = size = 0
    for point in FenceTracker().feed(text):
        if size + (point - start) >= segment_chars and point > start:
            pieces.append(text[start:point])
            start, size = point, 0
    if start < len(text) or not pieces:
        pieces.append(text[start:])
    return pieces


class StreamingMarkdown(Vertical):
    """A column of Markdown segments: `write(text)` while a reply streams, `finish()` at its end.

    Built with `text` and `streaming=False`, it shows finished Markdown (a reply
    from the history) in segments straight away, with no streams at all.
    """

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; }
    """

    class Grew(Message):
        """A new segment started: what is far from view may be folded now (see chat_log)."""

    def __init__(self, text: str = "", *, streaming: bool = True, id: str | None = None,
                 classes: str | None = None, segment_chars: int = SEGMENT_CHARS,
                 flush_every: float = FLUSH_EVERY) -> None:
        super().__init__(id=id, classes=classes)
        self.segment_chars = segment_chars
        self.flush_every = flush_every
        self.streaming = streaming
        self._parts: list[str] = [text] if text else []  # everything written, in order (the source)
        self._pending: list[str] = [text] if text and streaming else []  # not yet handed to a stream
        self._tracker = FenceTracker()
        self._segment: Segment | None = None
        self._stream: MarkdownStream | None = None
        self._open: list[tuple[Segment, MarkdownStream]] = []  # streams not stopped yet
        self._segment_size = 0
        self._timer: Timer | None = None
        self._last_flush = 0.0
        self._reset = False
        self._lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        if not self.streaming and self._parts:
            for piece in split_markdown(self._parts[0], self.segment_chars):
                yield Segment(piece, sealed=True)

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

    @property
    def active_segment(self) -> Segment | None:
        """The segment still taking text (None once finished)."""
        return self._segment if self.streaming else None

    async def on_mount(self) -> None:
        if self._pending:
            await self.flush()

    # -- writing ------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Add `text` to the end; it reaches the screen within `flush_every` seconds."""
        if not text:
            return
        if not self.streaming:
            raise RuntimeError("This Markdown has finished; it takes no more text.")
        self._parts.append(text)
        self._pending.append(text)
        if self._timer is None and self.is_attached:
            # Textual's Timer cannot take a zero delay.
            wait = max(0.001, self._last_flush + self.flush_every - time.monotonic())
            self._timer = self.set_timer(wait, self._flush_due, name="markdown-flush")

    async def _flush_due(self) -> None:
        self._timer = None
        await self.flush()

    def reset(self) -> None:
        """Forget everything written (the answer so far turned out to be reasoning); takes text again."""
        self._parts.clear()
        self._pending.clear()
        self._reset = True
        self.streaming = True
        if self._timer is None and self.is_attached:
            self._timer = self.set_timer(0.001, self._flush_due, name="markdown-flush")

    async def _do_reset(self) -> None:
        self._reset = False
        for segment, stream in self._open:
            await segment.drained()
            await stream.stop()
        self._open.clear()
        self._tracker = FenceTracker()
        self._segment = None
        self._stream = None
        self._segment_size = 0
        await self.remove_children()

    async def flush(self) -> None:
        """Hand everything written so far to the segment streams now."""
        async with self._lock:
            if self._reset:
                await self._do_reset()
            if not self._pending:
                return
            text = "".join(self._pending)
            self._pending.clear()
            self._last_flush = time.monotonic()
            for piece, new_segment in self._pieces(text):
                if new_segment or self._segment is None:
                    await self._start_segment()
                assert self._segment is not None and self._stream is not None
                self._segment.written += len(piece)
                self._segment_size += len(piece)
                await self._stream.write(piece)

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

    async def _start_segment(self) -> None:
        if self._segment is not None:
            self._segment.sealed = True
        segment = Segment()
        await self.mount(segment)
        self._segment = segment
        self._segment_size = 0
        self._stream = Markdown.get_stream(segment)
        self._open.append((segment, self._stream))
        self.post_message(self.Grew())
        # Earlier segments take no more text: stop their streams once drawn.
        for old, stream in self._open[:-1]:
            if not old.busy:
                await stream.stop()
                self._open.remove((old, stream))

    async def finish(self) -> None:
        """Draw everything written and stop the streams (the reply has ended)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self.flush()
        async with self._lock:
            for segment, stream in self._open:
                await segment.drained()
                await stream.stop()
            self._open.clear()
        if self._segment is not None:
            self._segment.sealed = True
        self.streaming = False

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        for _segment, stream in self._open:
            task = stream._task  # the widget is gone: its updaters must not outlive it
            if task is not None:
                task.cancel()
        self._open.clear()
