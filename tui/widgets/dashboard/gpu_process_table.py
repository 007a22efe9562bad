"""Who holds GPU memory: `ollama runner` 14.0 GiB on GPU 0, like the bottom of `nvidia-smi`.

A read-only table drawn line by line by one widget. A DataTable (cursor,
selection, per-cell caches, a dozen component styles) cost more to import
and style at start-up than everything else on this panel, for rows nobody
selects. Rows are sorted largest holder first and only repainted when what
they would show changes, so an unchanged reading costs nothing per tick.
When more processes hold memory than the table's height allows, the last
line says how many are not shown; when none does, one line says so. Command lines are shortened to fit: paths
to their last component, Ollama's `sha256-<64 hex>` blob names cut to 12
digits, then an ellipsis.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from functools import lru_cache
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from core.hardware.types import GpuProcess
from core.units import format_bytes

_DIGEST = re.compile(r"(sha256[-:])([0-9a-f]{12})[0-9a-f]{52}")
ELLIPSIS = "…"

Cells = tuple[str, str, str, str, str, str]

# Fixed widths (the command takes the rest): a column sized to its first
# value would clip `14.0 GiB` after starting at `0 B`, and widths that follow
# the data would shift the whole table as processes come and go.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("gpu", "GPU", 3),
    ("pid", "PID", 7),
    ("user", "User", 8),
    ("name", "Process", 15),
    ("vram", "VRAM", 9),
    ("cmd", "Command", None),
)
MIN_CMD_WIDTH = 12
NAME_WIDTH = 15


@lru_cache(maxsize=256)  # the same few command lines come back every second
def shorten_cmdline(cmdline: str, width: int, *, name: str = "") -> str:
    """Fit a command line into `width` cells, keeping what identifies the process.

    Paths become their last component (`--model .../blobs/sha256-6a0746a1ec1a`
    or `-m Qwen2.5-7B-Q4_K_M.gguf` is what tells two runners apart), and the
    leading words already shown as the process name are dropped.
    """
    text = _DIGEST.sub(r"\1\2", cmdline.strip())
    try:
        parts = shlex.split(text)
    except ValueError:
        parts = text.split()
    parts = [_last_component(p) for p in parts]
    for word in name.split():
        if parts and parts[0] == word:
            parts.pop(0)
    # An Ollama blob names itself: `--model sha256-…` would spend 8 cells of a narrow column on the flag.
    parts = [p for i, p in enumerate(parts)
             if not (p in ("--model", "-m") and i + 1 < len(parts) and parts[i + 1].startswith("sha256"))]
    return fit(" ".join(parts), width)


def fit(text: str, width: int) -> str:
    """`text`, cut to `width` terminal cells with an ellipsis when it is longer (CJK counts two)."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    cut = Text(text)
    cut.truncate(width, overflow="ellipsis")
    return cut.plain


def _last_component(arg: str) -> str:
    """`/usr/bin/ollama` -> `ollama`; `--model=/a/b.gguf` -> `--model=b.gguf`; other words unchanged."""
    key, eq, value = arg.partition("=")
    if eq and value.startswith(("/", "~")):
        return f"{key}={_last_component(value)}"
    if arg.startswith(("/", "~/")) and len(arg) > 1:
        return arg.rstrip("/").rsplit("/", 1)[-1] or arg
    return arg


PAD = 1  # blank cells either side of every column


def column_line(cells: Iterable[str], widths: Iterable[int]) -> str:
    """One table line: every cell padded to its column's width, with PAD blanks either side."""
    return "".join(" " * PAD + cell + " " * (width - cell_len(cell) + PAD)
                   for cell, width in zip(cells, widths, strict=True))


class GpuProcessTable(Widget):
    """One row per process per GPU, largest first, under a header line."""

    DEFAULT_CSS = """
    GpuProcessTable {
        height: auto;
        max-height: 12;
    }
    GpuProcessTable > .gpu-process-table--header {
        text-style: bold;
        color: $text-accent;
    }
    GpuProcessTable > .gpu-process-table--more {
        color: $text-muted;
    }
    GpuProcessTable > .gpu-process-table--empty {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "gpu-process-table--header", "gpu-process-table--more", "gpu-process-table--empty",
    }

    def __init__(self, *, empty_text: str = "", id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.empty_text = empty_text
        self._processes: tuple[GpuProcess, ...] = ()
        self._lines: tuple[str, ...] = ()
        self._cmd_width = 40
        self.marked: int | None = None  # the pid marked ▶ (the runner the screen's stop key acts on)

    @property
    def processes(self) -> tuple[GpuProcess, ...]:
        return self._processes

    @property
    def row_count(self) -> int:
        return len(self._processes)

    def show(self, processes: Iterable[GpuProcess], *, empty_text: str | None = None) -> None:
        """Show exactly these processes; repaint only if a drawn line changes.

        `empty_text` replaces the line shown when there are none.
        """
        self._processes = tuple(sorted(processes, key=lambda p: (-(p.used_memory or 0), p.gpu_index, p.pid)))
        if empty_text is not None and empty_text != self.empty_text:
            self.empty_text = empty_text
            if not self._processes:
                self.refresh()
        self._redraw()

    def on_resize(self) -> None:
        """Give the command column whatever the other columns leave."""
        others = sum(width + 2 * PAD for _, _, width in COLUMNS if width is not None)
        self._cmd_width = max(MIN_CMD_WIDTH, self.content_size.width - others - 2 * PAD)
        self._redraw()

    def _widths(self) -> tuple[int, ...]:
        return tuple(width or self._cmd_width for _, _, width in COLUMNS)

    def _redraw(self) -> None:
        widths = self._widths()
        lines = tuple(column_line(self._cells(p), widths) for p in self._processes)
        if lines != self._lines:
            grew = len(lines) != len(self._lines)
            self._lines = lines
            self.refresh(layout=grew)

    def _cells(self, process: GpuProcess) -> Cells:
        return (
            ("▶" if process.pid == self.marked else " ") + str(process.gpu_index),
            str(process.pid),
            fit(process.user, 8),
            fit(process.name, NAME_WIDTH),
            "n/a" if process.used_memory is None else format_bytes(process.used_memory),
            shorten_cmdline(process.cmdline, self._cmd_width, name=process.name),
        )

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 + len(self._lines)

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self.visual_style.rich_style
        height = self.content_size.height
        if y == 0 and not self._lines:
            style = base + self.get_component_rich_style("gpu-process-table--empty", partial=True)
            return Strip([Segment(" " * PAD + self.empty_text, style)]).adjust_cell_length(width, base)
        if y == 0:
            header = column_line((label for _, label, _ in COLUMNS), self._widths())
            style = base + self.get_component_rich_style("gpu-process-table--header", partial=True)
            return Strip([Segment(header, style)]).adjust_cell_length(width, base)
        row = y - 1
        if row >= len(self._lines):
            return Strip.blank(width, base)
        hidden = len(self._lines) - (height - 1)
        if hidden > 0 and y == height - 1:
            # Not all fit: the last line counts the rest (the smallest holders).
            more = f"{' ' * PAD}… {hidden + 1} more holding {self._hidden_bytes(hidden + 1)}"
            style = base + self.get_component_rich_style("gpu-process-table--more", partial=True)
            return Strip([Segment(more, style)]).adjust_cell_length(width, base)
        return Strip([Segment(self._lines[row], base)]).adjust_cell_length(width, base)

    def _hidden_bytes(self, count: int) -> str:
        return format_bytes(sum(p.used_memory or 0 for p in self._processes[-count:]))
