"""What the jobs screen knows about one job: its events folded into a record the widgets draw.

`core.pipeline.job.Job.events()` is a stream; a screen needs state it can redraw
at any moment (a job that is not highlighted still runs, and when the user
moves back to it the stages, the checks and the log tail must all be there).
`JobState.apply` folds each event into that state, and nothing else here
draws: the record is plain data, so the folding is tested without
a terminal.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from core.config import Settings
from core.errors import LlamadeckError
from core.pipeline.plan import make_plan
from core.pipeline.sources import resolve_source
from core.pipeline.types import (
    DiskNeed,
    JobEvent,
    JobFinished,
    JobPlanned,
    JobSpec,
    LogLine,
    PreflightCheck,
    PreflightReported,
    StageFailed,
    StageFinished,
    StageProgress,
    StageSkipped,
    StageStarted,
)
from core.units import format_bytes_tenths

LOG_LINES = 2000  # per job: enough to scroll back through a converter's tensor list
# Queue states. A job waits, runs, then ends in one of core's JOB_STATUSES.
WAITING, RUNNING, CANCELLING = "waiting", "running", "cancelling"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
ENDED = (SUCCEEDED, FAILED, CANCELLED)
# Stage states. "not run" is a stage the job never reached because an earlier one failed or was cancelled.
PENDING, DONE, SKIPPED, NOT_RUN = "pending", "done", "skipped", "not run"
DEFAULT_STAGES = ("preflight", "convert", "quantize", "import")
DOWNLOAD_STAGES = ("preflight", "download")  # a download-only job (core.pipeline.gguf_download)


@dataclass
class StageState:
    name: str
    status: str = PENDING
    detail: str = ""  # the output, the skip reason or the failure sentence
    elapsed: float | None = None
    started_at: float | None = None  # monotonic, while it runs
    progress: StageProgress | None = None

    def running_for(self, now: float) -> float | None:
        if self.elapsed is not None:
            return self.elapsed
        return None if self.started_at is None else now - self.started_at


@dataclass
class JobState:
    """One row of the queue. `key` is its place in the queue, shown to the user as `#key`."""

    key: int
    spec: JobSpec
    stages: list[StageState] = field(default_factory=list)
    source_name: str | None = None  # the model's name as core names the source, before the job says it
    status: str = WAITING
    planned: JobPlanned | None = None
    checks: tuple[PreflightCheck, ...] = ()
    disk: tuple[DiskNeed, ...] = ()
    failure: StageFailed | None = None
    finished: JobFinished | None = None
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    attempt: int = 1
    started_at: float | None = None  # monotonic, of this attempt
    ended_at: float | None = None

    # ------------------------------------------------------------------ naming

    @property
    def name(self) -> str:
        """The model's short name: what the output files and the Ollama model are named after."""
        if self.planned is not None:
            return self.planned.source.name
        if self.source_name:
            return self.source_name
        source = self.spec.source.rstrip("/")
        return source.rsplit("/", 1)[-1] or source

    @property
    def target(self) -> str:
        quant = self.planned.quant if self.planned is not None else self.spec.quant
        return quant or "as converted"

    @property
    def title(self) -> str:
        return f"#{self.key} {self.name} → {self.target}"

    @property
    def running_stage(self) -> StageState | None:
        return next((s for s in self.stages if s.status == RUNNING), None)

    def stage(self, name: str) -> StageState:
        for s in self.stages:
            if s.name == name:
                return s
        added = StageState(name)  # a stage the plan did not announce: still shown, never lost
        self.stages.append(added)
        return added

    def elapsed(self, now: float | None = None) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else (now if now is not None else time.monotonic())
        return end - self.started_at

    # ------------------------------------------------------------------ life cycle

    def start(self, now: float | None = None) -> None:
        self.status = RUNNING
        self.started_at = time.monotonic() if now is None else now
        self.ended_at = None

    def retry(self, stages: tuple[str, ...]) -> None:
        """Back to the queue for another attempt; the log keeps the last one's lines above a rule."""
        self.attempt += 1
        self.status = WAITING
        self.stages = [StageState(s) for s in stages]
        self.planned = None
        self.checks, self.disk = (), ()
        self.failure = None
        self.finished = None
        self.started_at = self.ended_at = None
        self.log.append(f"── attempt {self.attempt} ──")

    def cancel_waiting(self) -> None:
        """Cancelled before it ran: nothing to stop and nothing written."""
        self.status = CANCELLED
        for s in self.stages:
            s.status = NOT_RUN
        self.finished = JobFinished(CANCELLED, 0.0, "Cancelled before it started; nothing was run.")
        self.log.append(self.finished.message)

    # ------------------------------------------------------------------ events

    def apply(self, event: JobEvent, now: float | None = None) -> None:
        """Fold one event in. Progress replaces progress; everything else is kept."""
        now = time.monotonic() if now is None else now
        if isinstance(event, StageProgress):
            self.stage(event.stage).progress = event
        elif isinstance(event, LogLine):
            self.log.append(event.text)
        elif isinstance(event, StageStarted):
            stage = self.stage(event.stage)
            stage.status, stage.started_at, stage.elapsed, stage.progress = RUNNING, now, None, None
            stage.detail = ""
            self.log.append(f"── {event.description} ──")
        elif isinstance(event, StageFinished):
            stage = self.stage(event.stage)
            stage.status, stage.elapsed = DONE, event.elapsed
            stage.detail = _finished_detail(event)
            if event.stage == "preflight":
                stage.detail = " · ".join([stage.detail, *self._preflight_notes()])
        elif isinstance(event, StageSkipped):
            stage = self.stage(event.stage)
            stage.status, stage.detail = SKIPPED, event.reason
            stage.elapsed = stage.running_for(now)
        elif isinstance(event, StageFailed):
            stage = self.stage(event.stage)
            stage.status, stage.detail = FAILED, event.message
            stage.elapsed = stage.running_for(now)
            self.failure = event
        elif isinstance(event, PreflightReported):
            self.checks, self.disk = event.checks, event.disk
        elif isinstance(event, JobPlanned):
            self.planned = event
            self.stages = [StageState(s) for s in event.stages]
        elif isinstance(event, JobFinished):
            self._finish(event, now)

    def _preflight_notes(self) -> list[str]:
        """What a passed pre-flight still has to say on its one line: warnings, and the disk it needs."""
        notes = []
        warned = sum(1 for c in self.checks if c.status == "warn")
        if warned:
            notes.append(f"{warned} warning{'s' if warned > 1 else ''} (v)")
        for need in self.disk:  # the sizes before the path: a long path is what gets cut off
            have = f", have {format_bytes_tenths(need.free)}" if need.free is not None else ""
            notes.append(f"need {format_bytes_tenths(need.need)}{have} on {need.path}")
        return notes

    def _finish(self, event: JobFinished, now: float) -> None:
        self.finished = event
        self.status = event.status
        self.ended_at = now
        for s in self.stages:
            if s.status == RUNNING:
                s.status = CANCELLED if event.status == CANCELLED else FAILED
                s.elapsed = s.running_for(now)
            elif s.status == PENDING and event.status != SUCCEEDED:
                s.status = NOT_RUN
        if event.status != SUCCEEDED:
            self.log.append(event.message)


def _finished_detail(event: StageFinished) -> str:
    """A file's name and size, a model's name: the full paths are in the log and the final message."""
    parts = []
    if event.output:
        parts.append(event.output.rsplit("/", 1)[-1])
    if event.detail:
        parts.append(event.detail)
    return " · ".join(parts)


def expected_stages(spec: JobSpec, settings: Settings) -> tuple[str | None, tuple[str, ...]]:
    """The model's name and the stages a job will run, worked out before it runs (a few stat calls).

    A waiting job shows these stages as pending; the job's own JobPlanned
    replaces them when it starts (a GGUF that already is the asked-for type
    loses its quantize stage then: its header is not read here, on the UI
    thread). A source that cannot be resolved yet still queues: the job fails
    its pre-flight with the sentence that says why.
    """
    try:
        source = resolve_source(spec.source, revision=spec.revision)
        if spec.download_only:
            return source.name, DOWNLOAD_STAGES
        return source.name, make_plan(spec, settings, source).stages
    except LlamadeckError:
        return None, DEFAULT_STAGES
