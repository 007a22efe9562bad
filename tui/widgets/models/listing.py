"""The models box: the `/` filter line over the model table, its title, and the listing of the models.

It owns `/api/tags`: `list_models(client, generation)` answers with `Listed`
or `ListFailed`, and the screen decides whether the answer is still about the
host it shows. Filtering and sorting happen here too; the title says how
many models there are, how many match, how many are loaded and the order.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical

from core.errors import OllamaError
from core.ollama.client import OllamaClient
from core.ollama.types import LocalModel
from core.units import format_model_size, plural
from tui.widgets.models.filter_input import FilterInput
from tui.widgets.models.host_answer import HostAnswer
from tui.widgets.models.table import ModelTable


class ModelList(Vertical):
    """The filter and the table; `loaded` (set by the screen) is the number of models in memory."""

    class Listed(HostAnswer):
        def __init__(self, box: ModelList, generation: int, models: list[LocalModel]) -> None:
            super().__init__(box, generation)
            self.models = models

    class ListFailed(HostAnswer):
        def __init__(self, box: ModelList, generation: int, error: OllamaError) -> None:
            super().__init__(box, generation)
            self.error = error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.loaded = 0

    def compose(self) -> ComposeResult:
        yield FilterInput(id="models-filter")
        yield ModelTable(id="models-table")

    def on_mount(self) -> None:
        self.border_title = "Models"

    @property
    def table(self) -> ModelTable:
        return self.query_one("#models-table", ModelTable)

    @work(exclusive=True, group="list")
    async def list_models(self, client: OllamaClient, generation: int) -> None:
        try:
            models = await client.list_models()
        except OllamaError as exc:
            self.post_message(self.ListFailed(self, generation, exc))
        else:
            self.post_message(self.Listed(self, generation, models))

    def cancel(self) -> None:
        self.workers.cancel_group(self, "list")

    def show_models(self, models: Sequence[LocalModel], select: str | None) -> bool:
        """Show a listing; True when `select` was found and highlighted."""
        table = self.table
        table.show_models(models)  # cheap even for 500 models; keeps the ages current
        table.mark(table.marked & {m.name for m in models})  # a mark on a model gone from the server goes
        found = select is not None and table.select(select)
        self.show_title()
        return found

    @property
    def marked(self) -> list[LocalModel]:
        """The models marked with space for a bulk delete or copy, hidden by the filter or not."""
        return [m for m in self.table.models if m.name in self.table.marked]

    def toggle_mark(self) -> None:
        """Space: mark or unmark the highlighted model and move on, as in gollama."""
        table = self.table
        model = table.highlighted
        if model is not None:
            table.mark(table.marked ^ {model.name})
            table.move_cursor(table.cursor_row + 1)
            self.show_title()

    def clear_marks(self) -> bool:
        """Esc: forget the marks; False when there were none."""
        had = bool(self.table.marked)
        self.table.mark(())
        self.show_title()
        return had

    def open_filter(self) -> None:
        # The class goes on the input, not the screen: restyling the whole screen per key is slow.
        self.query_one(FilterInput).add_class("-filtering").focus()

    def cycle_sort(self) -> None:
        self.table.cycle_sort()
        self.show_title()

    def reverse_sort(self) -> None:
        self.table.reverse_sort()
        self.show_title()

    @on(FilterInput.Changed, "#models-filter")
    def filter_changed(self, event: FilterInput.Changed) -> None:
        self.table.set_filter(event.value)
        event.input.set_class(bool(event.value), "-filtered")
        self.show_title()

    @on(FilterInput.Closed)
    def filter_closed(self, event: FilterInput.Closed) -> None:
        self.query_one(FilterInput).remove_class("-filtering")
        self.table.focus()

    def show_title(self) -> None:
        table = self.table
        total = len(table.models)
        size = format_model_size(sum(m.size for m in table.models))
        parts = [f"{plural(total, 'model')}, {size}"]
        if table.marked:
            parts.append(f"{len(table.marked)} marked")
        if table.filter_text:
            parts.append(f"{len(table.shown)} match '{table.filter_text}'")
        if self.loaded:
            parts.append(f"{self.loaded} loaded")
        parts.append(f"sort {table.order.label}")
        self.border_subtitle = Text(" · ".join(parts))
