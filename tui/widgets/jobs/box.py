"""The highlighted job on the jobs screen: its title and clock on the border, its stages, one outcome line.

The border's sub-title says where the job stands (waiting for which job,
running for how long and the stage's ETA, or how it ended), and the box
carries the job's state as a class (`-waiting`, `-running`, `-failed`...)
for jobs.tcss to colour. The outcome line is the one sentence under the
stages; the report below the box has the whole story.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from core.pipeline.job_state import CANCELLING, ENDED, FAILED, RUNNING, WAITING, JobState
from core.pipeline.types import StageFailed
from core.units import format_clock
from tui.widgets.jobs.stages import JobStages
from tui.widgets.live_text import LiveText


def failed_outcome(failure: StageFailed) -> str:
    """One line for the job box; the report below has the whole story."""
    if failure.stage == "preflight" and failure.tail:
        n = len(failure.tail)
        plural = "s" if n > 1 else ""
        return f"The pre-flight found {n} problem{plural}; nothing heavy was run. Details below."
    why = " and a diagnosis" if failure.diagnosis else ""
    tail = ", the tool's last lines" if failure.tail else ""
    return f"{failure.stage} failed: details{tail}{why} below. r retries."


def job_subtitle(job: JobState, now: float, ahead: int | None) -> str:
    """Where `job` stands, for the box's border; `ahead` is the job it waits for, if any."""
    elapsed = job.elapsed(now)
    clock = f" {format_clock(elapsed)}" if elapsed is not None else ""
    if job.status == WAITING:
        sub = f"waiting for #{ahead}" if ahead is not None else "waiting"
    elif job.status in (RUNNING, CANCELLING):
        sub = f"{job.status}{clock}"
        running = job.running_stage
        if running is not None and running.progress is not None and running.progress.eta is not None:
            sub += f" · {running.name} ETA {format_clock(running.progress.eta)}"
    else:
        sub = f"{job.status} in{clock}" if clock else job.status
    if job.attempt > 1:
        sub += f" · attempt {job.attempt}"
    return sub


class JobBox(Vertical):
    """The stages and the outcome of one job; the screen says which job and when to draw."""

    def compose(self) -> ComposeResult:
        yield JobStages(id="job-stages")
        yield LiveText("", id="job-outcome")

    def show_stages(self, job: JobState, now: float) -> None:
        self.query_one(JobStages).show_stages(job.stages, now)

    def show_header(self, job: JobState, now: float, ahead: int | None) -> None:
        self.border_title = job.title
        self.border_subtitle = job_subtitle(job, now, ahead)
        for status in (WAITING, RUNNING, CANCELLING, *ENDED):
            self.set_class(job.status == status, f"-{status}")

    def show_outcome(self, job: JobState) -> None:
        outcome = self.query_one("#job-outcome", LiveText)
        if job.status == FAILED and job.failure is not None:
            outcome.show(failed_outcome(job.failure))
        elif job.finished is not None:
            outcome.show(job.finished.message)
        elif job.status == WAITING:
            outcome.show("Waiting: one job runs at a time, in the order they were added.")
        elif job.status == CANCELLING:
            outcome.show("Cancelling: stopping the running tool and removing its partial output…")
        else:
            outcome.show("")
        outcome.set_class(not outcome.text, "-blank")
