"""The stages of the highlighted job, one line each, and the running stage's progress bar.

Every line says its state in a word as well as a mark and a colour (from
the `-done`, `-failed`, ... classes in jobs.tcss), so it reads the same
with NO_COLOR, in a monochrome tmux, or to a screen reader. The lines are
built once and updated in place: progress arrives ten times a second, and
only the bar line repaints for it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from core.pipeline.job_state import (
    CANCELLED,
    DONE,
    FAILED,
    NOT_RUN,
    PENDING,
    RUNNING,
    SKIPPED,
    StageState,
)
from core.pipeline.types import STAGE_NAMES, StageProgress
from core.units import format_bytes, format_clock, format_used_total
from tui.widgets.gauge import bar_cells
from tui.widgets.live_text import LiveText

MARKS = {PENDING: "○", RUNNING: "▶", DONE: "✓", SKIPPED: "↷", FAILED: "✗", CANCELLED: "■", NOT_RUN: "·"}
STATE_CLASSES = {s: "-" + s.replace(" ", "-") for s in MARKS}
BAR_WIDTH = 20


def stage_text(stage: StageState, now: float) -> str:
    """`✓ convert   done      0:04  tiny-llama-F16.gguf · 9.0 MiB`."""
    elapsed = stage.running_for(now)
    clock = format_clock(elapsed) if elapsed is not None else ""
    detail = stage.detail
    if stage.status == RUNNING and stage.progress is not None and stage.progress.detail:
        detail = stage.progress.detail
    return f"{MARKS.get(stage.status, '?')} {stage.name:<9} {stage.status:<9} {clock:>5}  {detail}".rstrip()


def progress_text(progress: StageProgress, width: int = BAR_WIDTH) -> Text:
    """`▕██████▍░░░░░▏  45%  3.1/7.0 MiB  5.2 MiB/s  ETA 0:01`: only what the tool measured."""
    filled, track = bar_cells(progress.fraction, width)
    text = Text()
    text.append("▕")
    text.append(filled, style="bold")
    text.append(track, style="dim")
    text.append("▏ ")
    text.append("  ?%" if progress.fraction is None else f"{progress.fraction * 100:3.0f}%")
    parts = []
    if progress.done_bytes is not None and progress.total_bytes:
        parts.append(format_used_total(progress.done_bytes, progress.total_bytes))
    if progress.speed:
        parts.append(f"{format_bytes(progress.speed)}/s")
    if progress.eta is not None:
        parts.append(f"ETA {format_clock(progress.eta)}")
    if parts:
        text.append("  " + "  ".join(parts))
    return text


class StageLine(LiveText):
    """One stage; its state is also its CSS class."""

    def show_stage(self, stage: StageState, now: float) -> None:
        wanted = STATE_CLASSES.get(stage.status, "-pending")
        if not self.has_class(wanted):
            self.remove_class(*STATE_CLASSES.values())
            self.add_class(wanted)
        self.show(stage_text(stage, now))


class JobStages(Vertical):
    """A line per stage (five at most: `STAGE_NAMES`), then the bar of the one running."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = [StageLine("", classes="job-stage") for _ in STAGE_NAMES]
        self.bar = LiveText("", id="job-progress")
        self._bar_key: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield from self.lines
        yield self.bar

    def show_stages(self, stages: list[StageState], now: float) -> None:
        for line, stage in zip(self.lines, stages, strict=False):
            line.display = True
            line.show_stage(stage, now)
        for line in self.lines[len(stages):]:
            line.display = False
        running = next((s for s in stages if s.status == RUNNING), None)
        self.show_progress(running.progress if running is not None else None, running is not None)

    def show_progress(self, progress: StageProgress | None, running: bool) -> None:
        """The bar of the running stage; a stage that has not measured anything yet shows an empty one."""
        self.set_class(running, "-running")
        if not running:
            return
        key = None if progress is None else (progress.stage, progress.fraction, progress.done_bytes,
                                             progress.speed, progress.eta)
        if key == self._bar_key and key is not None:
            return
        self._bar_key = key
        if progress is None:
            self.bar.update(Text("▕" + "░" * BAR_WIDTH + "▏ waiting for the tool's first progress line",
                                 style="dim"), layout=False)
        else:
            self.bar.update(progress_text(progress), layout=False)
