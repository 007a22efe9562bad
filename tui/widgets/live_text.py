"""A Static that repaints only when its text really changed.

`Static.update` always repaints and, by default, asks for a new layout of the
screen. Fed from a 1 s sample, that is a layout pass every second for text
that mostly did not change. This one compares first, and skips the layout
pass when its height is fixed in CSS, since then nothing around it can move.
"""

from __future__ import annotations

from textual.widgets import Static


class LiveText(Static):
    def __init__(
        self,
        text: str = "",
        *,
        markup: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(text, markup=markup, name=name, id=id, classes=classes)
        self.text = text

    def show(self, text: str) -> bool:
        """Show `text`; returns whether anything was repainted."""
        if text == self.text:
            return False
        self.text = text
        height = self.styles.height
        self.update(text, layout=height is None or height.is_auto)
        return True
