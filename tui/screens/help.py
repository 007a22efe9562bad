"""`?`: the keys of the screen underneath, named as its key line names them, then the ones of every screen.

Rows come from llamadeck's own bindings only (tui/palette/places.py): the
screen's, then those of the widget that has the focus; Textual's built-ins
(`super+c Copy selected text`, a text box's cursor keys) are not listed.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.palette.places import SCREEN_NAMES, chain, key_name, own_bindings, place_of, title_of

INTRO = (
    "llamadeck - run local LLMs on this box.\n"
    "Ctrl+P finds any action of any screen, or a model by name. Esc or ? closes this help."
)
# What every screen answers to, besides the app's keys listed one by one.
EVERYWHERE = (
    ("^p", "Command palette - every key of every screen, and go to a model by name"),
    ("tab", "Next pane (shift+tab: the one before)"),
    ("esc", "Out of a text box, where 1-6, ? and q work again"),
    ("^q", "Quit, even from a text box"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def rows(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(section title, [(key, what it does)]): this screen's keys, then every screen's."""
        app = self.app
        under = self.under
        place = place_of(under)
        name = place.name if place is not None else (under.title or "This screen")
        here: list[tuple[str, str]] = []
        bindings = [b for node in (under, *chain(under.focused, under)) for b in own_bindings(type(node))]
        for binding in sorted(bindings, key=lambda b: not b.show):  # the key line's first, as it orders them
            row = (key_name(app, binding, every=True), _does(binding))
            if row not in here:
                here.append(row)
        everywhere: list[tuple[str, str]] = []
        for binding in own_bindings(type(app)):
            if binding.action.startswith("switch_mode("):
                mode = binding.action.split("'")[1]
                everywhere.append((key_name(app, binding), f"{SCREEN_NAMES.get(mode, mode)} screen - "
                                   f"{binding.tooltip}"))
            else:
                everywhere.append((key_name(app, binding, every=True), _does(binding)))
        everywhere.extend(EVERYWHERE)
        return [(f"{name} keys", here), ("On every screen", everywhere)]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, expand=True)
        table.add_column("Key", no_wrap=True)
        table.add_column("Does")
        for number, (title, rows) in enumerate(self.rows()):
            if number:
                table.add_row("", "")
            table.add_row(Text(title, style="bold"), "")
            for key, does in rows:
                table.add_row(Text(key, style="bold"), Text(does))
        with VerticalScroll(id="help-body"):
            yield Static(INTRO, id="help-intro")
            yield Static(table, id="help-keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()


def _does(binding: Binding) -> str:
    return f"{title_of(binding)} - {binding.tooltip}" if binding.tooltip else title_of(binding)
