"""One row per quantization: where it runs (coloured by verdict), speed, memory per device, size, more.

Columns come from core.planner.report in two views that each fit 80 columns:
what a user decides on (quant, where it runs, tok/s, memory per device, file),
and, on a key, the rest beside the quant and the verdict. A new plan for the
same model and machine rewrites only the cells
that changed, so the cursor, the scroll position and the highlight stay put
while the user steps through contexts and KV types.

The table also computes the plans it shows, in a thread, and answers each
request with `Computed` or `Failed`; the screen decides what to keep.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import DataTable

from core.errors import LlamadeckError
from core.planner.report import cells, column_views, columns
from core.planner.types import Plan, QuantRow
from core.units import format_bytes
from tui.widgets.planner.request import PlanRequest, compute

# The verdict is also in the words ("GPU", "-ngl 43/81", "CPU", "won't fit"); colour only repeats it.
VERDICT_STYLES = {"gpu": "bold green", "partial": "bold yellow", "cpu": "bold dark_orange",
                  "none": "bold red"}
LEFT_COLUMNS = 2  # Quant and Runs on; numbers are right-aligned


def styled_cells(row: QuantRow, best: bool = False, view: list[int] | None = None) -> list[Text]:
    """The row's cells in the columns of `view` (indices into `columns`; all by default)."""
    texts = []
    every = cells(row, format_bytes, best=best)
    for i in view if view is not None else range(len(every)):
        cell = every[i]
        if i == 1:
            style = VERDICT_STYLES[row.placement]
        else:
            style = "dim" if row.placement == "none" and i > 1 else ""
        texts.append(Text(cell, style=style, justify="left" if i < LEFT_COLUMNS else "right"))
    return texts


class PlanTable(DataTable[Text]):
    class Computed(Message):
        """A fresh plan. A newer answer replaces an older one still queued."""

        def __init__(self, table: PlanTable, request: PlanRequest, plan: Plan) -> None:
            super().__init__()
            self.table = table
            self.request = request
            self.plan = plan

        @property
        def control(self) -> PlanTable:
            return self.table

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PlanTable.Computed | PlanTable.Failed)

    class Failed(Message):
        def __init__(self, table: PlanTable, request: PlanRequest, sentence: str) -> None:
            super().__init__()
            self.table = table
            self.request = request
            self.sentence = sentence

        @property
        def control(self) -> PlanTable:
            return self.table

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PlanTable.Computed | PlanTable.Failed)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.plan: Plan | None = None
        self._columns: list[str] = []
        self._shown: dict[str, list[Text]] = {}
        self.more = False  # the view with the columns behind a key (quality, max ctx, KV, prompt, bpw)

    @property
    def selected(self) -> QuantRow | None:
        """The row under the cursor."""
        if self.plan is None or not self.plan.rows or not 0 <= self.cursor_row < len(self.plan.rows):
            return None
        return self.plan.rows[self.cursor_row]

    def show_plan(self, plan: Plan, prefer: str | None = None, best: str | None = None) -> None:
        """Show `plan`, keeping the cursor on the same quant (or `prefer` the first time); mark `best`."""
        keep = self.selected.quant if self.selected is not None else prefer
        view = column_views(plan)[self.more]
        titles = [columns(plan)[i] for i in view]
        rows = {r.quant: styled_cells(r, r.quant == best, view) for r in plan.rows}
        same_shape = titles == self._columns and list(rows) == list(self._shown)
        self.plan = plan
        if same_shape:
            for quant, new in rows.items():
                for col, (old, text) in enumerate(zip(self._shown[quant], new, strict=True)):
                    if (old.plain, old.style) != (text.plain, text.style):
                        self.update_cell(quant, titles[col], text)
        else:
            scroll_x = self.scroll_x
            self.clear(columns=True)
            for i, title in enumerate(titles):
                self.add_column(Text(title, justify="left" if i < LEFT_COLUMNS else "right"), key=title)
            for quant, texts in rows.items():
                self.add_row(*texts, key=quant)
            self._columns = titles
            self.scroll_x = scroll_x
        self._shown = rows
        quants = list(rows)
        if keep in quants:
            target = quants.index(keep)
            if target != self.cursor_row:
                self.move_cursor(row=target, animate=False)
        elif quants:
            self.move_cursor(row=0, animate=False)

    def toggle_more(self, best: str | None = None) -> None:
        """Switch between the columns a user decides on and the rest."""
        self.more = not self.more
        if self.plan is not None:
            self.show_plan(self.plan, best=best)

    def clear_plan(self) -> None:
        self.plan = None
        self._columns = []
        self._shown = {}
        self.clear(columns=True)

    @work(thread=True, exclusive=True, group="plan")
    def compute_plan(self, request: PlanRequest) -> None:
        try:
            result = compute(request)
        except LlamadeckError as exc:
            self.post_message(self.Failed(self, request, str(exc)))
        except Exception as exc:  # a planner bug: say so in place, keep the screen alive
            self.post_message(self.Failed(self, request, f"The planner failed on this input "
                                                         f"({type(exc).__name__}: {exc})."))
        else:
            self.post_message(self.Computed(self, request, result))
