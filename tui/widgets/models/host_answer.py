"""The base of every answer the model browser's widgets get from an Ollama host.

Each carries the `generation` of the connection it was asked over: after a
switch to another host (or a retry), answers still in flight from the old
one are dropped by the screen instead of painting the wrong server's models.
`control` is the widget that asked, so handlers can be `@on(..., "#id")`.
"""

from __future__ import annotations

from textual.message import Message
from textual.widget import Widget


class HostAnswer(Message):
    def __init__(self, widget: Widget, generation: int) -> None:
        super().__init__()
        self.widget = widget
        self.generation = generation

    @property
    def control(self) -> Widget:
        return self.widget
