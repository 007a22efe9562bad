"""The local models as a sortable, filterable table, with a dot on the ones loaded in memory.

A line-API widget rather than a DataTable: DataTable measures every cell of
every row it is given (about 0.3 s for 500 models on a slow machine), and
sorting or filtering gives it all rows again. Here the table keeps the models
as data, sorting and filtering are list operations, column widths come from
string lengths, and only the rows on screen are ever rendered, so a key
press costs the same with 5 models or 5000.

The cursor stays on the model it was on when the view is sorted or filtered,
so typing a filter never loses the user's place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.facts.quants import QUANT_FORMATS
from core.ollama.types import LocalModel
from core.units import format_age, format_model_size

LOADED_MARK = "●"
MARKED = "✓"  # picked for a bulk delete or copy: a character, readable without colour
ASCENDING_MARK = "▲"
DESCENDING_MARK = "▼"
MIN_NAME_WIDTH = 14
PAD = 1  # blank cells each side of a column
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
    width: int  # 0: sized to the names and the room left
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
MARK_WIDTH = 1 + 2 * PAD
FIXED_WIDTHS = tuple(max(c.width, len(c.label) + 1) for c in COLUMNS[1:])  # room for the sort arrow


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


def haystack(model: LocalModel) -> str:
    """What the filter searches: the name, family, quantization and parameter size."""
    d = model.details
    return " ".join((model.name, d.family or "", d.quantization_level or "", d.parameter_size or "")).lower()


def filter_models(models: Iterable[LocalModel], text: str,
                  haystacks: dict[str, str] | None = None) -> list[LocalModel]:
    """The models in which every word of `text` appears: `qwen q8` finds the Qwen models at Q8_0."""
    words = text.lower().split()
    if not words:
        return list(models)
    found = haystacks or {}
    return [m for m in models if all(w in (found.get(m.name) or haystack(m)) for w in words)]


def ellipsize(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def cells(model: LocalModel, now: float) -> tuple[str, ...]:
    """The text of each column for one model, in COLUMNS order."""
    d = model.details
    age = now - model.modified_at.timestamp() if model.modified_at is not None else None
    return (model.name, format_model_size(model.size), d.parameter_size or "-", d.quantization_level or "-",
            d.family or "-", format_age(age))


class ModelTable(ScrollView, can_focus=True):
    """Posts `Highlighted` when the cursor lands on another model and `Selected` on Enter / double click."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Chat with the highlighted model", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(-1)", "First model", show=False),
        Binding("end", "edge(1)", "Last model", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "model-table--header", "model-table--cursor", "model-table--loaded",
    }
    DEFAULT_CSS = """
    ModelTable {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
        & > .model-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .model-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .model-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .model-table--loaded { color: $text-success; text-style: bold; }
    }
    """

    class Highlighted(Message):
        def __init__(self, table: ModelTable, model: LocalModel) -> None:
            super().__init__()
            self.table = table
            self.model = model

        @property
        def control(self) -> ModelTable:
            return self.table

    class Selected(Highlighted):
        pass

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(id=id, classes=classes)
        self.clock = clock
        self.models: list[LocalModel] = []
        self.shown: list[LocalModel] = []
        self.order = SortOrder()
        self.filter_text = ""
        self.loaded: frozenset[str] = frozenset()
        self.marked: frozenset[str] = frozenset()
        self.cursor_row = 0
        self._cells: dict[str, tuple[str, ...]] = {}  # name -> column texts, built once per listing
        self._haystacks: dict[str, str] = {}  # name -> what the filter searches
        self._widths: tuple[int, ...] = (MIN_NAME_WIDTH, *FIXED_WIDTHS)
        self._announced: str | None = None

    # ------------------------------------------------------------------ state in

    def show_models(self, models: Sequence[LocalModel]) -> None:
        self.models = list(models)
        now = self.clock()
        self._cells = {m.name: cells(m, now) for m in self.models}
        self._haystacks = {m.name: haystack(m) for m in self.models}
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
        if loaded != self.loaded:
            self.loaded = loaded
            self.refresh()

    def mark(self, names: Iterable[str]) -> None:
        self.marked = frozenset(names)
        self.refresh()

    def select(self, name: str) -> bool:
        """Put the cursor on `name` if it is shown; False when it is not."""
        for index, model in enumerate(self.shown):
            if model.name == name:
                self.move_cursor(index)
                return True
        return False

    def move_cursor(self, row: int) -> None:
        if not self.shown:
            self.cursor_row = 0
            return
        self.cursor_row = max(0, min(row, len(self.shown) - 1))
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    # ------------------------------------------------------------------ state out

    @property
    def highlighted(self) -> LocalModel | None:
        if not self.shown or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    @property
    def row_count(self) -> int:
        return len(self.shown)

    def find(self, name: str) -> LocalModel | None:
        for model in self.models:
            if model.name == name:
                return model
        return None

    def column_x(self, key: str) -> int:
        """Where a column starts, counted from the table's left edge (for clicks and tests)."""
        x = MARK_WIDTH
        for column, width in zip(COLUMNS, self._widths, strict=True):
            if column.key == key:
                return x
            x += width + 2 * PAD
        raise KeyError(key)

    # ------------------------------------------------------------------ keys and mouse

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self._visible_rows() - 1))

    def action_edge(self, direction: int) -> None:
        self.move_cursor(0 if direction < 0 else len(self.shown) - 1)

    def action_select(self) -> None:
        model = self.highlighted
        if model is not None:
            self.post_message(self.Selected(self, model))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self._header_clicked(offset.x)
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.shown):
            self.move_cursor(row)
            if event.chain == 2:
                self.action_select()

    def _header_clicked(self, x: int) -> None:
        """A click on a header sorts by it; a second click reverses."""
        for column in COLUMNS:
            start = self.column_x(column.key)
            if start <= x < start + self._widths[COLUMNS.index(column)] + 2 * PAD:
                if column.key == self.order.column:
                    self.reverse_sort()
                else:
                    self.sort_by(column.key)
                return

    def on_resize(self, event: events.Resize) -> None:
        widths = self._fit_widths()
        if widths != self._widths:
            self._widths = widths
            self._update_size()
        self._scroll_to_cursor()

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_strip(width)
        row = int(self.scroll_y) + y - 1
        if not 0 <= row < len(self.shown):
            return Strip.blank(width, self.rich_style)
        return self._row_strip(self.shown[row], row == self.cursor_row, width)

    def _header_strip(self, width: int) -> Strip:
        style = self.get_component_rich_style("model-table--header")
        labels = [" " * MARK_WIDTH]
        for column, col_width in zip(COLUMNS, self._widths, strict=True):
            label = column.label
            if column.key == self.order.column:
                label += DESCENDING_MARK if self.order.descending else ASCENDING_MARK
            labels.append(" " * PAD + ellipsize(label, col_width).ljust(col_width) + " " * PAD)
        return Strip([Segment("".join(labels), style)]).adjust_cell_length(width, style)

    def _row_strip(self, model: LocalModel, cursor: bool, width: int) -> Strip:
        base = self.rich_style
        style = base + self.get_component_rich_style("model-table--cursor") if cursor else base
        texts = self._cells.get(model.name) or cells(model, self.clock())
        body = "".join(" " * PAD + ellipsize(text, w).ljust(w) + " " * PAD
                       for text, w in zip(texts, self._widths, strict=True))
        if model.name in self.loaded:
            mark_style: Style = style + self.get_component_rich_style("model-table--loaded")
            pad = Segment(" " * PAD, style)
            segments = [pad, Segment(LOADED_MARK, mark_style), pad]
        else:
            segments = [Segment(" " * MARK_WIDTH, style)]
        if model.name in self.marked:
            segments[0] = Segment(MARKED, style + Style(bold=True))
        segments.append(Segment(body, style))
        return Strip(segments).adjust_cell_length(width, style)

    # ------------------------------------------------------------------ helpers

    def _rebuild(self) -> None:
        current = self.highlighted
        self.shown = sort_models(filter_models(self.models, self.filter_text, self._haystacks), self.order)
        self._widths = self._fit_widths()
        self._update_size()
        if current is None or not self.select(current.name):
            self.move_cursor(0)
        self.refresh()

    def _fit_widths(self) -> tuple[int, ...]:
        fixed = FIXED_WIDTHS
        longest = max((len(m.name) for m in self.models), default=MIN_NAME_WIDTH)
        room = self.scrollable_content_region.width - MARK_WIDTH - sum(w + 2 * PAD for w in fixed) - 2 * PAD
        name = max(MIN_NAME_WIDTH, min(longest, room)) if room > 0 else max(MIN_NAME_WIDTH, longest)
        return (name, *fixed)

    def _update_size(self) -> None:
        width = MARK_WIDTH + sum(w + 2 * PAD for w in self._widths)
        self.virtual_size = Size(width, len(self.shown) + 1)

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        top, rows = int(self.scroll_y), self._visible_rows()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def _announce(self) -> None:
        model = self.highlighted
        if model is not None and model.name != self._announced:
            self._announced = model.name
            self.post_message(self.Highlighted(self, model))
        elif model is None:
            self._announced = None
