"""The sentences that explain what the dashboard cannot show: CPU-only mode, a lost GPU, a driver mismatch.

Hidden while there is nothing to say, so it costs no line at 80x24 on a
healthy box; a notice is never shown only as a colour.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.widgets.live_text import LiveText

MARK = "! "


class NoticeBar(LiveText):
    DEFAULT_CSS = """
    NoticeBar {
        height: auto;
        padding: 0 1;
        color: $text-warning;
        background: $warning-muted;
    }
    NoticeBar.-empty { display: none; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        # Born empty; a class given here costs nothing, add_class would restyle.
        super().__init__(id=id, classes=f"-empty {classes or ''}".strip())
        self.notices: tuple[str, ...] = ()

    def show_notices(self, notices: Iterable[str]) -> None:
        unique = tuple(dict.fromkeys(n for n in notices if n))
        self.notices = unique
        self.set_class(not unique, "-empty")
        self.show("\n".join(MARK + n for n in unique))
