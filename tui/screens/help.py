"""`?`: every binding that is active on the screen underneath, plus the global ones."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

INTRO = (
    "llamadeck - run local LLMs on this box.\n"
    "Numbers switch screens; Ctrl+P opens the command palette; Esc or ? closes this help."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("Key", no_wrap=True)
        table.add_column("Does")
        seen: set[str] = set()
        for _node, binding, _enabled, tooltip in self.under.active_bindings.values():
            if binding.key in seen:
                continue
            seen.add(binding.key)
            key = binding.key_display or self.app.get_key_display(binding)
            text = binding.description or binding.action
            if tooltip:
                text = f"{text} - {tooltip}"
            table.add_row(key, text)
        with VerticalScroll(id="help-body"):
            yield Static(INTRO, id="help-intro")
            yield Static(table, id="help-keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
