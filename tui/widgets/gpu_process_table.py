"""Who holds GPU memory: `ollama runner` 14.0 GiB on GPU 0, like the bottom of `nvidia-smi`.

Rows are keyed by (GPU, pid) and updated cell by cell, so an unchanged table
costs nothing per tick and a highlighted row stays where it is. Rows are
re-sorted (largest holder first) only when the set of processes or their
order changes. Command lines are shortened to fit: paths to their last component,
Ollama's `sha256-<64 hex>` blob names cut to 12 digits, then an ellipsis.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from core.models import GpuProcess
from tui.widgets.units import format_bytes

_DIGEST = re.compile(r"(sha256[-:])([0-9a-f]{12})[0-9a-f]{52}")
ELLIPSIS = "…"

RowKey = str
Cells = tuple[str, str, str, str, str]

# Fixed widths (the command takes the rest): a column sized to its first
# value would clip `14.0 GiB` after starting at `0 B`, and widths that follow
# the data would shift the whole table as processes come and go.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("gpu", "GPU", 3),
    ("pid", "PID", 7),
    ("name", "Process", 15),
    ("vram", "VRAM", 9),
    ("cmd", "Command", None),
)
MIN_CMD_WIDTH = 12
NAME_WIDTH = 15


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
    return fit(" ".join(parts), width)


def fit(text: str, width: int) -> str:
    """`text`, cut to `width` cells with an ellipsis when it is longer."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def _last_component(arg: str) -> str:
    """`/usr/bin/ollama` -> `ollama`; `--model=/a/b.gguf` -> `--model=b.gguf`; other words unchanged."""
    key, eq, value = arg.partition("=")
    if eq and value.startswith(("/", "~")):
        return f"{key}={_last_component(value)}"
    if arg.startswith(("/", "~/")) and len(arg) > 1:
        return arg.rstrip("/").rsplit("/", 1)[-1] or arg
    return arg


def row_key(process: GpuProcess) -> RowKey:
    return f"{process.gpu_index}:{process.pid}"


class GpuProcessTable(DataTable[str]):
    """One row per process per GPU, largest first."""

    DEFAULT_CSS = """
    GpuProcessTable {
        height: auto;
        max-height: 12;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False, show_cursor=False)
        self._processes: tuple[GpuProcess, ...] = ()
        self._rows: dict[RowKey, Cells] = {}
        self._order: list[RowKey] = []
        self._cmd_width = 40

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width or self._cmd_width)

    @property
    def processes(self) -> tuple[GpuProcess, ...]:
        return self._processes

    def show(self, processes: Iterable[GpuProcess]) -> None:
        """Bring the table to exactly these processes, touching only what changed."""
        self._processes = tuple(sorted(processes, key=lambda p: (-(p.used_memory or 0), p.gpu_index, p.pid)))
        wanted = {row_key(p): self._cells(p) for p in self._processes}
        order = list(wanted)
        if order != self._order:
            self.clear()
            for key in order:
                self.add_row(*wanted[key], key=key)
        else:
            for key, cells in wanted.items():
                old = self._rows[key]
                for (column, _, _), new_value, old_value in zip(COLUMNS, cells, old, strict=True):
                    if new_value != old_value:
                        self.update_cell(key, column, new_value)
        self._order = order
        self._rows = wanted

    def _cells(self, process: GpuProcess) -> Cells:
        return (
            str(process.gpu_index),
            str(process.pid),
            fit(process.name, NAME_WIDTH),
            "n/a" if process.used_memory is None else format_bytes(process.used_memory),
            shorten_cmdline(process.cmdline, self._cmd_width, name=process.name),
        )

    def on_resize(self) -> None:
        """Give the command column whatever the other columns leave."""
        cmd = self.columns.get(ColumnKey("cmd"))
        if cmd is None:
            return
        others = sum(
            column.get_render_width(self) for key, column in self.columns.items() if key != "cmd"
        )
        width = max(MIN_CMD_WIDTH, self.scrollable_content_region.width - others - 2 * self.cell_padding)
        if width != self._cmd_width:
            self._cmd_width = width
            cmd.width = width
            self._order = []  # redraw every row with the new width
            self.show(self._processes)
