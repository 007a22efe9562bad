"""The subprocess stages: convert_hf_to_gguf.py and llama-quantize, run as a user would.

Every tool runs from an argument list (never a shell), in a session of its own
(`start_new_session=True`) so that Ctrl-C in the terminal reaches llamadeck
and not the tool, and so that cancelling kills the tool *and* anything it
started (torch worker processes) as one process group. Outputs are written
to `<name>.part` and renamed only after the file reads back as a complete
GGUF of the expected kind; on failure or cancel the `.part` is removed, so a
half-written file can never be mistaken for a result. A stale `.part` from a
killed run is removed before the tool starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ModelFactsError, PipelineError
from core.facts.ggml_types import file_type_name
from core.facts.gguf_header import read_header
from core.pipeline.progress import ProgressMeter
from core.pipeline.tool_output import ConvertProgress, QuantizeProgress, ToolProgress, diagnose
from core.pipeline.types import JobEvent, LogLine

TAIL_LINES = 40
TERM_GRACE_SECONDS = 3.0
_LINE = re.compile(rb"([^\r\n]*)([\r\n])")

# The converter's --outtype and the general.file_type it writes.
OUTTYPE_FILE_TYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16", "q8_0": "Q8_0"}
OUTTYPES = (*OUTTYPE_FILE_TYPES, "auto")


class StageError(PipelineError):
    """A tool failed: the sentence, the tool's last lines, and what llamadeck made of them."""

    def __init__(self, message: str, *, tail: Sequence[str] = (), diagnosis: str | None = None) -> None:
        super().__init__(message)
        self.tail = tuple(tail)
        self.diagnosis = diagnosis


@dataclass
class ToolContext:
    """What every stage needs from the job: where events go and how children start.

    `child_setup` runs in the child between fork and exec; the tests use it to
    set a small RLIMIT_FSIZE and see a real "File too large". `env` replaces
    the environment for the tools when given.
    """

    emit: Callable[[JobEvent], None]
    child_setup: Callable[[], None] | None = None
    env: Mapping[str, str] | None = None
    progress_interval: float = 0.1
    pids: list[int] = field(default_factory=list)  # the running tool, for tests that watch it
    runs: list[tuple[str, float]] = field(default_factory=list)  # (tool, seconds) of each finished run


@dataclass(frozen=True)
class ToolRun:
    returncode: int
    tail: tuple[str, ...]


async def run_tool(
    cmd: Sequence[str],
    *,
    stage: str,
    ctx: ToolContext,
    parse: Callable[[str], ToolProgress | None] | None = None,
    meter: ProgressMeter | None = None,
) -> ToolRun:
    """Run one tool to the end, turning its output into LogLine and progress events.

    Carriage-return redraws (tqdm bars) feed progress only; newline-ended lines
    also go to the log and the tail. If this coroutine is cancelled, or fails,
    the tool's whole process group is killed before it returns.
    """
    proc = await _start(cmd, ctx)
    ctx.pids.append(proc.pid)
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)

    def handle(text: str, logged: bool) -> None:
        text = text.rstrip()
        if not text:
            return
        if parse is not None and meter is not None:
            reading = parse(text)
            if reading is not None:
                meter.update(reading.fraction, reading.done_bytes, reading.total_bytes, reading.detail)
        if logged:
            tail.append(text)
            ctx.emit(LogLine(stage, text))

    try:
        assert proc.stdout is not None
        await _read_lines(proc.stdout, handle)
        returncode = await proc.wait()
        script = len(cmd) > 1 and cmd[1].endswith(".py")  # "python convert_hf_to_gguf.py ..."
        ctx.runs.append((Path(cmd[1] if script else cmd[0]).name, time.monotonic() - started))
        return ToolRun(returncode, tuple(tail))
    finally:
        if proc.returncode is None:
            await kill_group(proc)
        with contextlib.suppress(ValueError):
            ctx.pids.remove(proc.pid)


async def _start(cmd: Sequence[str], ctx: ToolContext) -> asyncio.subprocess.Process:
    """The tool in a process group of its own (so a cancel can kill all of it), output merged."""
    try:
        return await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            env=dict(ctx.env) if ctx.env is not None else None,
            preexec_fn=ctx.child_setup,
        )
    except FileNotFoundError:
        raise StageError(f"{cmd[0]} does not exist; check the llama.cpp paths in the config.") from None
    except PermissionError:
        raise StageError(f"{cmd[0]} is not executable (permission denied); `chmod +x` it.") from None


async def _read_lines(stream: asyncio.StreamReader, handle: Callable[[str, bool], None]) -> None:
    """Each line to `handle`, with whether it ended in a newline (a carriage return is a redraw)."""
    buf = b""
    while True:
        chunk = await stream.read(1 << 16)
        if not chunk:
            break
        buf += chunk
        end = 0
        for m in _LINE.finditer(buf):
            handle(m.group(1).decode(errors="replace"), m.group(2) == b"\n")
            end = m.end()
        buf = buf[end:]
    if buf:
        handle(buf.decode(errors="replace"), True)


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the tool's process group, then SIGKILL what is left after a short grace.

    Shielded from a second cancellation so the group is always reaped.
    """

    async def _kill() -> None:
        for sig, wait in ((signal.SIGTERM, TERM_GRACE_SECONDS), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                await asyncio.wait_for(proc.wait(), wait)
            except TimeoutError:
                continue
            # The leader is gone; take any straggler in its group with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            break
        if proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5.0)

    await asyncio.shield(_kill())


# --------------------------------------------------------------------------- validation


def gguf_problem(path: Path, *, file_type: str | None = None, size: int | None = None) -> str | None:
    """Why `path` is not a finished GGUF of the wanted kind, or None when it is.

    A readable header whose tensors fit in the file means the writer finished;
    the file type and, where the planner predicts it, the exact size say it is
    the file this job would make and not one left from another run.
    """
    try:
        header = read_header(path)
    except ModelFactsError as exc:
        return str(exc)
    if file_type is not None:
        raw = header.metadata.get("general.file_type")
        have = file_type_name(raw) if isinstance(raw, int) else None
        if have != file_type:
            return f"{path.name} is {have or 'of an unknown type'}, not {file_type}"
    if size is not None and header.file_size != size:
        return f"{path.name} has {header.file_size:,} bytes, not the {size:,} predicted"
    return None


def part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _finish(part: Path, final: Path, *, file_type: str | None,
            before_rename: Callable[[Path], None] | None = None) -> None:
    """Rename a checked `.part` into place. The size is not held against the tool here: a
    prediction that misses is the planner's error, and the job reports it.

    `before_rename` gets the checked part first: the job records what made the file there,
    so a crash can never leave a finished file without its record (a rename keeps the
    size and modification time the record holds)."""
    problem = gguf_problem(part, file_type=file_type)
    if problem is not None:
        raise StageError(f"The tool exited cleanly but its output is not a complete GGUF: {problem}.")
    if before_rename is not None:
        before_rename(part)
    part.replace(final)


def _failure(tool: str, run: ToolRun, output: Path, python: str | None = None) -> StageError:
    diagnosis = diagnose(run.tail, run.returncode, tool=tool, python=python)
    if diagnosis is not None and "--out folder" in diagnosis:
        # Say which it was: a full disk shows as (almost) no free space right now.
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(output.parent).free
            diagnosis += f" {output.parent} has {free / (1 << 30):.1f} GiB free now."
    if run.returncode < 0:
        what = f"was killed by signal {_signame(-run.returncode)}"
    else:
        what = f"failed with exit status {run.returncode}"
    return StageError(f"{tool} {what}.", tail=run.tail, diagnosis=diagnosis)


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


# --------------------------------------------------------------------------- stages


def convert_command(python: Path, script: Path, model_dir: Path, outfile: Path, outtype: str) -> list[str]:
    return [str(python), str(script), str(model_dir), "--outfile", str(outfile), "--outtype", outtype]


async def convert(
    ctx: ToolContext,
    *,
    python: Path,
    script: Path,
    model_dir: Path,
    output: Path,
    outtype: str,
    n_tensors: int | None = None,
    expected_size: int | None = None,
    before_rename: Callable[[Path], None] | None = None,
) -> Path:
    """convert_hf_to_gguf.py `model_dir` -> `output` (via `output.part`)."""
    part = part_path(output)
    part.unlink(missing_ok=True)
    meter = ProgressMeter("convert", ctx.emit, interval=ctx.progress_interval)
    parser = ConvertProgress(n_tensors, expected_size)
    env = dict(ctx.env if ctx.env is not None else os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")  # log lines as they happen, not in 8 KiB lumps
    tool_ctx = ToolContext(ctx.emit, ctx.child_setup, env, ctx.progress_interval, ctx.pids, ctx.runs)
    ok = False
    try:
        run = await run_tool(convert_command(python, script, model_dir, part, outtype),
                             stage="convert", ctx=tool_ctx, parse=parser.feed, meter=meter)
        if run.returncode != 0:
            raise _failure("convert_hf_to_gguf.py", run, output, python=str(python))
        written = part.stat().st_size if part.exists() else expected_size
        meter.update(1.0, written, written, "done", force=True)
        _finish(part, output, file_type=OUTTYPE_FILE_TYPES.get(outtype), before_rename=before_rename)
        ok = True
        return output
    finally:
        if not ok:
            part.unlink(missing_ok=True)


def quantize_command(
    binary: Path, source: Path, output: Path, quant: str, imatrix: Path | None = None,
    allow_requantize: bool = False,
) -> list[str]:
    cmd = [str(binary)]
    if allow_requantize:
        cmd.append("--allow-requantize")
    if imatrix is not None:
        cmd += ["--imatrix", str(imatrix)]
    return [*cmd, str(source), str(output), quant]


async def quantize(
    ctx: ToolContext,
    *,
    binary: Path,
    source: Path,
    output: Path,
    quant: str,
    imatrix: Path | None = None,
    tensor_bytes: Mapping[str, int] | None = None,
    allow_requantize: bool = False,
    before_rename: Callable[[Path], None] | None = None,
) -> Path:
    """llama-quantize `source` -> `output` (via `output.part`) as `quant`."""
    part = part_path(output)
    part.unlink(missing_ok=True)
    meter = ProgressMeter("quantize", ctx.emit, interval=ctx.progress_interval)
    parser = QuantizeProgress(tensor_bytes)
    ok = False
    try:
        run = await run_tool(quantize_command(binary, source, part, quant, imatrix, allow_requantize),
                             stage="quantize", ctx=ctx, parse=parser.feed, meter=meter)
        # llama-quantize has exited 0 after printing "failed to quantize" in some versions.
        failed_text = any("failed to quantize" in line for line in run.tail)
        if run.returncode != 0 or failed_text:
            raise _failure("llama-quantize", run, output)
        total = parser.total or None
        meter.update(1.0, total, total, "done", force=True)
        _finish(part, output, file_type=quant, before_rename=before_rename)
        ok = True
        return output
    finally:
        if not ok:
            part.unlink(missing_ok=True)
