"""The scrolling column of a conversation, which keeps layout cheap however long it gets.

Textual lays out every displayed widget on every layout pass, even those
scrolled far out of view, so a long conversation (or one very long reply)
makes each new token cost more than the last. The log *folds* what lies more
than a screen away from the viewport: a folded widget keeps its exact height
(so the scrollbar and the scroll position do not move) and hides its children
(so layout skips them). Folding works on the log's children and, inside a
reply, on the Markdown segments (`chat_markdown.Segment`) of a long answer or
reasoning block; it is undone as soon as the widget comes near the viewport
again, and all at once when the width changes (heights depend on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widget import Widget

from tui.widgets.chat_markdown import StreamingMarkdown

FOLDED = "-folded"
FOLD_DELAY = 0.1  # seconds: folding follows scrolling and growth, a few times a second at most


@runtime_checkable
class HasFoldParts(Protocol):
    """A log child that may not fold as a whole (it is streaming) but holds parts that can."""

    def fold_parts(self) -> Iterable[Widget]: ...

    @property
    def live(self) -> bool: ...


def is_folded(widget: Widget) -> bool:
    return widget.has_class(FOLDED)


def fold(widget: Widget, height: int) -> None:
    widget.styles.height = height
    widget.add_class(FOLDED)


def unfold(widget: Widget) -> None:
    widget.remove_class(FOLDED)
    widget.styles.height = None


class ChatLog(VerticalScroll, can_focus=True):
    """Messages top to bottom; folds what is far from view so each frame costs the same."""

    DEFAULT_CSS = """
    ChatLog .-folded > * { display: none; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 margin_screens: float = 1.0) -> None:
        super().__init__(id=id, classes=classes)
        self.margin_screens = margin_screens
        self._fold_timer: Timer | None = None
        self._fold_width = 0
        self.folds_done = 0  # how many widgets were folded so far (for tests and benchmarks)

    # -- scheduling ---------------------------------------------------------------

    def request_folds(self) -> None:
        if self._fold_timer is None and self.is_attached:
            self._fold_timer = self.set_timer(FOLD_DELAY, self._run_folds, name="chat-log-folds")

    def _run_folds(self) -> None:
        self._fold_timer = None
        self.update_folds()

    def on_streaming_markdown_grew(self, event: StreamingMarkdown.Grew) -> None:
        event.stop()
        self.request_folds()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if round(old) != round(new):
            self.request_folds()

    def on_resize(self) -> None:
        self.request_folds()

    def unfold_all(self) -> None:
        for widget in self.query(f".{FOLDED}"):
            unfold(widget)

    # -- folding ------------------------------------------------------------------

    def update_folds(self) -> None:
        """Fold what is more than `margin_screens` away from the viewport; unfold what came near."""
        if not self.is_attached or not self.size.height:
            return
        width = self.size.width
        if width != self._fold_width:
            self._fold_width = width
            if self.query(f".{FOLDED}"):
                self.unfold_all()  # heights were measured at the old width
                self.call_after_refresh(self.request_folds)
                return
        view = self.content_region
        margin = int(view.height * self.margin_screens)
        low, high = view.y - margin, view.bottom + margin
        unfolded_any = False
        for child in self.children:
            if not child.display:
                continue
            region = child.region
            if not region.height:
                continue
            outside = region.bottom <= low or region.y >= high
            live = isinstance(child, HasFoldParts) and child.live
            if outside and not live and child.children:
                if not is_folded(child):
                    fold(child, region.height)
                    self.folds_done += 1
                continue
            if is_folded(child):
                unfold(child)
                unfolded_any = True  # its parts get their regions after the next layout
                continue
            if isinstance(child, HasFoldParts):
                unfolded_any |= self._fold_parts(child.fold_parts(), low, high)
        if unfolded_any:
            self.call_after_refresh(self.request_folds)

    def _fold_parts(self, parts: Iterable[Widget], low: int, high: int) -> bool:
        unfolded = False
        for part in parts:
            region = part.region
            if not region.height or not part.children:
                continue
            outside = region.bottom <= low or region.y >= high
            if outside and not is_folded(part) and not getattr(part, "busy", False):
                fold(part, region.height)
                self.folds_done += 1
            elif not outside and is_folded(part):
                unfold(part)
                unfolded = True
        return unfolded
