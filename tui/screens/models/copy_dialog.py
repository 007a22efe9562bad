"""Asks for the new name of a model to copy or rename, and refuses names that would overwrite one.

Ollama's `/api/copy` silently replaces an existing model of the destination
name, and a rename is a copy followed by a delete, so the dialog checks the
name against the models the server has before anything is sent.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


def full_name(name: str) -> str:
    """`qwen3` -> `qwen3:latest`: how Ollama names a model given without a tag."""
    name = name.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def name_problem(name: str, source: str, existing: Collection[str]) -> str | None:
    """Why `name` cannot be the destination, or None when it can."""
    name = name.strip()
    if not name:
        return "Type a name, such as my-model:latest."
    if any(c.isspace() for c in name):
        return "A model name has no spaces."
    if full_name(name) == full_name(source):
        return "That is the model's current name."
    if full_name(name) in {full_name(e) for e in existing}:
        return (f"{full_name(name)} already exists; Ollama would overwrite it. "
                "Delete it first or pick another name.")
    return None


class CopyDialog(ModalScreen[str | None]):
    """Dismisses with the new name, or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, source: str, existing: Collection[str], *, rename: bool = False) -> None:
        super().__init__(classes="dialog")
        self.source = source
        self.existing = existing
        self.rename = rename

    def compose(self) -> ComposeResult:
        verb = "Rename" if self.rename else "Copy"
        base, _, tag = self.source.partition(":")
        suggestion = self.source if self.rename else f"{base}-copy:{tag or 'latest'}"
        with Vertical(id="dialog-box") as box:
            box.border_title = Text(f"{verb} {self.source}")
            explain = ("The model gets a new name (Ollama copies it, then deletes the old name; "
                       "the weights are shared, not duplicated).") if self.rename else (
                       "A second name for the same weights: no extra disk space until one is changed.")
            yield Static(explain, id="dialog-message", markup=False)
            yield Input(suggestion, placeholder="new name, e.g. my-qwen:8b", id="dialog-input",
                        select_on_focus=True)
            yield Static("Enter confirms, Esc cancels.", id="dialog-problem", markup=False)

    @on(Input.Changed, "#dialog-input")
    def check(self, event: Input.Changed) -> None:
        problem = name_problem(event.value, self.source, self.existing)
        hint = self.query_one("#dialog-problem", Static)
        hint.set_class(problem is not None, "-error")
        hint.update(problem or "Enter confirms, Esc cancels.")

    @on(Input.Submitted, "#dialog-input")
    def submitted(self, event: Input.Submitted) -> None:
        problem = name_problem(event.value, self.source, self.existing)
        if problem is None:
            self.dismiss(event.value.strip())
        else:
            self.query_one("#dialog-problem", Static).update(problem)

    def action_cancel(self) -> None:
        self.dismiss(None)
