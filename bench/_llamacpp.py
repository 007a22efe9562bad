"""The real llama.cpp tools, run the way the planner benchmarks need them.

Each call starts one tool as a subprocess (argument list, own process
group, killed on the way out), waits for the lines it needs and hands the
text to the parsers in tests.support.llamacpp_output. Nothing here knows the
planner: the benchmarks put the two side by side.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.llama_server import free_port
from tests.support.llamacpp import LlamaCppTools
from tests.support.llamacpp_output import (
    BenchResult,
    BufferReport,
    DryRunReport,
    fit_params,
    parse_buffer_log,
    parse_dry_run,
    parse_llama_bench_json,
)

__all__ = ["dry_run", "fit_params", "kv_args", "llama_bench", "quantize", "server_buffers"]


def _run(cmd: list[str | Path], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, check=False)


def dry_run(tools: LlamaCppTools, model: Path, quant: str, *, imatrix: Path | None = None) -> DryRunReport:
    """`llama-quantize --dry-run`: the per-tensor types it would write, nothing written."""
    extra: list[str | Path] = ["--imatrix", imatrix] if imatrix else []
    proc = _run([tools.tool("llama-quantize"), "--dry-run", *extra, model, quant], timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"llama-quantize --dry-run {quant} failed:\n{proc.stderr[-1500:]}")
    return parse_dry_run(proc.stdout + proc.stderr)


def quantize(
    tools: LlamaCppTools, src: Path, dst: Path, quant: str, *, imatrix: Path | None = None, threads: int = 2
) -> Path:
    """A real `llama-quantize` run; returns `dst`."""
    extra: list[str | Path] = ["--imatrix", imatrix] if imatrix else []
    proc = _run([tools.tool("llama-quantize"), *extra, src, dst, quant, str(threads)], timeout=600)
    if proc.returncode != 0 or not dst.exists():
        raise RuntimeError(f"llama-quantize {quant} failed ({proc.returncode}):\n{proc.stderr[-1500:]}")
    return dst


def kv_args(ctx: int, kv_type: str, flash_attn: bool) -> list[str]:
    return ["-c", str(ctx), "-ctk", kv_type, "-ctv", kv_type, "-fa", "on" if flash_attn else "off"]


def server_buffers(
    tools: LlamaCppTools, model: Path, args: list[str], *, timeout: float = 60
) -> BufferReport:
    """The buffer lines `llama-server -lv 4 --no-repack` logs while it loads `model`.

    The server is stopped as soon as it says it is listening: the buffers are
    all allocated by then. `--no-warmup` keeps it from running a token through
    the weights (which would page a hollow file's zeros in).
    """
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"llamadeck-bench-server-{os.getpid()}.log"
    cmd = [
        str(tools.tool("llama-server")),
        "-m",
        str(model),
        "-lv",
        "4",
        "--no-repack",
        "--no-warmup",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        *args,
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            if "model loaded" in text or "listening on http" in text:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"llama-server exited ({proc.returncode}):\n{text[-1500:]}")
            time.sleep(0.05)
        else:
            raise RuntimeError(f"llama-server did not come up in {timeout:.0f} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    text = log_path.read_text(errors="replace")
    log_path.unlink(missing_ok=True)
    return parse_buffer_log(text)


@dataclass(frozen=True)
class BenchRun:
    result: BenchResult
    cpu_share: float  # CPU seconds llama-bench got per second of wall time, per thread


def llama_bench(
    tools: LlamaCppTools, model: Path, *, n_gen: int = 64, threads: int = 2, repetitions: int = 5
) -> BenchRun:
    """Decode speed as llama-bench measures it (`-p 0 -n N`, CPU, weights repacked as usual).

    `cpu_share` says how much of its cores llama-bench actually got: on a
    shared machine a share well below 1 means the figure is the neighbours'.
    """
    cmd: list[str | Path] = [tools.tool("llama-bench"), "-m", model, "-p", "0", "-n", str(n_gen),
                             "-t", str(threads), "-r", str(repetitions), "-o", "json"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = _run(cmd, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"llama-bench failed ({proc.returncode}):\n{proc.stderr[-1500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return BenchRun(parse_llama_bench_json(proc.stdout)[0], cpu / wall / threads)
