"""A conversion job: source -> (download) -> convert -> quantize -> import, as a stream of events.

Usage, from a Textual worker or the CLI alike:

    job = Job(JobSpec("Qwen/Qwen2.5-7B-Instruct", quant="Q4_K_M"), settings)
    async for event in job.events():      # JobPlanned first, JobFinished last
        ...
    job.cancel()                          # from anywhere, any thread: ends with JobFinished("cancelled")

In a Textual screen, an async worker consumes it and wraps each event in a
message; StageProgress says `can_replace = True`, so its message should too:

    @work(group="jobs")
    async def run_job(self, job: Job) -> None:
        async for event in job.events():
            self.post_message(JobEventArrived(job.id, event))

Retry is a new `Job` with the same spec: a stage is skipped when its output's
record (`<file>.llamadeck.json`, see `core.pipeline.manifest`) says it was made
from this source, with these tools and settings, and the file is unchanged since.
The job runs in a task of its own that feeds a queue; `events()` reads the
queue. Cancelling — `job.cancel()`, or cancelling the task that iterates
`events()` (a Textual worker's cancel) — interrupts the running stage at its
next await: the tool's process group is killed, the stage's `.part` file is
removed, hashing and download threads stop at their next chunk. Finished
outputs stay, and a rerun of the same job checks and skips them;
files already downloaded stay in the Hugging Face cache (the one being
fetched when cancelled starts over, see `core.pipeline.hf_download`).

Failures never raise out of `events()`: a stage that fails yields a
StageFailed (the sentence, the tool's last lines, a diagnosis) and the
stream ends with JobFinished("failed").
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from core.config import Settings
from core.errors import LlamadeckError, PipelineError
from core.facts.gguf import facts_from_gguf
from core.facts.gguf_header import read_header
from core.facts.gguf_split import read_model_headers
from core.facts.types import ModelFacts
from core.ollama.chat_format import chat_format
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.pipeline import checks as job_checks
from core.pipeline import stages
from core.pipeline.disk import predicted_size
from core.pipeline.manifest import (
    manifest_path,
    problem,
    record_import,
    write_manifest,
)
from core.pipeline.ollama_checks import full_model_name
from core.pipeline.ollama_import import import_gguf
from core.pipeline.plan import JobPlan, OutputRecipes, make_plan, place_outputs, renamed_notes
from core.pipeline.progress import ProgressMeter
from core.pipeline.sources import local_facts, resolve_source
from core.pipeline.stages import StageError, ToolContext
from core.pipeline.tools import ToolPaths, find_tools
from core.pipeline.types import (
    HfFile,
    HfRepoListing,
    JobEvent,
    JobFinished,
    JobOutputs,
    JobPlanned,
    JobSpec,
    LogLine,
    PreflightReported,
    StageFailed,
    StageFinished,
    StageSkipped,
    StageStarted,
)
from core.units import format_bytes_tenths, plural

STAGE_TITLES = {
    "preflight": "Checking source, tools, disk space and Ollama",
    "download": "Downloading from the Hub",
    "convert": "Converting to GGUF",
    "quantize": "Quantizing", "import": "Importing into Ollama",
}


class SkipStage(Exception):  # a stage's work raises it when its output is there: reported skipped
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _State:
    """What the stages learn and hand on: the pre-flight and the download refine the first plan."""

    plan: JobPlan
    recipes: OutputRecipes
    facts: ModelFacts | None
    listing: HfRepoListing | None = None
    files: tuple[HfFile, ...] = ()


class Job:
    """One conversion job. Iterate `events()` once; `cancel()` is safe from any thread."""

    TITLES: ClassVar[dict[str, str]] = STAGE_TITLES  # what the log says as each stage starts

    def __init__(
        self,
        spec: JobSpec,
        settings: Settings,
        *,
        job_id: str | None = None,
        child_setup: Callable[[], None] | None = None,
        progress_interval: float = 0.1,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.id = job_id or uuid.uuid4().hex[:8]
        self.child_setup = child_setup  # test hook: runs in each tool's child before exec
        self.progress_interval = progress_interval
        self.outputs = JobOutputs()
        self.status: str | None = None
        self.tools: ToolPaths = find_tools(settings)
        self._cancel_requested = False
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stage = "preflight"
        self._tool_ctx: ToolContext | None = None
        self._created: set[Path] = set()  # files this job wrote where none was: the only ones it may delete

    # ------------------------------------------------------------------ public

    def cancel(self) -> None:
        """Stop the job: the running tool is killed and partial files removed."""
        self._cancel_requested = True
        if self._loop is not None and self._task is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)

    @property
    def running_pids(self) -> tuple[int, ...]:
        """Process ids of the tool running now (for tests and a "kill -9" escape hatch)."""
        return tuple(self._tool_ctx.pids) if self._tool_ctx is not None else ()

    @property
    def tool_seconds(self) -> tuple[tuple[str, float], ...]:
        """(tool, seconds) of every tool run so far: what the job's wall time owes to the tools."""
        return tuple(self._tool_ctx.runs) if self._tool_ctx is not None else ()

    async def events(self) -> AsyncIterator[JobEvent]:
        if self._task is not None:
            raise PipelineError("A job's events can be read only once; make a new Job to run it again.")
        queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._drive(queue.put_nowait), name=f"job-{self.id}")
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, JobFinished):
                    break
        finally:
            if not self._task.done():  # the reader went away: stop the work it no longer watches
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # ------------------------------------------------------------------ driver

    async def _drive(self, emit: Callable[[JobEvent], None]) -> None:
        started = time.monotonic()
        self._tool_ctx = ToolContext(emit, self.child_setup, None, self.progress_interval)
        try:
            if self._cancel_requested:
                raise asyncio.CancelledError
            message = await self._run(emit)
            self.status = "succeeded"
            emit(JobFinished("succeeded", time.monotonic() - started, message, self.outputs))
        except asyncio.CancelledError:
            if not self._cancel_requested:
                raise  # the reader cancelled us; cleanup already ran on the way out
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self.status = "cancelled"
            emit(LogLine(self._stage, "Cancelled: the running tool was stopped, its partial output removed."))
            emit(JobFinished("cancelled", time.monotonic() - started, self._cancel_message(), self.outputs))
        except StageError as exc:
            self._fail(emit, started, exc.message if exc.hint is None else str(exc), exc.tail, exc.diagnosis)
        except LlamadeckError as exc:
            self._fail(emit, started, str(exc), (), None)
        except Exception as exc:  # a bug must still end the stream with a sentence, not hang the reader
            self._fail(emit, started, f"llamadeck hit an unexpected error in the {self._stage} stage: "
                                      f"{type(exc).__name__}: {exc}. Please report it.", (), None)

    def _fail(self, emit: Callable[[JobEvent], None], started: float, message: str,
              tail: tuple[str, ...], diagnosis: str | None) -> None:
        self.status = "failed"
        emit(StageFailed(self._stage, message, tail, diagnosis))
        elapsed = time.monotonic() - started
        emit(JobFinished("failed", elapsed, f"{self._stage} failed: {message}", self.outputs))

    def _cancel_message(self) -> str:
        kept = [p for p in (self.outputs.converted, self.outputs.quantized) if p is not None and p.exists()]
        if kept:
            return (f"Cancelled during {self._stage}. Finished files are kept and a rerun skips them: "
                    f"{', '.join(str(p) for p in kept)}.")
        return f"Cancelled during {self._stage}; nothing partial was left behind."

    async def _stage_run(self, emit: Callable[[JobEvent], None], stage: str,
                         work: Callable[[], Awaitable[tuple[str | None, str]]]) -> None:
        self._stage = stage
        emit(StageStarted(stage, self.TITLES[stage]))
        started = time.monotonic()
        try:
            output, detail = await work()
        except SkipStage as skip:
            emit(StageSkipped(stage, skip.reason))
            return
        emit(StageFinished(stage, time.monotonic() - started, output, detail))

    # ------------------------------------------------------------------ the job

    async def _run(self, emit: Callable[[JobEvent], None]) -> str:
        state = await self._make_plan(emit)
        await self._stage_run(emit, "preflight", lambda: self._preflight(emit, state))
        if "download" in state.plan.stages:
            await self._stage_run(emit, "download", lambda: self._download(emit, state))
        plan = state.plan
        if "convert" in plan.stages:
            await self._stage_run(emit, "convert",
                                  lambda: self._convert(emit, plan, state.recipes, state.facts))
        if "quantize" in plan.stages:
            await self._stage_run(emit, "quantize", lambda: self._quantize(emit, plan, state.recipes))
            self._drop_intermediate(emit, plan)  # before the import: Ollama's copy needs the room
        if "import" in plan.stages:
            await self._stage_run(emit, "import", lambda: self._import(emit, plan))

        self._drop_intermediate(emit, plan)
        size = plan.final.stat().st_size
        if plan.ollama_name:
            return f"{plan.final} ({format_bytes_tenths(size)}) is in Ollama as {plan.ollama_name}."
        return f"Wrote {plan.final} ({format_bytes_tenths(size)})."

    async def _make_plan(self, emit: Callable[[JobEvent], None]) -> _State:
        """The plan from what can be known before the pre-flight: the source and, if local, its headers."""
        spec = self.spec
        source = resolve_source(spec.source, revision=spec.revision)
        facts, source_type = await asyncio.to_thread(local_facts, source)
        plan = make_plan(spec, self.settings, source, source_file_type=source_type, facts=facts)
        recipes = OutputRecipes()
        if source.path is not None:
            plan, recipes = await asyncio.to_thread(place_outputs, plan, spec, self.tools)
        self.outputs = JobOutputs(model_dir=source.path if source.kind == "hf-dir" else None,
                                  converted=plan.converted, quantized=plan.final,
                                  ollama_model=plan.ollama_name)
        imatrix = spec.imatrix is not None or None
        emit(JobPlanned(self.id, source, plan.stages, plan.quant,
                        predicted_size(facts, plan.quant, imatrix=imatrix), self.outputs))
        return _State(plan, recipes, facts)

    async def _preflight(self, emit: Callable[[JobEvent], None], state: _State) -> tuple[str | None, str]:
        report = await job_checks.run_preflight(state.plan, self.spec, self.settings, self.tools,
                                                state.facts, state.recipes)
        state.plan, state.listing, state.files, state.facts = report.plan, report.listing, report.files, \
            report.facts
        emit(PreflightReported(report.checks, report.disk))
        for check in report.checks:
            emit(LogLine("preflight", f"[{check.status}] {check.message}"))
        self._log_renamed(emit, state.plan, state.recipes)
        failed = [c for c in report.checks if c.failed]
        if failed:
            raise StageError(
                failed[0].message if len(failed) == 1 else
                f"{plural(len(failed), 'check')} failed: " + " ".join(c.message for c in failed),
                tail=tuple(c.message for c in failed))
        return None, f"{plural(len(report.checks), 'check')} passed"

    async def _download(self, emit: Callable[[JobEvent], None], state: _State) -> tuple[str | None, str]:
        listing, files = state.listing, state.files
        assert listing is not None
        state.plan, state.facts, skipped = await job_checks.download_source(
            state.plan, listing, files, self.settings, self._meter(emit, "download"),
            lambda text: emit(LogLine("download", text)))
        state.plan, state.recipes = await asyncio.to_thread(place_outputs, state.plan, self.spec, self.tools)
        plan = state.plan
        self._log_renamed(emit, plan, state.recipes)
        self.outputs = replace(self.outputs, model_dir=plan.source.path, converted=plan.converted,
                               quantized=plan.final)
        if skipped:
            which = "the one file" if len(files) == 1 else f"all {len(files)} files"
            raise SkipStage(f"{which} already in the Hugging Face cache (checked)")
        size = format_bytes_tenths(listing.total_size)
        return str(plan.source.path), f"{plural(len(files), 'file')}, {size}"

    def _log_renamed(self, emit: Callable[[JobEvent], None], plan: JobPlan, recipes: OutputRecipes) -> None:
        for note in renamed_notes(plan, recipes):
            emit(LogLine(self._stage, note))

    def _drop_intermediate(self, emit: Callable[[JobEvent], None], plan: JobPlan) -> None:
        """Delete the converter's output if this job made it and the user did not ask to keep it."""
        converted = plan.converted
        if not plan.delete_converted or converted is None or converted not in self._created:
            return
        self._created.discard(converted)
        converted.unlink(missing_ok=True)
        manifest_path(converted).unlink(missing_ok=True)
        emit(LogLine(self._stage, f"Removed the intermediate {converted.name}, which this job made "
                                  "(--keep-intermediate keeps it)."))
        self.outputs = replace(self.outputs, converted=None)

    def _meter(self, emit: Callable[[JobEvent], None], stage: str) -> ProgressMeter:
        return ProgressMeter(stage, emit, interval=self.progress_interval)

    async def _convert(self, emit: Callable[[JobEvent], None], plan: JobPlan, recipes: OutputRecipes,
                       facts: ModelFacts | None) -> tuple[str | None, str]:
        assert plan.converted is not None and plan.source.path is not None and self._tool_ctx is not None
        recipe = recipes.convert
        assert recipe is not None
        n_tensors = len(facts.tensors) if facts is not None and facts.tensors else None
        why = await asyncio.to_thread(problem, plan.converted, recipe, plan.converted_file_type)
        if why is None:
            raise SkipStage(f"{plan.converted.name} is already there, made from this checkpoint with the "
                            "same converter and --outtype (its record says so)")
        if plan.delete_converted and recipes.quantize is not None and plan.final.exists() and \
                await asyncio.to_thread(problem, plan.final, recipes.quantize, plan.quant) is None:
            self.outputs = replace(self.outputs, converted=None)
            raise SkipStage(f"not needed: {plan.final.name} is already made from this checkpoint")
        if plan.converted.exists():
            emit(LogLine("convert", f"{why}; converting again."))
        if self.tools.convert_script is None or self.tools.convert_python is None:
            raise PipelineError("The converter was not found; set llamacpp.convert_script in the config.")
        plan.out_dir.mkdir(parents=True, exist_ok=True)
        existed = plan.converted.exists()
        converted = plan.converted
        out = await stages.convert(self._tool_ctx, python=self.tools.convert_python,
                                   script=self.tools.convert_script, model_dir=plan.source.path,
                                   output=converted, outtype=plan.outtype, n_tensors=n_tensors,
                                   before_rename=lambda part: write_manifest(converted, recipe, self.id,
                                                                             written=part))
        if not existed:
            self._created.add(out)
        return str(out), format_bytes_tenths(out.stat().st_size)

    async def _quantize(self, emit: Callable[[JobEvent], None], plan: JobPlan,
                        recipes: OutputRecipes) -> tuple[str | None, str]:
        assert plan.quant is not None and self._tool_ctx is not None
        recipe = recipes.quantize
        assert recipe is not None
        why = await asyncio.to_thread(problem, plan.final, recipe, plan.quant)
        if why is None:
            raise SkipStage(f"{plan.final.name} is already there, made from this source with the same "
                           "llama-quantize and settings (its record says so)")
        if plan.final.exists():
            emit(LogLine("quantize", f"{why}; quantizing again."))
        source = plan.converted if plan.converted is not None else plan.source.path
        assert source is not None
        headers = await asyncio.to_thread(read_model_headers, source)
        tensor_bytes = {t.name: t.n_bytes for h in headers for t in h.tensors}
        expected = predicted_size(await asyncio.to_thread(facts_from_gguf, source), plan.quant,
                                  imatrix=self.spec.imatrix is not None or None)
        if self.tools.quantize is None:
            raise PipelineError("llama-quantize was not found; set llamacpp.bin_dir in the config.")
        plan.out_dir.mkdir(parents=True, exist_ok=True)
        existed = plan.final.exists()
        final = plan.final
        out = await stages.quantize(self._tool_ctx, binary=self.tools.quantize, source=source,
                                    output=final, quant=plan.quant, imatrix=self.spec.imatrix,
                                    tensor_bytes=tensor_bytes, allow_requantize=plan.allow_requantize,
                                    before_rename=lambda part: write_manifest(final, recipe, self.id,
                                                                              written=part))
        if not existed:
            self._created.add(out)
        size = out.stat().st_size
        if expected is not None and size != expected:
            emit(LogLine("quantize", f"The planner predicted {expected:,} bytes; llama-quantize wrote "
                                     f"{size:,} ({size - expected:+,})."))
        elif expected is not None:
            emit(LogLine("quantize", f"{size:,} bytes, exactly as the planner predicted."))
        return str(out), format_bytes_tenths(size)

    async def _import(self, emit: Callable[[JobEvent], None], plan: JobPlan) -> tuple[str | None, str]:
        assert plan.ollama_name is not None
        header = await asyncio.to_thread(read_header, plan.final)
        fmt = chat_format(header.metadata)
        async with OllamaClient(select_host(self.settings, self.spec.host)) as client:
            digest = await import_gguf(client, plan.final, plan.ollama_name, fmt, emit,
                                       interval=self.progress_interval)
            where = client.url
        await asyncio.to_thread(record_import, plan.final, where, full_model_name(plan.ollama_name), digest)
        self.outputs = replace(self.outputs, ollama_model=plan.ollama_name, ollama_digest=digest)
        return plan.ollama_name, f"on {where}"
