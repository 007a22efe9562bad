"""The `/` filter line above the model table: filters as you type, Esc clears, Enter goes back."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    """Posts `Closed` when the user is done with it, so the screen can hand focus back to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_and_close", "Clear filter"),
        Binding("down", "close", "Back to the list", show=False),
    ]

    class Closed(Message):
        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter: words in name, family, quant, size (Esc clears)", id=id,
                         compact=True)

    def action_clear_and_close(self) -> None:
        self.value = ""
        self.post_message(self.Closed(cleared=True))

    def action_close(self) -> None:
        self.post_message(self.Closed(cleared=False))

    async def action_submit(self) -> None:
        await super().action_submit()
        self.post_message(self.Closed(cleared=False))
