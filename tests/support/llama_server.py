"""A real llama-server for the end-to-end tests: on a free port, ready when it says so, always stopped.

llama-server is a separate process with no way to tell us it is ready except
answering: `/health` returns 200 once the model is loaded (tools/server, as
vendored in llama-cpp-python 0.3.36). So readiness is polled, with a deadline,
in this one place; a server that exits first fails at once with its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from tests.support.llamacpp import LlamaCppTools


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llama_server(tools: LlamaCppTools, model: Path, args: Sequence[str], log: Path,
                 *, timeout: float = 120) -> Iterator[str]:
    """`llama-server -m model *args` in its own process group, its output in `log`; yields its URL."""
    port = free_port()
    cmd = [str(tools.tool("llama-server")), "-m", str(model), *args,
           "--host", "127.0.0.1", "--port", str(port), "--no-webui"]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"llama-server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                tail = log.read_text()[-3000:]
                raise RuntimeError(f"llama-server not healthy after {timeout:.0f} s:\n{tail}")
            time.sleep(0.1)  # the next look at a process starting up; nothing to wait on but its answer
        yield url
    finally:
        _stop(proc)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
