"""The selected quantization in full: where it runs and why, memory per device, the commands, notices.

The sentences, the breakdown and both commands come from core.planner.report,
exactly what `llamadeck plan --quant Q` prints. The pane also stands in for
the whole plan when there is none yet or a lookup failed: `show_message`
puts the sentence here (`-error` colours it), and the screen keeps working.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.planner.choice import LadderStep, context_ladder
from core.planner.report import (
    VERDICTS,
    breakdown,
    device_label,
    explain,
    ladder_rows,
    llama_server_command,
    llama_server_shorthand,
    ollama_lines,
    quality,
)
from core.planner.rpc import rpc_commands, rpc_endpoints, rpc_summary
from core.planner.source import PlannedModel
from core.planner.types import Plan, QuantRow
from core.units import format_bytes
from tui.widgets.planner.table import VERDICT_STYLES

HEADINGS = ("weights", "KV", "compute", "output", "overhead", "total", "of")


def _heading(title: str) -> Text:
    return Text(title, style="bold underline")


def memory_table(row: QuantRow) -> Table:
    """Per device, what llama.cpp allocates; `of` is what the device can hold (less llama.cpp's margin)."""
    table = Table(box=None, padding=(0, 1), collapse_padding=True, show_edge=False, header_style="bold")
    table.add_column("Memory", no_wrap=True)
    for h in HEADINGS:
        table.add_column(h, justify="right", no_wrap=True)
    n_gpus = sum(1 for d in row.memory.devices if d.is_gpu)
    for device, (_, *values) in zip(row.memory.devices, breakdown(row.memory), strict=True):
        over = values[-2] > values[-1]  # total > what the device can hold
        cells = [Text(format_bytes(v), style="bold red" if over and i == len(values) - 2 else "")
                 for i, v in enumerate(values)]
        table.add_row(Text(device_label(device, n_gpus)), *cells)
    return table


def ladder_table(steps: list[LadderStep] | None) -> RenderableType:
    """How the row runs as the context grows (None while it is being worked out)."""
    if steps is None:
        return Text("working out longer and shorter contexts...", style="dim")
    titles, rows = ladder_rows(steps, format_bytes)
    table = Table(box=None, padding=(0, 1), collapse_padding=True, show_edge=False, header_style="bold")
    for i, title in enumerate(titles):
        table.add_column(title, justify="left" if i < 2 else "right", no_wrap=True)
    for cells in rows:
        table.add_row(*cells)
    return table


def detail_renderable(plan: Plan, row: QuantRow, model: PlannedModel,
                      ladder: list[LadderStep] | None = None) -> RenderableType:
    head = Text()
    head.append(row.quant, style="bold")
    head.append("  ")
    head.append(VERDICTS[row.placement], style=VERDICT_STYLES[row.placement])
    head.append(f"  ·  file {format_bytes(row.file_size)}  ·  {row.bits_per_weight:.2f} bits/weight  ·  ")
    head.append(f"quality {quality(row)} ppl ({row.quality})" if row.ppl_delta is not None else row.quality)
    if model.kind in ("gguf", "ollama") and (model.facts.file_type or "").upper() == row.quant:
        head.append(f"  ·  this is how {model.label} is stored", style="italic")
    parts: list[RenderableType] = [head, Text("\n".join(explain(plan, row, format_bytes)))]
    parts += [Text(""), memory_table(row)]
    command = llama_server_command(plan, row, model)
    if command is not None:
        parts += [Text(""), _heading("llama-server"), Text(command, style="bold")]
        shorthand = llama_server_shorthand(plan, row, model)
        if shorthand:
            parts += [Text("or, with the first layers' experts in RAM (about the same memory):", style="dim"),
                      Text(shorthand)]
        remote = rpc_endpoints(plan.inputs.machine)
        if remote:
            parts += [Text("with the RPC servers:", style="dim"),
                      Text("\n".join([*rpc_summary(plan, row), *rpc_commands(remote, command)]))]
        lines = ollama_lines(plan, row, model) or []
        runtime = plan.inputs.settings.runtime
        note = " (placement left to llama.cpp's fit)" if runtime == "ollama" else \
            f" (memory planned for {runtime}; r plans for Ollama's defaults)"
        parts += [Text(""), _heading("Ollama") + Text(note, style="dim"),
                  Text("server:    ", style="dim") + Text(lines[0] if lines else "")]
        parts += [Text("Modelfile: " if i == 0 else "           ", style="dim") + Text(line)
                  for i, line in enumerate(lines[1:])]
    if row.placement != "none":
        parts += [Text(""), _heading("As the context grows"), ladder_table(ladder)]
    notices = (*row.notices, *plan.notices)
    if notices:
        parts += [Text(""), _heading("Notices"), Text("\n".join(f"! {n}" for n in notices))]
    return Group(*parts)


class PlanDetail(VerticalScroll):
    """Scrollable: focus it (Enter on a row) and use the arrow keys."""

    ALLOW_MAXIMIZE = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.row: QuantRow | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="plan-detail-body", markup=False)

    def show_row(self, plan: Plan, row: QuantRow, model: PlannedModel) -> None:
        same = self.row is not None and self.row.quant == row.quant
        self.row = row
        self.border_title = Text(f"{row.quant} on {plan.inputs.machine.name or 'this machine'}")
        self.remove_class("-message", "-error")
        self.query_one("#plan-detail-body", Static).update(detail_renderable(plan, row, model))
        if not same:
            self.scroll_home(animate=False)
        if row.placement != "none":
            self.work_out_ladder(plan, row, model)

    @work(thread=True, exclusive=True, group="ladder")
    def work_out_ladder(self, plan: Plan, row: QuantRow, model: PlannedModel) -> None:
        """One plan per context (up to ~0.3 s for a 70B): in a thread, shown if the row is still this one."""
        try:
            steps = context_ladder(model.facts, plan, row.quant)
        except Exception as exc:  # a planner bug must not end the pane; it says so in place
            self.app.call_from_thread(self.notify, f"Working out other contexts failed "
                                      f"({type(exc).__name__}: {exc}).", severity="error")
            return
        self.app.call_from_thread(self._show_ladder, plan, row, model, steps)

    def _show_ladder(self, plan: Plan, row: QuantRow, model: PlannedModel, steps: list[LadderStep]) -> None:
        if self.row is row:
            self.query_one("#plan-detail-body", Static).update(detail_renderable(plan, row, model, steps))

    def show_message(self, text: str, *, title: str = "Details", error: bool = False) -> None:
        self.row = None
        self.border_title = Text(title)
        self.add_class("-message")
        self.set_class(error, "-error")
        self.query_one("#plan-detail-body", Static).update(Text(text))
        self.scroll_home(animate=False)

