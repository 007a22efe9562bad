"""A fuzzy pick list for the planner: catalog models (plus the Ollama server's), or machines.

Type to filter (letters in order, as in the command palette), arrows to move,
Enter to take, Esc to leave. Items that need a server round trip (the Ollama
models) arrive after the dialog opens, from an async worker, so the catalog
is usable at once even when the server is slow or down.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.fuzzy import FuzzySearch
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from core.errors import LlamadeckError


@dataclass(frozen=True)
class PickItem:
    value: str  # what the planner's field gets
    label: str
    detail: str = ""  # shown dimmed after the label, and searched too


MoreItems = Callable[[], Awaitable[list[PickItem]]]


_SEARCH = FuzzySearch()


def ranked(items: list[PickItem], query: str) -> list[tuple[PickItem, Text]]:
    """Items matching `query` best first, each label underlined where the letters matched."""
    query = query.strip()
    if not query:
        return [(item, Text(item.label)) for item in items]
    scored = []
    for order, item in enumerate(items):
        score, offsets = _SEARCH.match(query, item.label)
        other = max(_SEARCH.match(query, item.value)[0], _SEARCH.match(query, item.detail)[0] * 0.5)
        if max(score, other) <= 0:
            continue
        label = Text(item.label)
        for offset in offsets if score >= other else ():
            label.stylize("bold underline", offset, offset + 1)
        scored.append((-max(score, other), order, item, label))
    scored.sort(key=lambda s: (s[0], s[1]))
    return [(item, label) for _, _, item, label in scored]


class PickerScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
    ]

    def __init__(self, title: str, items: list[PickItem], *, more: MoreItems | None = None,
                 more_label: str = "") -> None:
        super().__init__()
        self.picker_title = title
        self.items = list(items)
        self.more = more
        self.more_label = more_label
        self.shown: list[PickItem] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Input(placeholder="type to filter", id="picker-filter", compact=True)
            yield OptionList(id="picker-list")
            yield Static("", id="picker-status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#picker-box").border_title = self.picker_title
        self._fill("")
        if self.more is not None:
            self.query_one("#picker-status", Static).update(self.more_label)
            self.load_more()

    @work(exclusive=True, group="more")
    async def load_more(self) -> None:
        assert self.more is not None
        status = self.query_one("#picker-status", Static)
        try:
            extra = await self.more()
        except LlamadeckError as exc:
            status.update(str(exc))
            status.add_class("-error")
            return
        status.update("")
        self.items += extra
        self._fill(self.query_one("#picker-filter", Input).value)

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def _fill(self, query: str) -> None:
        options = self.query_one("#picker-list", OptionList)
        pairs = ranked(self.items, query)
        self.shown = [item for item, _ in pairs]
        options.clear_options()
        for item, label in pairs:
            if item.detail:
                label = label + Text(f"  {item.detail}", style="dim")
            options.add_option(Option(label))
        if pairs:
            options.highlighted = 0

    def action_move(self, step: int) -> None:
        options = self.query_one("#picker-list", OptionList)
        if not self.shown:
            return
        current = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    @on(Input.Submitted, "#picker-filter")
    def _take_highlighted(self) -> None:
        highlighted = self.query_one("#picker-list", OptionList).highlighted
        if highlighted is not None and 0 <= highlighted < len(self.shown):
            self.dismiss(self.shown[highlighted].value)

    @on(OptionList.OptionSelected, "#picker-list")
    def _take_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index].value)

    def action_cancel(self) -> None:
        self.dismiss(None)
