"""Ctrl+F on the chat screen: one prompt to several models, one after another, numbers side by side.

Each model gets the GPU to itself: it is unloaded first if it was loaded (so
every row includes its load), its VRAM is read from /api/ps while it is
still loaded after the reply, and it is unloaded again (`keep_alive: 0`)
before the next one starts. Beside the measured decode speed stands the
planner's prediction for this machine (core.planner.ollama_speed), so a model that runs
far below what its size allows (partly on CPU, a thermal limit) stands out.
Nothing here is saved to the chat history: these are measurements, not
conversations.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, SelectionList, Static, TextArea

from core.chat.backends import ChatBackend, request_messages
from core.chat.thinking import template_opens_thinking
from core.chat.types import (
    ChatMessage,
    ChatOptions,
    ChatStats,
    ContentDelta,
    StoredMessage,
    StreamDone,
    ThinkingDelta,
)
from core.config import HostConfig, Settings
from core.errors import LlamadeckError, OllamaUnreachable
from core.ollama.client import OllamaClient
from core.planner.ollama_speed import DEFAULT_OLLAMA_CTX, predicted_decode_tps
from core.units import format_bytes, format_ms, format_tps_plain
from tui.screens.chat.state import ChatState
from tui.services import Services
from tui.widgets.key_bar import KeyBar
from tui.widgets.marks import MarkedSelectionList
from tui.widgets.title_bar import TitleBar

# Rates carry their unit in the cell ("312 tok/s"); cells widen their column as they grow.
COLUMNS = ("Model", "TTFT", "Prompt", "Output", "Predicted", "VRAM", "Status")


@dataclass(frozen=True)
class CompareSetup:
    host: HostConfig
    models: list[str]
    chosen: list[str]
    prompt: str = ""
    system_prompt: str = ""
    options: ChatOptions = field(default_factory=ChatOptions)

    @classmethod
    def from_chat(cls, state: ChatState, models: list[str], prompt: str) -> CompareSetup:
        """The chat's host, model (checked), system prompt and options; `prompt` to send."""
        return cls(host=state.host, models=models, chosen=[state.model] if state.model else [], prompt=prompt,
                   system_prompt=state.system_prompt, options=state.options)


@dataclass
class CompareResult:
    """One model's row: filled in as its turn runs."""

    model: str
    status: str = "waiting"
    stats: ChatStats | None = None
    vram: int | None = None
    size: int | None = None  # what the loaded model took in all (/api/ps size), with `vram` of it on the GPU
    predicted: float | None = None
    predicted_note: str | None = None
    reply: str = ""
    thinking_chars: int = 0
    error: str | None = None

    def cells(self) -> tuple[str | Text, ...]:
        s = self.stats
        predicted = _rate(self.predicted) if self.predicted is not None else \
            "n/a" if self.status == "done" else "–"
        return (
            self.model,
            format_ms(s.ttft_s if s else None),
            _rate(s.prompt_tps if s else None),
            _rate(s.output_tps if s else None),
            predicted,
            self.vram_cell(),
            Text(f"✗ {self.status}", style="bold") if self.status == "failed" else self.status,
        )

    def vram_cell(self) -> str | Text:
        """The VRAM it took, flagged in words and bold when it ran on the CPU, in part or whole."""
        if self.vram is None:
            return "–"
        shown = format_bytes(self.vram)
        if self.vram <= 0:
            return Text(f"! {shown}: CPU only", style="bold reverse")
        if self.size and self.vram < self.size:
            return Text(f"! {shown}: {min(99, round(self.vram * 100 / self.size))}% on GPU", style="bold")
        return shown


def _rate(tps: float | None) -> str:
    return f"{format_tps_plain(tps)} tok/s" if tps else "–"


class CompareScreen(Screen[None]):
    """Pick models (space), write the prompt, Ctrl+R runs; Esc stops or goes back."""

    AUTO_FOCUS = "#compare-models"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", "Run", tooltip="Send the prompt to each checked model in turn"),
        Binding("escape", "back", "Stop/Back", tooltip="Stop the run, or go back to the chat"),
        Binding("f1", "app.help", "Keys", show=False),
    ]

    def __init__(self, settings: Settings, services: Services, setup: CompareSetup) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.setup = setup
        self.results: dict[str, CompareResult] = {}
        self.running = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Horizontal(id="compare-top"):
            models = list(dict.fromkeys([*self.setup.models, *self.setup.chosen]))
            picker = MarkedSelectionList[str](*((m, m, m in self.setup.chosen) for m in models),
                                              id="compare-models")
            picker.border_title = "Models (space checks)"
            yield picker
            prompt = TextArea(self.setup.prompt, id="compare-prompt", soft_wrap=True, compact=True)
            prompt.border_title = "Prompt"
            yield prompt
        table: DataTable[str] = DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Results"
        yield table
        with VerticalScroll(id="compare-preview"):
            yield Static("", id="compare-reply")
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = "Compare models"
        self.sub_title = self.setup.host.name
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.query_one("#compare-preview").border_title = "Reply"

    # -- running ----------------------------------------------------------------------

    def action_run(self) -> None:
        if self.running:
            return
        models = list(self.query_one(SelectionList).selected)
        prompt = self.query_one("#compare-prompt", TextArea).text.strip()
        if not models:
            self.notify("Check at least one model (space) first.", markup=False)
            return
        if not prompt:
            self.notify("Write the prompt to send first.", markup=False)
            return
        self.results = {m: CompareResult(m) for m in models}
        table = self.query_one(DataTable)
        table.clear()
        for model, result in self.results.items():
            table.add_row(*result.cells(), key=model)
        table.focus()
        self.compare(models, prompt)

    def _show(self, result: CompareResult) -> None:
        table = self.query_one(DataTable)
        for column, value in zip(table.columns, result.cells(), strict=True):
            table.update_cell(result.model, column, value, update_width=True)
        row = table.cursor_row
        if 0 <= row < len(self.results) and list(self.results)[row] == result.model:
            self._preview(result)

    def _preview(self, result: CompareResult) -> None:
        text = result.error or result.reply or ("(thinking…)" if result.thinking_chars else "")
        self.query_one("#compare-reply", Static).update(Content(text[-6000:]))
        self.query_one("#compare-preview").border_title = f"Reply · {result.model}"

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key in self.results:
            self._preview(self.results[key])

    @work(exclusive=True, group="compare")
    async def compare(self, models: list[str], prompt: str) -> None:
        try:
            backend = self.services.chat_backend(self.setup.host)
            client = self.services.ollama(self.setup.host)
        except LlamadeckError as err:  # an address that cannot be used (a bad port): said, not a crash
            self.notify(str(err), title="Compare stopped", severity="error", markup=False)
            return
        self.running = True
        self.set_class(True, "-running")
        messages = request_messages(self.setup.system_prompt, [_user(prompt)])
        try:
            for i, model in enumerate(models):
                result = self.results[model]
                try:
                    await self._one(client, backend, model, messages, result)
                except OllamaUnreachable as err:
                    result.status, result.error = "failed", str(err)
                    self._show(result)
                    for later in models[i + 1:]:
                        self.results[later].status = "not run"
                        self._show(self.results[later])
                    self.notify(str(err), title="Compare stopped", severity="error", markup=False)
                    return
                except LlamadeckError as err:
                    result.status, result.error = "failed", str(err)
                    self._show(result)
        finally:
            self.running = False
            self.set_class(False, "-running")
            await backend.aclose()
            await client.aclose()

    async def _one(self, client: OllamaClient, backend: ChatBackend, model: str, messages: list[ChatMessage],
                   result: CompareResult) -> None:
        result.status = "unloading"
        self._show(result)
        if any(r.name == model for r in await client.running()):
            await client.unload(model)
        show = await client.show(model)
        result.status = "streaming"
        self._show(result)
        parts: list[str] = []
        shown = asyncio.get_running_loop().time()
        try:
            stream = backend.stream(model, messages, self.setup.options,
                                    starts_in_thinking=template_opens_thinking(show.template))
            async for event in stream:
                if isinstance(event, ContentDelta):
                    parts.append(event.text)
                elif isinstance(event, ThinkingDelta):
                    result.thinking_chars += len(event.text)
                elif isinstance(event, StreamDone):
                    result.stats = event.stats
                now = asyncio.get_running_loop().time()
                if now - shown > 0.2:
                    shown = now
                    result.reply = "".join(parts)
                    self._show(result)
            result.reply = "".join(parts)
            loaded = [r for r in await client.running() if r.name == model]
            result.vram = loaded[0].size_vram if loaded else None
            result.size = loaded[0].size if loaded else None
            ctx = self.setup.options.num_ctx or (loaded[0].context_length if loaded else None) \
                or DEFAULT_OLLAMA_CTX
            result.predicted, result.predicted_note = await asyncio.to_thread(
                predicted_decode_tps, self.services.hardware, show, ctx)
            result.status = "done"
        except asyncio.CancelledError:
            result.status = "stopped"
            result.reply = "".join(parts)
            raise
        finally:
            self._show(result)
            try:
                await client.unload(model)
            except LlamadeckError as err:
                self.notify(str(err), title=f"Could not unload {model}", severity="warning", markup=False)

    def action_back(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "compare")
            return
        self.dismiss()


def _user(prompt: str) -> StoredMessage:
    return StoredMessage(id=0, session_id=0, role="user", content=prompt, thinking="", status="complete",
                         created_at=0.0, updated_at=0.0)
