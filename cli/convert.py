"""`llamadeck convert`: Hugging Face -> GGUF -> quantized -> Ollama, with progress on stderr.

The same `core.pipeline.job.Job` the jobs screen runs, drawn for a terminal: the
pre-flight findings as a checklist, one line per stage, and the running
stage's bar redrawn in place (one line every quarter when piped, so logs stay
short). A failure is said once, with the tool's last lines; everything else
(the tools' whole output, every check) goes to a log file whose path the last
line gives. `--json` prints every event as one JSON object per line on stdout.
Ctrl-C cancels cleanly: the running tool's process group is killed and its
partial file removed; a second Ctrl-C stops waiting for that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from cli.args import add_host_argument
from core import paths
from core.config import Settings
from core.pipeline.job import Job
from core.pipeline.stages import OUTTYPES
from core.pipeline.types import (
    JobEvent,
    JobFinished,
    JobPlanned,
    JobSpec,
    LogLine,
    PreflightReported,
    StageFailed,
    StageFinished,
    StageProgress,
    StageSkipped,
    StageStarted,
)
from core.redact import redact
from core.units import format_bytes, format_clock

BAR_WIDTH = 24
TAIL_SHOWN = 15
_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a Hugging Face model to a quantized GGUF and import it into Ollama",
        description="Turn SOURCE (a Hugging Face repo id, a local checkpoint folder, or a GGUF file) "
                    "into a quantized GGUF and import it into Ollama. Everything is checked before "
                    "anything heavy runs; a rerun skips the stages whose output is already there. "
                    "Ctrl-C cancels cleanly.",
    )
    parser.add_argument("source", metavar="SOURCE",
                        help="owner/name on the Hub, a checkpoint folder, or a .gguf file")
    parser.add_argument("--quant", default="Q4_K_M", metavar="TYPE",
                        help="llama-quantize type (default Q4_K_M); 'none' keeps the converted file")
    parser.add_argument("--outtype", default="f16", choices=OUTTYPES,
                        help="what the converter writes before quantizing (default f16)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for the GGUF files (default: the first paths.gguf_dirs entry, "
                             "else llamadeck's data dir)")
    parser.add_argument("--ollama-name", metavar="NAME", help="model name in Ollama (default: model:quant)")
    parser.add_argument("--no-import", action="store_true", help="stop after writing the GGUF")
    parser.add_argument("--keep-intermediate", action="store_true",
                        help="keep the converter's F16/BF16 GGUF after quantizing")
    parser.add_argument("--imatrix", type=Path, metavar="FILE",
                        help="importance matrix for llama-quantize (needed by IQ types)")
    parser.add_argument("--include", action="append", default=[], metavar="GLOB",
                        help="Hub repo: fetch only files matching GLOB (repeatable)")
    parser.add_argument("--revision", metavar="REV", help="Hub repo: branch, tag or commit")
    add_host_argument(parser)
    parser.add_argument("--json", action="store_true", help="print every event as NDJSON on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the tools' output")
    parser.set_defaults(func=main)


def spec_from_args(args: argparse.Namespace) -> JobSpec:
    quant = None if str(args.quant).strip().lower() in ("none", "") else args.quant
    return JobSpec(
        source=args.source, quant=quant, outtype=args.outtype, out_dir=args.out,
        ollama_name=args.ollama_name, import_to_ollama=not args.no_import,
        keep_intermediate=args.keep_intermediate, imatrix=args.imatrix, include=tuple(args.include),
        revision=args.revision, host=args.host,
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    job = Job(spec_from_args(args), settings)
    display: EventSink
    if args.json:
        display = JsonLines(sys.stdout)
    else:
        display = ConvertDisplay(sys.stderr, verbose=args.verbose, log=JobLogFile.open_for(job.id))
    try:
        status = asyncio.run(run(job, display))
    except KeyboardInterrupt:  # a second Ctrl-C while the job was being cancelled
        display.close()
        print("llamadeck: interrupted.", file=sys.stderr)
        return 130
    return {"succeeded": 0, "cancelled": 130}.get(status, 1)


class JobLogFile:
    """The whole story of one job as text: every check, stage, tool line and the failure in full."""

    def __init__(self, path: Path, out: TextIO) -> None:
        self.path = path
        self._out = out

    @classmethod
    def open_for(cls, job_id: str) -> JobLogFile | None:
        """A new file under llamadeck's log dir; None when it cannot be written (the job runs anyway)."""
        path = paths.log_dir() / "jobs" / f"convert-{datetime.now():%Y%m%d-%H%M%S}-{job_id}.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            return cls(path, os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace"))
        except OSError:
            return None

    def write(self, text: str) -> None:
        try:
            self._out.write(redact(text) + "\n")  # a tool or server may quote a token
            self._out.flush()
        except (OSError, ValueError):
            pass  # a full disk must not stop the job from being reported on the terminal

    def show(self, event: JobEvent) -> None:
        if isinstance(event, LogLine):
            self.write(f"{event.stage}: {event.text}")
        elif isinstance(event, PreflightReported):
            self._failed_checks = {c.message for c in event.checks if c.failed}
            for check in event.checks:
                self.write(f"preflight: [{check.status}] {check.name}: {check.message}")
        elif isinstance(event, StageStarted):
            self.write(f"== {event.stage}: {event.description}")
        elif isinstance(event, StageFinished):
            self.write(f"== {event.stage} done in {format_clock(event.elapsed)}: {event.output or ''} "
                       f"{event.detail}".rstrip())
        elif isinstance(event, StageSkipped):
            self.write(f"== {event.stage} skipped: {event.reason}")
        elif isinstance(event, StageFailed):
            self.write(f"== {event.stage} FAILED: {event.message}")
            for line in event.tail:
                self.write(f"   {line}")
            if event.diagnosis:
                self.write(f"   why: {event.diagnosis}")
        elif isinstance(event, JobFinished):
            self.write(f"== {event.status}: {event.message} ({format_clock(event.elapsed)})")
        elif isinstance(event, JobPlanned):
            self.write(f"== job {event.job_id}: {event.source.label} ({event.source.kind}), stages "
                       f"{', '.join(event.stages)}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._out.close()


class EventSink:
    def show(self, event: JobEvent) -> None:
        raise NotImplementedError

    def note(self, text: str) -> None:
        """A line from the CLI itself ("cancelling ...")."""

    def close(self) -> None:
        """Finish any line being redrawn."""


async def run(job: Job, display: EventSink) -> str:
    """Run the job, drawing its events; Ctrl-C (SIGINT) cancels it. Returns the final status."""
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        if interrupted:  # the second Ctrl-C: stop waiting for the cleanup
            loop.remove_signal_handler(signal.SIGINT)
            raise KeyboardInterrupt
        interrupted = True
        display.note("Cancelling: stopping the running tool and removing its partial output ...")
        job.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        handler = True
    except (NotImplementedError, RuntimeError):  # not the main thread (tests) or no signals here
        handler = False
    status = "failed"
    try:
        async for event in job.events():
            display.show(event)
            if isinstance(event, JobFinished):
                status = event.status
    finally:
        display.close()
        if handler:
            loop.remove_signal_handler(signal.SIGINT)
    return status


# --------------------------------------------------------------------------- JSON


def event_json(event: JobEvent) -> dict[str, Any]:
    """One event as a JSON object: its type under "event", paths as strings, sizes in bytes."""
    return {"event": type(event).__name__, **_plain(asdict(event))}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class JsonLines(EventSink):
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def show(self, event: JobEvent) -> None:
        self.out.write(json.dumps(event_json(event), ensure_ascii=False) + "\n")
        self.out.flush()


# --------------------------------------------------------------------------- text


class ConvertDisplay(EventSink):
    """Stage lines, the pre-flight checklist and a bar redrawn in place on a terminal."""

    def __init__(self, out: TextIO, *, tty: bool | None = None, width: int | None = None,
                 verbose: bool = False, log: JobLogFile | None = None) -> None:
        self.out = out
        self.log = log
        self.tty = out.isatty() if tty is None else tty
        self.width = width or shutil.get_terminal_size((100, 24)).columns
        self.verbose = verbose
        self.stages: tuple[str, ...] = ()
        self._failed_checks: set[str] = set()
        self._bar_open = False
        self._quarter: dict[str, int] = {}

    def _line(self, text: str) -> None:
        self.close()
        self.out.write(redact(text) + "\n")
        self.out.flush()

    def close(self) -> None:
        if self._bar_open:
            self.out.write("\r\x1b[K" if self.tty else "\n")
            self.out.flush()
            self._bar_open = False

    def note(self, text: str) -> None:
        self._line(text)

    def _number(self, stage: str) -> str:
        if stage in self.stages:
            return f"[{self.stages.index(stage) + 1}/{len(self.stages)}]"
        return "[-]"

    def show(self, event: JobEvent) -> None:
        if self.log is not None:
            self.log.show(event)
        if isinstance(event, JobPlanned):
            self.stages = event.stages
            src = event.source
            target = event.quant or "as converted"
            where = f" -> Ollama {event.outputs.ollama_model}" if event.outputs.ollama_model else ""
            self._line(f"{src.label} ({src.kind}) -> {target}{where}")
            if event.predicted_size:
                self._line(f"predicted size: {format_bytes(event.predicted_size)}")
        elif isinstance(event, PreflightReported):
            self._failed_checks = {c.message for c in event.checks if c.failed}
            for check in event.checks:
                self._line(f"  {_MARKS.get(check.status, check.status):<4}  {check.name:<12} {check.message}")
        elif isinstance(event, StageStarted):
            self._line(f"{self._number(event.stage)} {event.description} ...")
        elif isinstance(event, StageProgress):
            self._progress(event)
        elif isinstance(event, StageFinished):
            out = f" -> {event.output}" if event.output else ""
            detail = f" ({event.detail})" if event.detail else ""
            self._line(f"{self._number(event.stage)} {event.stage} done in "
                       f"{format_clock(event.elapsed)}{out}{detail}")
        elif isinstance(event, StageSkipped):
            self._line(f"{self._number(event.stage)} {event.stage} skipped: {event.reason}")
        elif isinstance(event, StageFailed):
            self._failed(event)
        elif isinstance(event, LogLine):
            if self.verbose:
                self._line(f"    {event.stage}: {event.text}")
        elif isinstance(event, JobFinished):
            self._finished(event)

    def _finished(self, event: JobFinished) -> None:
        took = format_clock(event.elapsed)
        log = f" The whole log: {self.log.path}" if self.log is not None else ""
        if event.status == "failed":  # the failure itself was said once, on its stage's line
            self._line(f"failed after {took}.{log}")
        elif event.status == "cancelled":
            self._line(f"cancelled: {event.message} ({took}).{log}")
        else:
            self._line(f"{event.status}: {event.message} ({took})")
        if self.log is not None:
            self.log.close()

    def _failed(self, event: StageFailed) -> None:
        if event.stage == "preflight" and event.tail and set(event.tail) <= self._failed_checks:
            # The failed checks are the sentence, and the checklist above already shows them.
            n = len(event.tail)
            self._line(f"{self._number(event.stage)} preflight FAILED: {n} check{'s' if n > 1 else ''} "
                       "failed (marked FAIL above); nothing was written.")
            return
        self._line(f"{self._number(event.stage)} {event.stage} FAILED: {event.message}")
        tail = [line for line in event.tail[-TAIL_SHOWN:] if line != event.message]
        if tail and not self.verbose:
            self._line("    last lines:")
            for line in tail:
                self._line(f"      {line}")
        if event.diagnosis:
            self._line(f"    why: {event.diagnosis}")

    def progress_line(self, p: StageProgress) -> str:
        fraction = p.fraction if p.fraction is not None else 0.0
        parts = []
        if p.done_bytes is not None and p.total_bytes:
            parts.append(f"{format_bytes(p.done_bytes)}/{format_bytes(p.total_bytes)}")
        if p.speed:
            parts.append(f"{format_bytes(p.speed)}/s")
        if p.eta is not None:
            parts.append(f"ETA {format_clock(p.eta)}")
        if p.detail:
            parts.append(p.detail)
        head = f"    {p.stage} {fraction * 100:3.0f}% "
        tail = "  ".join(parts)
        room = self.width - len(head) - len(tail) - 4
        width = max(0, min(BAR_WIDTH, room))
        if width < 5:
            return f"{head}{tail}"[: self.width - 1]
        filled = int(fraction * width)
        return f"{head}▕{'█' * filled}{' ' * (width - filled)}▏ {tail}"[: self.width - 1]

    def _progress(self, p: StageProgress) -> None:
        if self.tty:
            self.out.write("\r" + self.progress_line(p) + "\x1b[K")
            self.out.flush()
            self._bar_open = True
            return
        quarter = int((p.fraction or 0.0) * 4)
        if quarter > self._quarter.get(p.stage, -1):
            self._quarter[p.stage] = quarter
            self._line(self.progress_line(p))
