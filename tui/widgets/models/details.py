"""What `/api/show` says about one model: the architecture facts first, then the long texts.

The facts a user decides with (context length, layers, KV heads, what the
model can do) come first and fit a short pane; template, parameters,
license and Modelfile follow below for scrolling. Model-supplied text is
never read as markup: templates are full of `[` and `{{`.

The pane asks `/api/show` itself once the cursor rests on a model (`ask_for`),
keeps the answers by digest, and answers with `Fetched` or `FetchFailed`.
"""

from __future__ import annotations

import asyncio

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.errors import OllamaError
from core.hardware.probe import HardwareProbe
from core.ollama.client import OllamaClient
from core.ollama.types import LocalModel, RunningModel, ShowInfo
from tui.services import server_settings
from tui.widgets.models.host_answer import HostAnswer
from tui.widgets.models.load_check import LoadCheckView, Reader

SHOW_DEBOUNCE_S = 0.12  # arrowing through 500 models asks /api/show only where the cursor rests
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

    class Fetched(HostAnswer):
        def __init__(self, pane: ModelDetailsPane, generation: int, info: ShowInfo) -> None:
            super().__init__(pane, generation)
            self.info = info

    class FetchFailed(HostAnswer):
        def __init__(self, pane: ModelDetailsPane, generation: int, name: str, error: OllamaError) -> None:
            super().__init__(pane, generation)
            self.name = name
            self.error = error

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.info: ShowInfo | None = None
        self.asked: tuple[str, str] | None = None  # (name, digest) shown or awaited
        self.client: OllamaClient | None = None  # whose answers are shown (its host, for the load check)
        self._shown: dict[tuple[int, str, str], ShowInfo] = {}

    def ask_for(self, client: OllamaClient | None, generation: int, model: LocalModel) -> None:
        """Show `model`'s details, asking the server unless they are shown or asked for already."""
        key = (model.name, model.digest)
        if key == self.asked:  # shown, or asked for (an error stays until r asks again)
            return
        self.asked = key
        self.client = client
        if self.info is None or self.info.name != model.name:
            self.show_message(f"Asking for the details of {model.name}…", title=model.name)
        self.fetch(client, generation, model.name, model.digest)

    def forget(self) -> None:
        """Ask `/api/show` again next time (after a retry, or when models changed)."""
        self._shown.clear()
        self.asked = None

    def cancel(self) -> None:
        self.workers.cancel_group(self, "show")

    @work(exclusive=True, group="show")
    async def fetch(self, client: OllamaClient | None, generation: int, name: str, digest: str) -> None:
        """Details of the highlighted model once the cursor rests on it; cached by digest."""
        if client is None:
            return
        cached = self._shown.get((generation, name, digest))
        if cached is None:
            await asyncio.sleep(SHOW_DEBOUNCE_S)  # a newer highlight cancels this one here
            try:
                cached = await client.show(name)
            except OllamaError as exc:
                self.post_message(self.FetchFailed(self, generation, name, exc))
                return
            self._shown[(generation, name, digest)] = cached
        self.post_message(self.Fetched(self, generation, cached))

    def compose(self) -> ComposeResult:
        yield LoadCheckView(id="load-check")
        yield Static("", id="details-body", markup=False)

    def show_info(self, info: ShowInfo, running: tuple[RunningModel, ...] = (),
                  probe: HardwareProbe | None = None) -> None:
        self.info = info
        self.show_running(running, probe)
        self.border_title = Text(info.name)
        self.remove_class("-message", "-error")
        self.query_one("#details-body", Static).update(details_renderable(info))
        self.scroll_home(animate=False)

    def show_message(self, text: str, *, title: str | None = None, error: bool = False) -> None:
        """A line in place of the details: loading, nothing selected, or why /api/show failed."""
        self.info = None
        self.query_one(LoadCheckView).forget()
        self.border_title = Text(title or "Details")
        self.add_class("-message")
        self.set_class(error, "-error")
        self.query_one("#details-body", Static).update(Text(text))

    def show_running(self, running: tuple[RunningModel, ...], probe: HardwareProbe | None) -> None:
        """Predicted beside actual when the model shown is loaded (after each new /api/ps)."""
        host = self.client.host if self.client is not None else None
        self.query_one(LoadCheckView).follow(self.info, running, host, probe, self._reader())

    def _reader(self) -> Reader:
        services = getattr(self.app, "services", None)  # the app's; tests pass a fake reader there
        reader: Reader = getattr(services, "ollama_server", server_settings)
        return reader
