"""The floor for start-up: a bare Textual app that paints one line."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Hello(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("hello-floor-ready")


if __name__ == "__main__":
    Hello().run()
