"""Asks which model to pull; offers the interrupted one again, since pulling it again resumes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

HINT = "A name from ollama.com/library (qwen3:8b, deepseek-r1:14b) or hf.co/<user>/<repo>:<quant>."


def pull_name_problem(name: str) -> str | None:
    name = name.strip()
    if not name:
        return "Type the name of a model, such as qwen3:8b."
    if any(c.isspace() for c in name):
        return "A model name has no spaces."
    return None


class PullDialog(ModalScreen[str | None]):
    """Dismisses with the name to pull, or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, host_label: str, *, resume: str | None = None) -> None:
        super().__init__(classes="dialog")
        self.host_label = host_label
        self.resume = resume

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box") as box:
            box.border_title = Text(f"Pull a model into {self.host_label}")
            if self.resume:
                message = (f"Enter resumes the pull of {self.resume} where it stopped; "
                           f"or type another name.\n{HINT}")
            else:
                message = HINT
            yield Static(message, id="dialog-message", markup=False)
            yield Input(self.resume or "", placeholder="qwen3:8b", id="dialog-input", select_on_focus=True)
            yield Static("Enter pulls, Esc cancels.", id="dialog-problem", markup=False)

    @on(Input.Submitted, "#dialog-input")
    def submitted(self, event: Input.Submitted) -> None:
        problem = pull_name_problem(event.value)
        if problem is None:
            self.dismiss(event.value.strip())
        else:
            hint = self.query_one("#dialog-problem", Static)
            hint.add_class("-error")
            hint.update(problem)

    def action_cancel(self) -> None:
        self.dismiss(None)
