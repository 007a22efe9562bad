"""Predicted beside actual for the highlighted model once it is loaded, and what explains a difference.

The details pane shows it above the model's facts while `/api/ps` lists the
model. The prediction (core.planner.ollama_check, the same call as `llamadeck
ps --predict`) needs the server's settings, this machine's GPUs and the
planner, so it runs in a thread and answers with `Compared`; it is made again
only when what the server reports for the model changes, not on every poll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from core.config import HostConfig
from core.errors import ConfigError, LlamadeckError
from core.hardware.probe import HardwareProbe
from core.ollama.host import endpoint_for
from core.ollama.server_settings import OllamaServerSettings
from core.ollama.types import RunningModel, ShowInfo
from core.planner.ollama_check import LoadCheck, check_loaded
from core.units import format_model_size

Reader = Callable[[HostConfig], OllamaServerSettings]
Key = tuple[object, ...]


def load_check_renderable(check: LoadCheck) -> RenderableType:
    if check.comparison is None:
        return Text(check.problem or "", style="dim")
    p, a = check.comparison.predicted, check.comparison.actual
    grid = Table.grid(padding=(0, 2))
    for _ in range(5):
        grid.add_column(no_wrap=True)
    grid.add_row(*(Text(h, style="bold") for h in ("", "Size", "VRAM", "Processor", "Context")))
    if p.error:
        grid.add_row("Predicted", "-", "-", "fails to load", str(p.num_ctx))
    else:
        grid.add_row("Predicted", format_model_size(p.size), format_model_size(p.size_vram), p.processor,
                     str(p.num_ctx))
    ctx = str(a.context_length) if a.context_length is not None else "-"
    grid.add_row("Actual", format_model_size(a.size), format_model_size(a.size_vram), a.processor, ctx)
    parts: list[RenderableType] = [grid]
    if check.comparison.matches:
        parts.append(Text("As predicted.", style="green"))
    parts += [Text(s) for s in check.comparison.sentences]
    parts.append(Text("llama-server " + " ".join(p.args), style="dim"))
    return Group(*parts)


class LoadCheckView(Static):
    """Hidden unless the model shown is loaded; `follow(...)` after every new /api/show or /api/ps."""

    DEFAULT_CSS = """
    LoadCheckView { height: auto; margin-bottom: 1; }
    """

    class Compared(Message):
        def __init__(self, view: LoadCheckView, key: Key, check: LoadCheck) -> None:
            super().__init__()
            self.view = view
            self.key = key
            self.check = check

        @property
        def control(self) -> LoadCheckView:
            return self.view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.key: Key | None = None
        self.check: LoadCheck | None = None
        self.display = False

    def forget(self) -> None:
        self.key = self.check = None
        self.display = False

    def follow(self, show: ShowInfo | None, running: Sequence[RunningModel], host: HostConfig | None,
               probe: HardwareProbe | None, reader: Reader) -> None:
        """Compare the model in `show` if the server lists it as loaded; hide otherwise."""
        loaded = next((m for m in running if show is not None and m.name == show.name), None)
        if show is None or loaded is None or host is None or probe is None:
            self.forget()
            return
        key: Key = (host.url, show.name, loaded.size, loaded.size_vram, loaded.context_length,
                    tuple(sorted(m.name for m in running)))
        if key == self.key:
            return
        self.key, self.check = key, None
        self.display = True
        self.update(Text(f"Comparing how {show.name} loaded with the prediction…", style="dim"))
        self.compare(key, show, loaded, tuple(running), host, probe, reader)

    @work(thread=True, exclusive=True, group="load-check")
    def compare(self, key: Key, show: ShowInfo, loaded: RunningModel, running: tuple[RunningModel, ...],
                host: HostConfig, probe: HardwareProbe, reader: Reader) -> None:
        try:
            local = endpoint_for(host).is_loopback
        except ConfigError:
            local = False
        try:
            server = reader(host)
            info, sample = probe.machine_info(), probe.sample()
            check = check_loaded(show, loaded, running, server, info, sample, local=local)
        except (LlamadeckError, OSError) as exc:
            problem = f"No prediction for {show.name}: {exc}"
            check = LoadCheck(show.name, None, OllamaServerSettings(), problem)
        self.post_message(self.Compared(self, key, check))

    def on_load_check_view_compared(self, message: LoadCheckView.Compared) -> None:
        message.stop()
        if message.key != self.key:
            return
        self.check = message.check
        self.update(load_check_renderable(message.check))
