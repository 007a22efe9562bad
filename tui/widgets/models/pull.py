"""A pull in progress: the whole download, each layer, speed and ETA, and how it ended.

Speed and ETA come from core.ollama.pull (bytes that arrived while we
watched, over the last seconds), printed in Ollama's decimal units and Go
durations like `ollama pull` does. A pull that was cancelled or broke says
that pulling again resumes, because Ollama keeps the bytes it has; a pull
that did resume says from where, so the user sees it did not start over.

The panel runs the pull itself (`begin`), shows its own progress, and
answers with one `Ended`; `stop` cancels the worker, which closes the
stream. `pulling` is the model being pulled, `interrupted` the one that
pulling again would resume (the pull dialog offers it).
"""

from __future__ import annotations

import asyncio

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker

from core.errors import ModelNotFound, OllamaError
from core.ollama.client import OllamaClient
from core.ollama.types import PullLayer, PullProgress
from core.units import format_bytes_decimal, go_duration_whole
from tui.widgets.models.host_answer import HostAnswer

BAR_WIDTH = 24
RESUME_HINT = "Press p again to resume: Ollama keeps what it downloaded."


def bar(fraction: float | None, width: int = BAR_WIDTH) -> Text:
    done = 0 if fraction is None else round(max(0.0, min(1.0, fraction)) * width)
    text = Text("▕")
    text.append("█" * done, style="green")
    text.append("░" * (width - done), style="dim")
    text.append("▏")
    return text


def _percent(fraction: float | None) -> str:
    return "  --%" if fraction is None else f"{int(fraction * 100):4d}%"


def summary_line(p: PullProgress) -> Text:
    """`▕████░░▏  48%  2.5 GB/5.2 GB  118 MB/s  ETA 23s`."""
    line = bar(p.fraction)
    sizes = f"{format_bytes_decimal(p.completed_bytes)}/{format_bytes_decimal(p.total_bytes)}"
    line.append(f" {_percent(p.fraction)}  {sizes}")
    if p.speed:
        line.append(f"  {format_bytes_decimal(p.speed)}/s")
    if p.eta is not None and p.speed:
        line.append(f"  ETA {go_duration_whole(p.eta)}")
    return line


def layer_line(layer: PullLayer) -> Text:
    short = layer.digest.removeprefix("sha256:")[:12]
    fraction = layer.completed / layer.total if layer.total else None
    line = Text("  ")
    line.append("✓ " if layer.done else "  ", style="green")
    line.append(short)
    line.append(f"  {format_bytes_decimal(layer.total):>8}  ")
    if not layer.done:
        line.append(bar(fraction, 12))
        line.append(_percent(fraction))
    return line


class PullPanel(VerticalScroll):
    """`start(name)`, then `show_progress(...)` per line, then one of `finished` / `cancelled` / `failed`."""

    class Progressed(HostAnswer):
        """One line of a pull. `resumed_from` is how many bytes were already there when it started."""

        def __init__(self, panel: PullPanel, generation: int, name: str, progress: PullProgress,
                     resumed_from: int) -> None:
            super().__init__(panel, generation)
            self.name = name
            self.progress = progress
            self.resumed_from = resumed_from

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PullPanel.Progressed) and message.name == self.name

    class Ended(HostAnswer):
        """`outcome` is "done", "cancelled" or "failed"; `text` is the sentence to show."""

        def __init__(self, panel: PullPanel, generation: int, name: str, outcome: str, text: str,
                     resumable: bool) -> None:
            super().__init__(panel, generation)
            self.name = name
            self.outcome = outcome
            self.text = text
            self.resumable = resumable

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.name_pulled: str | None = None
        self.progress: PullProgress | None = None
        self.resumed_from = 0
        self.outcome: str | None = None  # None while running, else "done" / "cancelled" / "failed"
        self.outcome_text = ""
        self.pulling: str | None = None
        self.interrupted: str | None = None
        self._worker: Worker[None] | None = None
        self._generation: int | None = None  # of the pull in progress; answers from another are dropped

    def compose(self) -> ComposeResult:
        yield Static("", id="pull-body", markup=False)

    def start(self, name: str) -> None:
        self.name_pulled = name
        self.progress = None
        self.resumed_from = 0
        self.outcome = None
        self.outcome_text = ""
        self.border_title = Text(f"Pull {name}")
        self.set_class(False, "-done", "-failed")
        self._repaint()

    def begin(self, client: OllamaClient | None, generation: int, name: str) -> None:
        self.pulling = name
        self._generation = generation
        self.start(name)
        self._worker = self.pull(client, generation, name)

    def stop(self) -> None:
        if self._worker is not None and self.pulling is not None:
            self._worker.cancel()

    def abandon(self, text: str) -> None:
        """Cancel the pull for good (another host): its own end would be dropped, so `text` says it here."""
        if self._worker is not None and self.pulling is not None:
            self._worker.cancel()
            self.cancelled(text)
            self.pulling = self.interrupted = None
            self._generation = None

    def record_end(self, message: PullPanel.Ended) -> None:
        self.pulling = None
        if message.outcome == "done":
            self.interrupted = None
            self.finished(message.text)
        else:
            self.interrupted = message.name if message.resumable else None
            (self.cancelled if message.outcome == "cancelled" else self.failed)(message.text)

    def is_current(self, message: HostAnswer) -> bool:
        return message.generation == self._generation

    @on(Progressed)
    def _progressed(self, message: PullPanel.Progressed) -> None:
        if self.is_current(message):
            self.show_progress(message.progress, message.resumed_from)

    def show_progress(self, progress: PullProgress, resumed_from: int) -> None:
        self.progress = progress
        self.resumed_from = resumed_from
        self._repaint()

    def finished(self, text: str) -> None:
        self._end("done", text)

    def cancelled(self, text: str) -> None:
        self._end("cancelled", text)

    def failed(self, text: str) -> None:
        self._end("failed", text)

    @work(exclusive=True, group="pull")
    async def pull(self, client: OllamaClient | None, generation: int, name: str) -> None:
        """Pull with progress; cancelling the worker closes the stream and Ollama keeps the bytes."""
        if client is None:
            return
        first_seen: dict[str, tuple[int, int]] = {}  # digest -> (completed, total) on its first line
        done = total = 0
        try:
            async for progress in client.pull(name):
                if progress.digest and progress.total and progress.digest not in first_seen:
                    first_seen[progress.digest] = (progress.completed or 0, progress.total)
                kept = sum(c for c, _ in first_seen.values())
                fresh = any(c < t for c, t in first_seen.values())
                done, total = progress.completed_bytes, progress.total_bytes
                self.post_message(self.Progressed(self, generation, name, progress, kept if fresh else 0))
        except asyncio.CancelledError:
            where = f" at {format_bytes_decimal(done)} of {format_bytes_decimal(total)}" if total else ""
            self._ended(generation, name, "cancelled", f"Cancelled the pull of {name}{where}. " + RESUME_HINT,
                        resumable=True)
            raise
        except ModelNotFound as exc:
            self._ended(generation, name, "failed", str(exc), resumable=False)
        except OllamaError as exc:
            self._ended(generation, name, "failed", f"{exc.message} {RESUME_HINT}", resumable=True)
        else:
            size = f" ({format_bytes_decimal(total)})" if total else ""
            self._ended(generation, name, "done", f"Pulled {name}{size}.", resumable=False)

    def _ended(self, generation: int, name: str, outcome: str, text: str, *, resumable: bool) -> None:
        self.post_message(self.Ended(self, generation, name, outcome, text, resumable))

    def _end(self, outcome: str, text: str) -> None:
        self.outcome = outcome
        self.outcome_text = text
        self.set_class(outcome == "done", "-done")
        self.set_class(outcome != "done", "-failed")
        self._repaint()

    def _repaint(self) -> None:
        self.query_one("#pull-body", Static).update(self.renderable())

    def renderable(self) -> RenderableType:
        p = self.progress
        parts: list[RenderableType] = []
        status = p.status if p is not None else "connecting…"
        parts.append(Text.assemble(("Status  ", "bold"), status))
        if p is not None and p.total_bytes:
            parts.append(summary_line(p))
        if self.resumed_from:
            done = f" ({self.resumed_from / p.total_bytes:.0%})" if p is not None and p.total_bytes else ""
            parts.append(Text(f"Resumed at {format_bytes_decimal(self.resumed_from)}{done}: the bytes from "
                              "the last try were kept.", style="cyan"))
        if p is not None:
            parts.extend(layer_line(layer) for layer in p.layers)
        if self.outcome is None:
            parts.append(Text("x cancels; pulling again later resumes.", style="dim"))
        else:
            style = "bold green" if self.outcome == "done" else "bold red"
            parts.append(Text(self.outcome_text, style=style))
        return Group(*parts)
