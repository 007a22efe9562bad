"""Toggles whose state reads from the text alone, without colour (NO_COLOR, a monochrome terminal).

Textual's Checkbox and SelectionList draw the same "X" whether on or off and
tell them apart only by colour; under NO_COLOR (Textual then draws in shades
of grey) both look alike. These draw "X" when on and a blank when off.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import SelectionType

OFF = " "


class MarkedCheckbox(Checkbox):
    """A checkbox that shows "X" when checked and a blank box when not."""

    @property
    def _button(self) -> Content:
        # The class constant is read by the base class while it draws the box.
        self.BUTTON_INNER = "X" if self.value else OFF
        return super()._button


class MarkedSelectionList(SelectionList[SelectionType]):
    """A selection list whose boxes show "X" only for the selected options."""

    BUTTON_MARK = "X"  # what the base class draws in every box

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if option.value in self.selected or len(segments) < 2 or segments[1].text != self.BUTTON_MARK:
            return strip
        segments[1] = Segment(OFF, segments[1].style, segments[1].control)
        return Strip(segments, strip.cell_length)
