"""The scrolling column of a conversation, which keeps each frame cheap however long it gets.

Textual lays out every displayed widget on every layout pass and restyles
every widget in the DOM when focus moves, even those scrolled far out of
view, so a long conversation (or one very long reply) makes each new token
cost more than the last. The log *folds* the Markdown segments
(`chat_markdown.Segment`) that lie more than a screen away from the
viewport: a folded segment keeps its exact height, so the scrollbar and the
scroll position do not move, and drops its block widgets, so they cost
nothing. It is drawn again from its source as soon as it comes near.

After a change of width the heights of folded segments are stale; they are
corrected one by one as each comes near (the text reflows then anyway).
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.timer import Timer

from tui.widgets.chat_markdown import Segment, StreamingMarkdown

FOLD_DELAY = 0.1  # seconds: folding follows scrolling and growth, a few times a second at most


class ChatLog(VerticalScroll, can_focus=True):
    """Messages top to bottom; folds what is far from view so each frame costs the same."""

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 margin_screens: float = 1.0) -> None:
        super().__init__(id=id, classes=classes)
        self.margin_screens = margin_screens
        self._fold_timer: Timer | None = None
        self._fold_width = 0
        self.folds_done = 0  # segments folded so far (for tests and benchmarks)

    # -- scheduling ---------------------------------------------------------------

    def request_folds(self) -> None:
        if self._fold_timer is None and self.is_attached:
            self._fold_timer = self.set_timer(FOLD_DELAY, self._run_folds, name="chat-log-folds")

    def _run_folds(self) -> None:
        self._fold_timer = None
        # Regions come from the last layout: wait for the one that follows a scroll or growth.
        self.call_after_refresh(self.update_folds)

    def on_streaming_markdown_grew(self, event: StreamingMarkdown.Grew) -> None:
        event.stop()
        self.request_folds()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if round(old) != round(new):
            self.request_folds()

    def on_resize(self) -> None:
        self.request_folds()

    def folded(self) -> list[Segment]:
        return [s for s in self.query(Segment) if s.folded]

    def unfold_all(self) -> None:
        for segment in self.folded():
            segment.unfold()

    # -- folding ------------------------------------------------------------------

    def update_folds(self) -> None:
        """Fold what is more than `margin_screens` away from the viewport; unfold what came near."""
        if not self.is_attached or not self.size.height:
            return
        if self.size.width != self._fold_width:
            self._fold_width = self.size.width
            for segment in self.folded():
                segment.stale = True
        view = self.content_region
        margin = int(view.height * self.margin_screens)
        low, high = view.y - margin, view.bottom + margin
        unfolded = False
        for segment in self.query(Segment):
            region = segment.region
            if not region.height:
                continue  # not displayed (a closed reasoning block)
            outside = region.bottom <= low or region.y >= high
            if outside and segment.can_fold:
                segment.fold(region.height)
                self.folds_done += 1
            elif not outside and segment.folded:
                segment.unfold()
                unfolded = True
        if unfolded:  # heights may change (stale folds): look again once they are drawn
            self.request_folds()
