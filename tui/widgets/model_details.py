"""What `/api/show` says about one model: the architecture facts first, then the long texts.

The facts a user decides with (context length, layers, KV heads, what the
model can do) come first and fit a short pane; template, parameters,
license and Modelfile follow below for scrolling. Model-supplied text is
never read as markup: templates are full of `[` and `{{`.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.ollama.types import ShowInfo

CAPABILITIES = ("completion", "thinking", "tools", "vision")
YES, NO = "✓", "·"


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _heads(value: int | tuple[int, ...] | None) -> str:
    """A per-layer head count reads as one number when all layers agree, else as its range."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    low, high = min(value), max(value)
    return str(low) if low == high else f"{low}-{high} per layer"


def _parameters(info: ShowInfo) -> str:
    count = info.parameter_count
    shown = info.details.parameter_size
    if count is None:
        return shown or "n/a"
    exact = f"{count / 1e9:.2f} B" if count >= 1e9 else f"{count / 1e6:.0f} M"
    return f"{exact} ({shown})" if shown else exact


def capabilities_text(capabilities: tuple[str, ...]) -> Text:
    """The four capabilities users ask about, each ticked or not, then any others the server names."""
    text = Text()
    for name in CAPABILITIES:
        has = name in capabilities
        text.append(f"{YES if has else NO} {name}", style="bold" if has else "dim")
        text.append("  ")
    for name in capabilities:
        if name not in CAPABILITIES:
            text.append(f"{YES} {name}  ", style="bold")
    text.rstrip()
    return text


def facts_table(info: ShowInfo) -> Table:
    table = Table.grid(padding=(0, 2))
    # Labels keep their width; values give way (with an ellipsis) in a narrow pane.
    table.add_column(style="bold", no_wrap=True, min_width=len("Architecture"))
    table.add_column(no_wrap=True, overflow="ellipsis")
    table.add_column(style="bold", no_wrap=True, min_width=len("Parameters"))
    table.add_column(no_wrap=True, overflow="ellipsis")
    d = info.details
    quant = " · ".join(p for p in (d.quantization_level, d.format) if p) or "n/a"
    table.add_row("Architecture", info.architecture or "n/a", "Parameters", _parameters(info))
    table.add_row("Context", _count(info.context_length), "Embedding", _count(info.embedding_length))
    table.add_row("Layers", _count(info.block_count), "Heads", _heads(info.head_count))
    table.add_row("Quant", quant, "KV heads", _heads(info.head_count_kv))
    return table


def _section(title: str, body: str) -> list[RenderableType]:
    return [Text(""), Text(title, style="bold underline"), Text(body.rstrip("\n") or "(none)", style="")]


def details_renderable(info: ShowInfo) -> Group:
    parts: list[RenderableType] = [facts_table(info), Text.assemble(("Can     ", "bold"),
                                                                    capabilities_text(info.capabilities))]
    params = "\n".join(f"{name} {value}" for name, value in info.parameter_list)
    parts += _section("Parameters", params)
    if info.system:
        parts += _section("System prompt", info.system)
    parts += _section("Template", info.template)
    parts += _section("License", info.license_head(3))
    parts += _section("Modelfile", info.modelfile)
    return Group(*parts)


class ModelDetailsPane(VerticalScroll):
    """Scrollable (focus it and use the arrow keys): the Modelfile can run to hundreds of lines."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.info: ShowInfo | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="details-body", markup=False)

    def show_info(self, info: ShowInfo) -> None:
        self.info = info
        self.border_title = Text(info.name)
        self.remove_class("-message", "-error")
        self.query_one("#details-body", Static).update(details_renderable(info))
        self.scroll_home(animate=False)

    def show_message(self, text: str, *, title: str | None = None, error: bool = False) -> None:
        """A line in place of the details: loading, nothing selected, or why /api/show failed."""
        self.info = None
        self.border_title = Text(title or "Details")
        self.add_class("-message")
        self.set_class(error, "-error")
        self.query_one("#details-body", Static).update(Text(text))
