"""A screen that says plainly what is not built yet, so no key is ever dead."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class PlaceholderScreen(Screen[None]):
    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title = title
        self.message = message

    def compose(self) -> ComposeResult:
        yield Header()
        with Middle(), Center():
            yield Static(f"[b]{self.title}[/b]\n\n{self.message}", id="placeholder", classes="placeholder")
        yield Footer(compact=True)
