"""One piece of a reply's Markdown, which can step out of the DOM while it is far from view.

A *folded* segment has no block widgets, only its source and a fixed
height, so it costs nothing in layout, in styling, or when focus moves
(Textual restyles every widget in the DOM then). It is *drawn* again from
its source when it comes near the viewport (log.ChatLog decides when).
A segment can also start folded (`Segment.lazy`): text that streamed in
faster than anyone could read it, or an old reply opened from the history,
is only parsed into widgets once it is scrolled to; until then its height is
an estimate (`stale`), corrected when it is drawn. Such text is kept as one
*run* (one widget however long) and cut into segments only when it comes
into view, so a long burst or a long history adds a handful of widgets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import accumulate

from textual.await_complete import AwaitComplete
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock, MarkdownFence

from tui.widgets.chat.markdown_cuts import SEGMENT_CHARS, estimate_rows, split_markdown


class ChatFence(MarkdownFence):
    """A code block; one without a language is shown plain.

    Textual's fence guesses the language of unlabelled code with pygments'
    `guess_lexer` (textual/highlight.py `guess_language`, Textual 8.2.8), which
    runs every lexer's analyser over the code: tens of milliseconds, again on
    every flush while the block grows, and often a wrong guess.
    """

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        return super().highlight(code, language or "text", ansi=ansi, dark=dark)


class Segment(Markdown):
    """A Markdown widget that knows what its stream still owes it, and that can fold."""

    BLOCKS: dict[str, type[MarkdownBlock]] = {  # noqa: RUF012 (Textual declares it so)
        **Markdown.BLOCKS, "fence": ChatFence, "code_block": ChatFence}

    DEFAULT_CSS = """
    Segment { padding: 0; }
    """

    def __init__(self, markdown: str | None = None, *, sealed: bool = False) -> None:
        super().__init__(markdown)
        self.written = 0  # characters handed to its stream
        self.appended = 0  # characters the widget has taken in
        self.sealed = sealed  # takes no more text: it may fold
        self.folded = False
        self.stale = False  # the fixed height is an estimate (never drawn, or drawn at another width)
        self._text = markdown or ""  # the source while folded (Markdown.source is emptied then)
        # A run made of folded segments keeps each one's text and exact height, so cutting it again
        # for drawing gives back exact heights (nothing on screen moves); None: one piece.
        self._known: list[tuple[str, int]] | None = None
        self.gone = False  # merged into the run before it, or cut into pieces: its removal is under way
        self._appending = 0
        self._redraw: AwaitComplete | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def lazy(cls, markdown: str, width: int) -> Segment:
        """A sealed segment that is not drawn until it comes near the viewport."""
        segment = cls(sealed=True)
        segment._text = markdown
        segment.folded = True
        segment.stale = True
        segment.styles.height = estimate_rows(markdown, width)
        return segment

    @property
    def text(self) -> str:
        return self._text if self.folded else self.source

    @property
    def folded_height(self) -> int | None:
        """The rows a folded segment keeps (None when drawn: its blocks decide)."""
        height = self.styles.height
        return int(height.value) if self.folded and height is not None else None

    @classmethod
    def folded_pieces(cls, pieces: list[tuple[str, int]]) -> Segment:
        """A sealed, folded segment of known pieces (text, exact rows): one run of them if several."""
        segment = cls(sealed=True)
        segment._text = "".join(text for text, _ in pieces)
        segment._known = pieces if len(pieces) > 1 else None
        segment.folded = True
        segment.styles.height = sum(rows for _, rows in pieces)
        return segment

    @property
    def is_run(self) -> bool:
        """Folded text long enough to be several segments: split it before drawing any of it."""
        return self.folded and (self._known is not None or len(self._text) > 2 * SEGMENT_CHARS)

    def _pieces(self) -> list[tuple[str, int]]:
        return self._known or [(self._text, self.folded_height or 0)]

    def split_run(self, rows: tuple[int, int] | None = None) -> list[Segment]:
        """Put this run's text back as segment-sized lazy pieces (in its place); returns them, or
        nothing when the text cannot be cut.

        With `rows` (first, last), rows of this run counted from its top, only
        the pieces that (by estimate) lie there become segments of their own; the
        text before and after them stays folded as runs, so scrolling to the end
        of a long burst adds a handful of widgets, not one per piece.
        """
        width = self.size.width or 80
        if self._known is not None and not self.stale:
            known = self._known
            groups = _near(known, *rows) if rows is not None else [[piece] for piece in known]
            pieces = [Segment.folded_pieces(group) for group in groups]
        else:
            texts = split_markdown(self._text)
            if len(texts) < 2:
                return []  # nowhere to cut it (one long code block): it is drawn whole
            estimated = [(text, estimate_rows(text, width)) for text in texts]
            groups = _near(estimated, *rows) if rows is not None else [[piece] for piece in estimated]
            pieces = [Segment.lazy("".join(text for text, _ in group), width) for group in groups]
        parent = self.parent
        if isinstance(parent, Widget):
            parent.mount_all(pieces, before=self)
            self.gone = True
            self.remove()
        return pieces

    # -- streaming ------------------------------------------------------------------

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

    # -- folding --------------------------------------------------------------------

    @property
    def can_fold(self) -> bool:
        redrawing = self._redraw is not None and not self._redraw.is_done
        return self.sealed and not self.folded and not self.busy and not redrawing

    def fold(self, height: int) -> None:
        """Keep `height` rows, drop the blocks."""
        if not self.can_fold:
            return
        self._text = self.source
        self.folded = True
        self.styles.height = height
        self.remove_children()

    def fold_with(self, more: str, width: int) -> None:
        """Fold, taking `more` text after this segment's own: a run, drawn when scrolled to.

        For the segment a burst continues: what it had drawn is about to scroll
        far out of view, and drawing the continuation would be wasted work. The
        segment's stream must be stopped first; its height becomes an estimate.
        """
        self._text = self.source + more
        self._known = None
        self.sealed = True
        self.folded = True
        self.stale = True
        self.styles.height = estimate_rows(self._text, width)
        self.remove_children()

    def absorb(self, after: Segment) -> None:
        """Take the folded segment that follows this folded one into it (one widget for both), so
        the widgets a long reply leaves behind stay few: every layout pass visits each of them."""
        assert self.folded and after.folded
        pieces = self._pieces() + after._pieces()
        self._known = None if self.stale or after.stale else pieces
        self._text += after._text
        self.stale = self.stale or after.stale
        self.styles.height = sum(rows for _, rows in pieces)
        after.gone = True
        after.remove()

    def unfold(self, then: Callable[[Segment, int], None] | None = None) -> None:
        """Draw the blocks from the source; `then(self, old_height)` runs once they are laid out."""
        if not self.folded:
            return
        self.folded = False
        self._known = None
        old = self.styles.height
        old_height = int(old.value) if old is not None else 0

        async def redraw() -> None:
            await self.update(self._text)
            self.stale = False
            self.styles.height = None
            if then is not None:
                self.call_after_refresh(then, self, old_height)

        self._redraw = AwaitComplete(redraw())


def _near(pieces: list[tuple[str, int]], first: int, last: int) -> list[list[tuple[str, int]]]:
    """`pieces` (text, rows) grouped: those wholly above row `first` in one group, each piece that
    overlaps rows `first`..`last` in a group of its own, those wholly below row `last` in one group."""
    heights = [rows for _, rows in pieces]
    tops = [0, *accumulate(heights)][:-1]
    near = [i for i, (top, height) in enumerate(zip(tops, heights, strict=True))
            if top + height > first and top <= last]
    if not near:  # the rows miss the estimate: the piece closest to them
        near = [min(range(len(pieces)), key=lambda i: min(abs(tops[i] - first), abs(tops[i] - last)))]
    lo, hi = near[0], near[-1]
    before, after = pieces[:lo], pieces[hi + 1:]
    return [*([before] if before else []), *([piece] for piece in pieces[lo:hi + 1]),
            *([after] if after else [])]
