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


def _word_score(word: str, text: str) -> tuple[float, list[int]]:
    """A word found as it is typed beats one whose letters are merely in order; a word start beats both."""
    low = text.lower()
    at = low.find(word)
    if at >= 0:
        start = at == 0 or not low[at - 1].isalnum()
        return (3.0 if start else 2.0), list(range(at, at + len(word)))
    score, offsets = _SEARCH.match(word, text)  # Textual's scale is open-ended: only "found" counts
    return (1.0 if score > 0 else 0.0), list(offsets)


def _score(words: list[str], item: PickItem) -> tuple[float, list[int]]:
    total, marks = 0.0, []
    for word in words:
        on_label, offsets = _word_score(word, item.label)
        elsewhere = max(_word_score(word, item.value)[0], _word_score(word, item.detail)[0] * 0.5)
        if max(on_label, elsewhere) <= 0:
            return 0.0, []
        total += max(on_label, elsewhere)
        if on_label >= elsewhere:
            marks += offsets
    return total, marks


def ranked(items: list[PickItem], query: str) -> list[tuple[PickItem, Text]]:
    """Items with every typed word in them, best first (shorter names win ties), matches underlined."""
    words = query.lower().split()
    if not words:
        return [(item, Text(item.label)) for item in items]
    scored = []
    for order, item in enumerate(items):
        score, marks = _score(words, item)
        if score <= 0:
            continue
        label = Text(item.label)
        for offset in marks:
            label.stylize("bold underline", offset, offset + 1)
        scored.append((-score, len(item.label), order, item, label))
    scored.sort(key=lambda s: s[:3])
    return [(item, label) for *_, item, label in scored]


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
