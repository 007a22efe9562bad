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
        # The footer's keys first (what this screen is for), then the generic
        # ones (scrolling, focus) that every scrollable widget brings along.
        main: list[tuple[str, str]] = []
        generic: list[tuple[str, str]] = []
        seen: set[str] = set()
        for _node, binding, _enabled, tooltip in self.under.active_bindings.values():
            if binding.key in seen:
                continue
            seen.add(binding.key)
            key = binding.key_display or self.app.get_key_display(binding)
            text = binding.description or binding.action
            if tooltip:
                text = f"{text} - {tooltip}"
            if (key, text) not in main and (key, text) not in generic:  # "plus,equals_sign" is one row
                (main if binding.show else generic).append((key, text))
        for row in main:
            table.add_row(*row)
        if generic:
            table.add_row("", "")
            table.add_row("", "[b]Scrolling and focus[/b]")
            for row in generic:
                table.add_row(*row)
        with VerticalScroll(id="help-body"):
            yield Static(INTRO, id="help-intro")
            yield Static(table, id="help-keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
