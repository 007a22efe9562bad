"""`llamadeck chat` against a server that accepts the request and says nothing.

It used to print nothing at all for up to ten minutes. Now stderr says how
long it has waited and for what; Ctrl-C ends the wait (exit 130) with a
sentence; the server is a fake that holds the request until the test lets it
go, and every wait below is on state, never on a sleep.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cli.main as cli
from cli import chat
from cli.chat import WaitNotice
from core.config import Settings
from tests.fakes.not_ollama import not_ollama

REPO = Path(__file__).resolve().parents[2]
WAITING = "llamadeck: waiting for the server to answer (loading the model?)"


async def until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.01)


async def test_the_wait_is_said_with_the_time_waited_and_ctrl_c_ends_it(settings: Settings) -> None:
    with not_ollama(hold=True) as server:
        args = cli.build_parser("chat").parse_args(["chat", "llama3.2", "hi", "--host", server.url])
        out, err = io.StringIO(), io.StringIO()
        readings = itertools.count(0, 12)  # every reading of the clock is 12 s after the last

        def notice(stream: object) -> WaitNotice:
            return WaitNotice(err, tty=False, clock=lambda: float(next(readings)), first_after=0, every=0.001)

        task = asyncio.create_task(chat.run(args, settings, "hi", out=out, err=err, notice=notice))
        await until(lambda: err.getvalue().count(WAITING) >= 2)
        assert server.holding.is_set()
        task.cancel()  # what asyncio.run does with the main task on Ctrl-C
        code = await task
    assert code == 130
    lines = err.getvalue().splitlines()
    assert lines[:2] == [f"{WAITING} 12 s", f"{WAITING} 24 s"]
    assert lines[-1].startswith("llamadeck: stopped after waiting ")
    assert lines[-1].endswith(" for the server; nothing arrived. The prompt is saved in conversation 1.")
    assert out.getvalue() == ""


async def test_on_a_terminal_the_notice_is_one_line_rewritten_and_erased() -> None:
    err = io.StringIO()
    readings = itertools.count(0, 65)
    notice = WaitNotice(err, tty=True, clock=lambda: float(next(readings)), first_after=0, every=0.001)
    notice.start()
    await until(lambda: err.getvalue().count("\r") >= 4)
    notice.stop()
    shown = err.getvalue()
    assert "\n" not in shown
    assert shown.startswith(f"\r\x1b[2K{WAITING} 1 min 05 s\r\x1b[2K{WAITING} 2 min 10 s")
    assert shown.endswith("\r\x1b[2K")  # erased: the reply takes the line


def test_ctrl_c_ends_the_wait_of_the_real_command() -> None:
    with not_ollama(hold=True) as server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-m", "cli.main", "chat", "llama3.2", "hi", "--host", server.url]
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        lines: queue.Queue[str] = queue.Queue()
        stderr = proc.stderr
        assert stderr is not None

        def read() -> None:
            for line in stderr:
                lines.put(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            first = lines.get(timeout=60)  # the notice comes after a second of silence
            assert first.startswith(f"{WAITING} ") and first.rstrip().endswith(" s")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(timeout=10)
        rest = []
        while not lines.empty():
            rest.append(lines.get())
    said = "".join(rest)
    assert "Traceback" not in said
    assert "stopped after waiting" in said and "nothing arrived" in said
