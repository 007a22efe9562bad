"""The local models as a sortable, filterable table, with a dot on the ones loaded in memory.

The table keeps every model it was given and shows a sorted, filtered view of
them; sorting and filtering rebuild the rows from that list (a few
milliseconds for 500 models) and keep the cursor on the model it was on, so
typing a filter never loses the user's place. Which models are loaded changes
every poll, so that only rewrites the marker cells that changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.events import Resize
from textual.widgets import DataTable

from core.models import LocalModel
from core.quants import QUANT_FORMATS
from tui.widgets.units import format_age, format_model_size

LOADED_MARK = "●"
ASCENDING_MARK = "▲"
DESCENDING_MARK = "▼"
MIN_NAME_WIDTH = 14
_QUALITY_RANK = {name: rank for rank, name in enumerate(QUANT_FORMATS)}  # best quality first


def _quant_rank(model: LocalModel) -> tuple[int, str]:
    """Quantizations sort by quality (F16 before Q8_0 before Q4_K_M), not by spelling."""
    level = (model.details.quantization_level or "").upper()
    return _QUALITY_RANK.get(level, len(_QUALITY_RANK)), level


def _modified(model: LocalModel) -> float:
    return model.modified_at.timestamp() if model.modified_at is not None else 0.0


@dataclass(frozen=True)
class SortColumn:
    key: str
    label: str
    width: int
    sort_key: Callable[[LocalModel], Any]
    descending_first: bool  # sizes and dates: biggest / newest first, like `ollama list`


COLUMNS: tuple[SortColumn, ...] = (
    SortColumn("name", "Name", 0, lambda m: m.name.lower(), False),
    SortColumn("size", "Size", 6, lambda m: m.size, True),
    SortColumn("params", "Params", 6, lambda m: m.details.parameter_count or 0, True),
    SortColumn("quant", "Quant", 7, _quant_rank, False),
    SortColumn("family", "Family", 10, lambda m: (m.details.family or "").lower(), False),
    SortColumn("modified", "Modified", 8, _modified, True),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
_BY_KEY = {c.key: c for c in COLUMNS}


@dataclass(frozen=True)
class SortOrder:
    column: str = "modified"
    descending: bool = True

    @property
    def label(self) -> str:
        mark = DESCENDING_MARK if self.descending else ASCENDING_MARK
        return f"{_BY_KEY[self.column].label.lower()} {mark}"


def sort_models(models: Iterable[LocalModel], order: SortOrder) -> list[LocalModel]:
    """Sorted by one column; ties keep name order so the view never shuffles between refreshes."""
    by_name = sorted(models, key=lambda m: m.name.lower())
    return sorted(by_name, key=_BY_KEY[order.column].sort_key, reverse=order.descending)


def matches(model: LocalModel, text: str) -> bool:
    """Every word of the filter appears in the name, family, quantization or parameter size.

    So `qwen q8` finds the Qwen models stored as Q8_0, and `14b` finds the 14B ones.
    """
    d = model.details
    fields = (model.name, d.family or "", d.quantization_level or "", d.parameter_size or "")
    haystack = " ".join(fields).lower()
    return all(word in haystack for word in text.lower().split())


def filter_models(models: Iterable[LocalModel], text: str) -> list[LocalModel]:
    return [m for m in models if matches(m, text)] if text.strip() else list(models)


def ellipsize(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class ModelTable(DataTable[str | Text]):
    """Rows are keyed by model name; `highlighted` is the model under the cursor."""

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self.clock = clock
        self.models: list[LocalModel] = []
        self.shown: list[LocalModel] = []
        self.order = SortOrder()
        self.filter_text = ""
        self.loaded: frozenset[str] = frozenset()
        self._name_width = 0

    # ------------------------------------------------------------------ state in

    def show_models(self, models: Sequence[LocalModel]) -> None:
        self.models = list(models)
        self._rebuild()

    def set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self._rebuild()

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        """Sort by `column`; without `descending`, a new column starts in its natural direction."""
        if descending is None:
            descending = _BY_KEY[column].descending_first
        self.order = SortOrder(column, descending)
        self._rebuild()

    def cycle_sort(self) -> None:
        """The next column, in its natural direction (`s`)."""
        index = COLUMN_KEYS.index(self.order.column)
        self.sort_by(COLUMN_KEYS[(index + 1) % len(COLUMN_KEYS)])

    def reverse_sort(self) -> None:
        self.sort_by(self.order.column, not self.order.descending)

    def mark_loaded(self, names: Iterable[str]) -> None:
        loaded = frozenset(names)
        if loaded == self.loaded:
            return
        changed = loaded ^ self.loaded
        self.loaded = loaded
        for name in changed:
            if name in self.rows:
                self.update_cell(name, "loaded", self._mark(name))

    # ------------------------------------------------------------------ state out

    @property
    def highlighted(self) -> LocalModel | None:
        if not self.shown or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    def select(self, name: str) -> bool:
        """Put the cursor on `name` if it is shown; False when it is not."""
        for index, model in enumerate(self.shown):
            if model.name == name:
                self.move_cursor(row=index, animate=False, scroll=True)
                return True
        return False

    def find(self, name: str) -> LocalModel | None:
        for model in self.models:
            if model.name == name:
                return model
        return None

    # ------------------------------------------------------------------ rows

    def on_resize(self, event: Resize) -> None:
        if self._fit_name_width() != self._name_width:
            self._rebuild()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by it; a second click reverses."""
        event.stop()
        column = event.column_key.value
        if column not in _BY_KEY:
            return
        if column == self.order.column:
            self.reverse_sort()
        else:
            self.sort_by(column)

    def _fit_name_width(self) -> int:
        longest = max((len(m.name) for m in self.models), default=MIN_NAME_WIDTH)
        fixed = sum(c.width + 2 * self.cell_padding for c in COLUMNS[1:]) + 1 + 2 * self.cell_padding
        room = self.scrollable_content_region.width - fixed - 2 * self.cell_padding - 1
        return max(MIN_NAME_WIDTH, min(longest, room)) if room > 0 else max(MIN_NAME_WIDTH, longest)

    def _mark(self, name: str) -> Text:
        return Text(LOADED_MARK, style="bold green") if name in self.loaded else Text(" ")

    def _rebuild(self) -> None:
        current = self.highlighted
        keep = current.name if current is not None else None
        self.shown = sort_models(filter_models(self.models, self.filter_text), self.order)
        self._name_width = self._fit_name_width()
        self.clear(columns=True)
        self.add_column(" ", width=1, key="loaded")
        for column in COLUMNS:
            label = column.label
            if column.key == self.order.column:
                label += DESCENDING_MARK if self.order.descending else ASCENDING_MARK
            width = self._name_width if column.key == "name" else max(column.width, len(label))
            self.add_column(label, width=width, key=column.key)
        now = self.clock()
        for model in self.shown:
            d = model.details
            modified = now - model.modified_at.timestamp() if model.modified_at is not None else None
            self.add_row(
                self._mark(model.name), ellipsize(model.name, self._name_width),
                format_model_size(model.size), d.parameter_size or "-", d.quantization_level or "-",
                ellipsize(d.family or "-", 10), format_age(modified), key=model.name,
            )
        if keep is not None:
            self.select(keep)
