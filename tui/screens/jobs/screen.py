"""The jobs screen: Hugging Face -> GGUF -> quantized -> Ollama, one job at a time, the rest queued.

Each job is a `core.pipeline.job.Job` read by a worker; every event comes back
as a `JobEventArrived` message (progress replaces progress, so a slow SSH
link shows the newest percent instead of replaying old ones), is folded into
that job's `JobState`, and the highlighted job's widgets are updated in
place. Jobs keep running while the user looks at another job or another
screen; the app tells them when one ends.

Cancel (`x`) asks the job to stop: core kills the tool's process group and
removes its `.part` file, and the screen shows "cancelled" with core's
sentence about what was kept. Retry (`r`) queues a failed or cancelled job
again as a new `Job` with the same spec; core checks the finished stages'
files and skips those that validate.
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, DataTable

from core.config import Settings
from core.pipeline.gguf_download import job_for
from core.pipeline.job import Job
from core.pipeline.job_state import (
    CANCELLED,
    CANCELLING,
    ENDED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    WAITING,
    JobState,
    StageState,
    expected_stages,
)
from core.pipeline.types import (
    JobEvent,
    JobFinished,
    JobPlanned,
    JobSpec,
    LogLine,
    PreflightReported,
    StageFailed,
    StageProgress,
    StageStarted,
)
from tui.screens.jobs.new_job import NewJobDialog, Prefill
from tui.services import Services
from tui.widgets.jobs.box import JobBox
from tui.widgets.jobs.log import JobLog
from tui.widgets.jobs.queue import JobQueue
from tui.widgets.jobs.report import JobReport
from tui.widgets.key_bar import KeyBar
from tui.widgets.live_text import LiveText
from tui.widgets.title_bar import TitleBar

EMPTY = ("No jobs yet. Press n to convert a Hugging Face model (a repo id, a checkpoint folder or a "
         ".gguf file) into a quantized GGUF and import it into Ollama.\n\nThe planner's \"quantize to "
         "this row\" and the model browser open this form too.")
JOB = Binding.Group("Job", compact=True)

TOAST_S = 3  # a job's end, in one line

class JobEventArrived(Message):
    """One event of job `key`. A newer progress reading of the same stage replaces a queued one."""

    def __init__(self, key: int, event: JobEvent) -> None:
        super().__init__()
        self.key = key
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return (isinstance(message, JobEventArrived) and message.key == self.key
                and isinstance(self.event, StageProgress) and isinstance(message.event, StageProgress)
                and message.event.stage == self.event.stage)


class JobsScreen(Screen[None]):
    # Parsed when this screen first opens, not at start-up (it applies app-wide from then on).
    CSS_PATH = "../../styles/jobs.tcss"
    AUTO_FOCUS = "#jobs-queue"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-normal")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-medium")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_job", "New job", group=JOB,
                tooltip="Source, quant, Ollama name; it starts when it is its turn"),
        Binding("x", "cancel_job", "Cancel", group=JOB,
                tooltip="Stops the running tool, removes its partial file; a waiting job just leaves"),
        Binding("r", "retry_job", "Retry", group=JOB,
                tooltip="Runs a failed or cancelled job again; finished stages that check out are skipped"),
        Binding("d,delete", "remove_job", "Remove", group=JOB, key_display="d", show=False,
                tooltip="Takes an ended job off the list (its files stay)"),
        Binding("v", "toggle_view", "Log / report", tooltip="The live log, or the checks and the failure"),
    ]

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.title = "Jobs"
        self.jobs: dict[int, JobState] = {}
        self.running: Job | None = None
        self.running_key: int | None = None
        self._next_key = 1
        self._clock: Timer | None = None
        self._shown_key: int | None = None
        self._pending_prefill: Prefill | None = None
        self._pending_specs: list[JobSpec] = []  # hand-offs (Discover's downloads) before the screen is up

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="jobs-box"):
            yield JobQueue(id="jobs-queue")
        yield LiveText(EMPTY, id="jobs-empty")
        yield JobBox(id="job-box")
        with ContentSwitcher(initial="job-log", id="job-lower"):
            yield JobLog(id="job-log")
            with VerticalScroll(id="job-report-box"):  # focusable: the keys scroll a long report
                yield JobReport(id="job-report")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#jobs-box").border_title = "Queue"
        self.query_one("#job-lower").border_title = "Log"
        self._clock = self.set_interval(1.0, self._tick, name="jobs-clock", pause=True)
        self._show_selected()
        if self._pending_prefill is not None:
            prefill, self._pending_prefill = self._pending_prefill, None
            self.open_form(prefill)
        for spec in self._pending_specs:
            self.add_job(spec)
        self._pending_specs.clear()

    @property
    def queue(self) -> JobQueue:
        return self.query_one("#jobs-queue", JobQueue)

    @property
    def log_view(self) -> JobLog:
        return self.query_one("#job-log", JobLog)

    @property
    def selected(self) -> JobState | None:
        key = self.queue.highlighted_key if self.jobs else None
        return self.jobs.get(key) if key is not None else None

    # ------------------------------------------------------------------ adding jobs

    def new_job(self, prefill: Prefill | None = None) -> None:
        """The hand-off's entry: the form, filled in; before the screen is up, as soon as it is."""
        if not self.is_mounted:
            self._pending_prefill = prefill or Prefill()
            return
        self.open_form(prefill)

    def queue_job(self, spec: JobSpec) -> None:
        """A hand-off's job, queued as it is (no form); before the screen is up, as soon as it is."""
        if self.is_mounted:
            self.add_job(spec)
        else:
            self._pending_specs.append(spec)

    def open_form(self, prefill: Prefill | None = None) -> None:
        def queued(spec: JobSpec | None) -> None:
            if spec is not None:
                self.add_job(spec)

        self.app.push_screen(NewJobDialog(self.settings, self.services, prefill), queued)

    def add_job(self, spec: JobSpec) -> JobState:
        """Queue `spec`; it starts at once when nothing else runs."""
        name, stages = expected_stages(spec, self.settings)
        job = JobState(self._next_key, spec, [StageState(s) for s in stages], source_name=name)
        self._next_key += 1
        self.jobs[job.key] = job
        self.queue.add_job(job)
        self.queue.highlight(job.key)
        self._start_next()
        self._show_selected()
        return job

    # ------------------------------------------------------------------ running

    def _start_next(self) -> None:
        if self.running is not None:
            return
        waiting = next((j for j in self.jobs.values() if j.status == WAITING), None)
        if waiting is None:
            if self._clock is not None:
                self._clock.pause()
            return
        self.running = job_for(waiting.spec, self.settings)
        self.running_key = waiting.key
        waiting.start()
        self.queue.show_job(waiting)
        self.run_job(waiting.key, self.running)
        if self._clock is not None:
            self._clock.resume()
        if waiting is self.selected:
            self._show_header(waiting, time.monotonic())
            self._show_outcome(waiting)
        self.refresh_bindings()

    @work(group="jobs", exit_on_error=False)
    async def run_job(self, key: int, job: Job) -> None:
        """Read the job's events until JobFinished; leaving early (quit, screen gone) cancels it."""
        try:
            async for event in job.events():
                self.post_message(JobEventArrived(key, event))
        except Exception as exc:  # a bug in the pipeline still ends the job on screen, with a sentence
            sentence = (f"llamadeck hit an unexpected error running this job: {type(exc).__name__}: {exc}. "
                        "Please report it.")
            state = self.jobs.get(key)
            running = state.running_stage if state is not None else None
            stage = running.name if running is not None else "preflight"
            self.post_message(JobEventArrived(key, StageFailed(stage, sentence)))
            self.post_message(JobEventArrived(key, JobFinished(FAILED, 0.0, sentence)))

    @on(JobEventArrived)
    def job_event(self, message: JobEventArrived) -> None:
        job = self.jobs.get(message.key)
        if job is None:
            return
        event = message.event
        now = time.monotonic()
        job.apply(event, now)
        self.queue.show_job(job, now)
        if job is self.selected:
            self._show_event(job, event, now)
        if isinstance(event, JobFinished):
            self._job_ended(job, event)

    def _job_ended(self, job: JobState, event: JobFinished) -> None:
        if self.running_key == job.key:
            self.running, self.running_key = None, None
        severity: SeverityLevel = "information" if event.status == SUCCEEDED else (
            "warning" if event.status == CANCELLED else "error")
        # One short line for a moment: the message itself is in the log and the report, which a big
        # toast covered for 8 s (#14).
        self.notify(f"Job #{job.key} {job.name} {event.status}", severity=severity, markup=False,
                    timeout=TOAST_S)
        self._start_next()
        self.refresh_bindings()

    # ------------------------------------------------------------------ showing

    def _show_event(self, job: JobState, event: JobEvent, now: float) -> None:
        if isinstance(event, StageProgress):
            self.job_box.show_stages(job, now)
            return
        if isinstance(event, LogLine):
            self.log_view.add_line(event.text)
            return
        if isinstance(event, StageStarted):
            self.log_view.add_line(job.log[-1])
        self.job_box.show_stages(job, now)
        self._show_header(job, now)
        if isinstance(event, (PreflightReported, StageFailed, JobFinished, JobPlanned)):
            self.query_one(JobReport).show_job(job)
        self._show_outcome(job)
        if isinstance(event, JobFinished):
            if event.status != SUCCEEDED:
                self.log_view.add_line(event.message)
            if event.status == FAILED:
                self._switch_lower("report")
        elif isinstance(event, PreflightReported) and not event.ok:
            self._switch_lower("report")

    def _show_selected(self) -> None:
        """Everything about the highlighted job, from its state: after a move, a retry, a removal."""
        job = self.selected
        self.set_class(not self.jobs, "-empty")
        now = time.monotonic()
        log = self.log_view
        if job is None:
            self._shown_key = None
            log.clear()
            return
        if self._shown_key != job.key:
            self._shown_key = job.key
            log.show_lines(job.log)
            self._switch_lower("report" if job.status == FAILED else "log")
        self.job_box.show_stages(job, now)
        self.query_one(JobReport).show_job(job)
        self._show_header(job, now)
        self._show_outcome(job)

    @property
    def job_box(self) -> JobBox:
        return self.query_one("#job-box", JobBox)

    def _show_header(self, job: JobState, now: float) -> None:
        ahead = None  # the first job still ahead of a waiting one
        if job.status == WAITING:
            ahead = next((j.key for j in self.jobs.values()
                          if j.status in (WAITING, RUNNING, CANCELLING) and j.key < job.key), None)
        self.job_box.show_header(job, now, ahead)

    def _show_outcome(self, job: JobState) -> None:
        self.job_box.show_outcome(job)

    def _switch_lower(self, pane: str) -> None:
        lower = self.query_one("#job-lower", ContentSwitcher)
        lower.current = "job-report-box" if pane == "report" else "job-log"
        lower.border_title = "Report: checks, failure, outputs" if pane == "report" else "Log"

    def _tick(self) -> None:
        """Once a second while a job runs: the clocks move even when the tool is quiet."""
        job = self.jobs.get(self.running_key) if self.running_key is not None else None
        if job is None:
            return
        now = time.monotonic()
        self.queue.show_job(job, now)
        if job is self.selected:
            self.job_box.show_stages(job, now)
            self._show_header(job, now)

    @on(DataTable.RowHighlighted, "#jobs-queue")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()
        self.refresh_bindings()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        job = self.selected
        if action == "cancel_job":
            return job is not None and job.status in (WAITING, RUNNING)
        if action == "retry_job":
            return job is not None and job.status in (FAILED, CANCELLED)
        if action == "remove_job":
            return job is not None and job.status in ENDED
        return True

    def action_new_job(self) -> None:
        self.open_form()

    def action_cancel_job(self) -> None:
        job = self.selected
        if job is None:
            return
        if job.status == WAITING:
            job.cancel_waiting()
            self.queue.show_job(job)
            self._show_selected()
            self.log_view.add_line(job.log[-1])
        elif job.status == RUNNING and job.key == self.running_key and self.running is not None:
            self.running.cancel()
            job.status = CANCELLING
            self.queue.show_job(job)
            self._show_header(job, time.monotonic())
            self._show_outcome(job)
        self.refresh_bindings()

    def action_retry_job(self) -> None:
        job = self.selected
        if job is None or job.status not in (FAILED, CANCELLED):
            return
        job.retry(expected_stages(job.spec, self.settings)[1])
        self.log_view.add_line(job.log[-1])
        self.queue.show_job(job)
        self._switch_lower("log")
        self._start_next()
        self._show_selected()
        self.refresh_bindings()

    def action_remove_job(self) -> None:
        job = self.selected
        if job is None or job.status not in ENDED:
            return
        del self.jobs[job.key]
        self.queue.remove_job(job.key)
        self._shown_key = None
        self._show_selected()
        self.refresh_bindings()

    def action_toggle_view(self) -> None:
        lower = self.query_one("#job-lower", ContentSwitcher)
        self._switch_lower("log" if lower.current == "job-report-box" else "report")

