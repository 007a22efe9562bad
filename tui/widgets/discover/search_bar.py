"""Discover's top line: the search box, and what the verdicts are asked with (order, context, KV type).

Enter searches (`Submitted`); Esc leaves the box for the results. The
order, context and KV type change by the screen's keys (s, c, k), so the
line only says them.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from tui.widgets.discover.choices import DiscoverChoices
from tui.widgets.live_text import LiveText
from tui.widgets.planner.inputs import FieldInput

PLACEHOLDER = "words of a repo's name (qwen3 8b, gemma-3), Enter"


class SearchBar(Horizontal):
    DEFAULT_CSS = """
    SearchBar { height: 1; background: $boost; }
    SearchBar Label { padding: 0 1; color: $text-muted; }
    SearchBar #discover-query { width: 1fr; }
    SearchBar #discover-choices { width: auto; padding: 0 1; color: $text-muted; }
    """

    class Submitted(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    def compose(self) -> ComposeResult:
        yield Label("Search")
        yield FieldInput(placeholder=PLACEHOLDER, id="discover-query", compact=True)
        yield LiveText(DiscoverChoices().line(), id="discover-choices")

    @property
    def box(self) -> Input:
        return self.query_one("#discover-query", Input)

    def show_choices(self, choices: DiscoverChoices) -> None:
        self.query_one("#discover-choices", LiveText).show(choices.line())

    @on(Input.Submitted, "#discover-query")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value.strip()))
