"""The scrolling column of a conversation, which keeps each frame cheap however long it gets.

Textual lays out every displayed widget on every layout pass and restyles
every widget in the DOM when focus moves, even those scrolled far out of
view, so a long conversation (or one very long reply) makes each new token
cost more than the last. The log *folds* the Markdown segments
(`markdown.Segment`) that lie more than a screen away from the
viewport: a folded segment keeps its exact height, so the scrollbar and the
scroll position do not move, and drops its block widgets, so they cost
nothing. It is drawn again from its source as soon as it comes near.

A segment that was never drawn (segment.Segment.lazy), or was folded
at another width, has a height that is only an estimate; when it is drawn
above the viewport, the scroll position moves by the difference, so what
is on screen stays put.
"""

from __future__ import annotations

import time

from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.timer import Timer
from textual.widget import Widget

from tui.widgets.chat.message import ReplyView
from tui.widgets.chat.segment import Segment

FOLD_DELAY = 0.1  # seconds: folding follows scrolling and growth, a few times a second at most
FOLD_BEYOND = 0.5  # screens away from the viewport: a drawn segment that far is folded
DRAW_WITHIN = 0.25  # screens away from the viewport: a folded segment that near is drawn
STALE_LOOKS = 50  # looks in a row (FOLD_DELAY apart) that may wait for a layout to catch up


class ChatLog(VerticalScroll, can_focus=True):
    """Messages top to bottom; folds what is far from view so each frame costs the same."""

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 fold_beyond: float = FOLD_BEYOND, draw_within: float = DRAW_WITHIN) -> None:
        super().__init__(id=id, classes=classes)
        self.fold_beyond = fold_beyond
        self.draw_within = draw_within
        self._fold_timer: Timer | None = None
        self._fold_width = 0
        self._last_folds = 0.0
        self.folds_done = 0  # segments folded so far (for tests and benchmarks)
        self._stale_looks = 0

    def show_thinking(self, shown: bool) -> None:
        """Ctrl+T on the chat screen: show (opened) or hide every reply's reasoning block."""
        self.set_class(not shown, "-hide-thinking")
        if shown:
            for view in self.query_children(ReplyView):
                view.thinking_box.collapsed = False
        self.request_folds()

    # -- scheduling ---------------------------------------------------------------

    def request_folds(self) -> None:
        """Look at the folds now, or as soon as FOLD_DELAY has passed since the last look."""
        if self._fold_timer is not None or not self.is_attached:
            return
        wait = self._last_folds + FOLD_DELAY - time.monotonic()
        if wait <= 0:
            self.update_folds()
        else:
            self._fold_timer = self.set_timer(wait, self._run_folds, name="chat-log-folds")

    def _run_folds(self) -> None:
        self._fold_timer = None
        self.update_folds()

    def on_collapsible_expanded(self) -> None:
        self.call_after_refresh(self.request_folds)  # a reasoning block opened: its segments need drawing

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if round(old) != round(new):
            # Regions come from the last layout: look once the scrolled one is drawn.
            self.call_after_refresh(self.request_folds)

    def on_resize(self) -> None:
        self.request_folds()

    def folded(self) -> list[Segment]:
        return [s for s in self.query(Segment) if s.folded and not s.gone]

    def unfold_all(self) -> None:
        for segment in self.folded():
            segment.unfold()

    # -- folding ------------------------------------------------------------------

    def update_folds(self) -> None:
        """Fold what is more than `fold_beyond` screens from the viewport; draw what came within
        `draw_within`. The gap between the two keeps a segment from flapping; drawing only what is
        (nearly) in view keeps a burst of text that scrolls straight past from being drawn at all."""
        if not self.is_attached or not self.size.height or not self.screen.is_current:
            return  # a screen out of sight has no regions; ChatScreen looks again when it is back
        self._last_folds = time.monotonic()
        # Regions come from the last layout, which may predate the last scroll or fold (layout waits
        # while a Markdown widget updates in a batch): then look again once it has run.
        trust = self._stale_looks >= STALE_LOOKS  # waited long enough: judge by what there is
        stale = not self._regions_current()
        if self.size.width != self._fold_width:
            self._fold_width = self.size.width
            for segment in self.folded():
                segment.stale = True
        view = self.content_region
        far, near = int(view.height * self.fold_beyond), int(view.height * self.draw_within)
        unfolded = split = waiting = folded_now = False
        for segment in self.query(Segment):
            if segment.gone:
                continue
            region = segment.region
            if not region.height:
                # Not displayed (a closed reasoning block), or not laid out yet: look again then.
                waiting |= segment.folded and self._shown(segment)
                continue
            if segment.folded and region.height != segment.folded_height and not trust:
                stale = True  # folded since the last layout: its region is from before
                continue
            if segment.can_fold and (region.bottom <= view.y - far or region.y >= view.bottom + far):
                segment.fold(region.height)
                self.folds_done += 1
                folded_now = True
            elif segment.folded and view.y - near < region.bottom and region.y < view.bottom + near:
                # A run is cut first; the pieces that are near are drawn on the next look.
                rows = (view.y - near - region.y, view.bottom + near - region.y)  # of the run, from its top
                if segment.is_run and segment.split_run(rows):
                    split = True
                    continue
                above = segment.stale and region.bottom <= view.y
                segment.unfold(self._keep_view if above else None)
                unfolded = True
        if folded_now:
            self._merge_folded()
        if unfolded or split or waiting:  # new regions (drawn, split or new segments): look again
            self.call_after_refresh(self.request_folds)
        if stale and not trust:
            self._stale_looks += 1
            self.request_folds()
        else:
            self._stale_looks = 0

    def _merge_folded(self) -> None:
        """Folded segments side by side become one run: a long reply keeps a handful of widgets."""
        previous: Segment | None = None
        for segment in list(self.query(Segment)):
            if segment.gone:
                continue
            joinable = segment.folded and previous is not None and previous.parent is segment.parent
            if joinable and previous is not None and previous.folded:
                previous.absorb(segment)
                continue
            previous = segment

    def _regions_current(self) -> bool:
        """Do the regions come from a layout at the current scroll position? The first message's
        region says: it sits at the top of the scrolled content."""
        first = next((child for child in self.children if child.display), None)
        if first is None:
            return True
        return first.region.y == self.content_region.y + first.styles.margin.top - self.scroll_offset.y

    def _shown(self, widget: Widget) -> bool:
        """Displayed, and so is everything between it and the log."""
        node: DOMNode | None = widget
        while node is not None and node is not self:
            if not node.display:
                return False
            node = node.parent
        return True

    def _keep_view(self, segment: Segment, old_height: int) -> None:
        """A segment above the viewport was drawn at its real height: keep the view where it was."""
        change = segment.region.height - old_height
        at_bottom = self.scroll_y >= self.max_scroll_y
        if change and not at_bottom:
            self.scroll_to(y=self.scroll_y + change, animate=False, immediate=True)
