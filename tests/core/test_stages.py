"""The subprocess runner and the output checks, with real child processes.

The children here are small Python programs that behave like any tool does
(print with carriage returns, start a helper process, ignore SIGTERM); the
llama.cpp tools themselves run in tests/e2e.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from core.pipeline import stages
from core.pipeline.progress import ProgressMeter
from core.pipeline.stages import StageError, ToolContext, gguf_problem, run_tool
from core.pipeline.tool_output import ToolProgress
from core.pipeline.types import JobEvent, LogLine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists"; it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_carriage_return_redraws_feed_progress_but_not_the_log() -> None:
    events: list[JobEvent] = []
    seen: list[str] = []

    def parse(line: str) -> ToolProgress | None:
        seen.append(line)
        return None

    code = r"import sys; sys.stdout.write('10%\r50%\r100%\ndone\n'); sys.stderr.write('warn\n')"
    run = await run_tool([sys.executable, "-c", code], stage="convert", ctx=ToolContext(events.append),
                         parse=parse, meter=ProgressMeter("convert", events.append))
    assert run.returncode == 0
    assert seen == ["10%", "50%", "100%", "done", "warn"]
    logged = [e.text for e in events if isinstance(e, LogLine)]
    assert logged == ["100%", "done", "warn"]
    assert run.tail == ("100%", "done", "warn")


async def test_cancel_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    code = textwrap.dedent(f"""
        import os, subprocess, sys, time
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{helper.pid}}")
        print("started", flush=True)
        time.sleep(60)
    """)
    events: list[JobEvent] = []
    task = asyncio.create_task(run_tool([sys.executable, "-c", code], stage="quantize",
                                        ctx=ToolContext(events.append)))
    deadline = time.monotonic() + 20
    while not any(isinstance(e, LogLine) and e.text == "started" for e in events):
        assert time.monotonic() < deadline, "the child never started"
        await asyncio.sleep(0.02)
    leader, helper = (int(x) for x in pids.read_text().split())
    assert _alive(leader) and _alive(helper)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5
    while (_alive(leader) or _alive(helper)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _alive(leader), "the tool survived the cancel"
    assert not _alive(helper), "the tool's helper process survived the cancel"


async def test_a_tool_that_ignores_sigterm_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stages, "TERM_GRACE_SECONDS", 0.3)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); " \
           "time.sleep(60)"
    events: list[JobEvent] = []
    ctx = ToolContext(events.append)
    task = asyncio.create_task(run_tool([sys.executable, "-c", code], stage="convert", ctx=ctx))
    while not any(isinstance(e, LogLine) for e in events):
        await asyncio.sleep(0.02)
    pid = ctx.pids[0]
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(pid)
    assert time.monotonic() - started < 5


async def test_a_missing_tool_is_a_sentence() -> None:
    with pytest.raises(StageError, match="does not exist"):
        await run_tool(["/nonexistent/llama-quantize"], stage="quantize", ctx=ToolContext(lambda e: None))


# --------------------------------------------------------------------------- output checks


def _write_gguf(path: Path, file_type: int = 1) -> Path:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_file_type(file_type)
    writer.add_tensor("token_embd.weight", np.zeros((8, 32), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_complete_gguf_of_the_right_type_passes(tmp_path: Path) -> None:
    path = _write_gguf(tmp_path / "m-F16.gguf")
    assert gguf_problem(path, file_type="F16") is None
    assert gguf_problem(path, file_type="F16", size=path.stat().st_size) is None


def test_a_truncated_gguf_is_caught(tmp_path: Path) -> None:
    path = _write_gguf(tmp_path / "m-F16.gguf")
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    problem = gguf_problem(path, file_type="F16")
    assert problem is not None and "truncated" in problem


def test_a_gguf_of_another_type_or_size_is_not_taken(tmp_path: Path) -> None:
    path = _write_gguf(tmp_path / "m.gguf", file_type=1)
    wrong_type = gguf_problem(path, file_type="Q4_K_M")
    assert wrong_type is not None and "F16" in wrong_type and "Q4_K_M" in wrong_type
    wrong_size = gguf_problem(path, size=path.stat().st_size + 1)
    assert wrong_size is not None and "predicted" in wrong_size


def test_not_a_gguf_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    problem = gguf_problem(path)
    assert problem is not None and "not a GGUF" in problem
