"""The queue: every job of this session, in the order it runs, with where it is.

One row per job; the running one shows its stage and percent, which
changes a few times a second at most (the cell is rewritten only when the
whole percent moves). Highlighting a row shows that job below.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from core.pipeline.job_state import CANCELLED, CANCELLING, FAILED, RUNNING, SUCCEEDED, WAITING, JobState
from core.units import format_clock

STATE_STYLES = {WAITING: "dim", RUNNING: "bold", CANCELLING: "yellow", SUCCEEDED: "green", FAILED: "bold red",
                CANCELLED: "yellow"}
STATE_MARKS = {WAITING: "○", RUNNING: "▶", CANCELLING: "■", SUCCEEDED: "✓", FAILED: "✗", CANCELLED: "■"}


def state_text(job: JobState, now: float | None = None) -> Text:
    """`▶ quantize 45%`, `○ waiting`, `✓ succeeded 0:15`."""
    mark = STATE_MARKS.get(job.status, "?")
    words = job.status
    if job.status == RUNNING:
        stage = job.running_stage
        if stage is not None:
            words = stage.name
            fraction = stage.progress.fraction if stage.progress is not None else None
            if fraction is not None:
                words += f" {fraction * 100:.0f}%"
    elif job.status in (SUCCEEDED, FAILED, CANCELLED):
        elapsed = job.elapsed(now)
        if elapsed is not None:
            words += f" {format_clock(elapsed)}"
    return Text(f"{mark} {words}", style=STATE_STYLES.get(job.status, ""))


def job_text(job: JobState) -> str:
    return f"{job.name} → {job.target}"


class JobQueue(DataTable[str | Text]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", show_header=False, zebra_stripes=False)
        self._shown: dict[int, tuple[str, str]] = {}  # key -> (job cell, state cell) as last written

    def on_mount(self) -> None:
        self.add_column("#", key="key", width=3)
        self.add_column("job", key="job")
        self.add_column("state", key="state", width=16)

    def add_job(self, job: JobState) -> None:
        state = state_text(job)
        self.add_row(f"#{job.key}", job_text(job), state, key=str(job.key))
        self._shown[job.key] = (job_text(job), state.plain)

    def show_job(self, job: JobState, now: float | None = None) -> None:
        """Rewrite the cells whose text changed."""
        if job.key not in self._shown:
            return
        shown_job, shown_state = self._shown[job.key]
        name = job_text(job)
        state = state_text(job, now if now is not None else time.monotonic())
        if name != shown_job:
            self.update_cell(str(job.key), "job", name)
        if state.plain != shown_state:
            self.update_cell(str(job.key), "state", state)
        self._shown[job.key] = (name, state.plain)

    def remove_job(self, key: int) -> None:
        if key in self._shown:
            del self._shown[key]
            self.remove_row(str(key))

    @property
    def highlighted_key(self) -> int | None:
        if self.row_count == 0 or self.cursor_row < 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        return int(row_key.value) if row_key.value is not None else None

    def highlight(self, key: int) -> None:
        if key in self._shown:
            self.move_cursor(row=self.get_row_index(str(key)))
