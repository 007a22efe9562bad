"""The processes using the most memory and CPU, with model runners told apart from the rest.

A user on a CPU-only box watching a model load wants to see `ollama runner`
or `llama-server` at the top, named by the model it serves, with its RAM and
CPU share. The runner's command line names the model's file: Ollama's
`ollama runner --model <blobs>/sha256-<hex>` (and, since v0.30, `llama-server
-m <blob>`), llama.cpp's `llama-server -m <file.gguf>`. The blob's digest is
what a caller maps to an Ollama model name (`label_runners`).

The source is a plain function returning `ProcessRecord`s, so tests hand in
fake processes instead of reading this machine's.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import psutil

from core.errors import HardwareError

_BLOB = re.compile(r"sha256[-:]([0-9a-f]{64})")
RUNNER_FLAGS = ("--model", "-m")


@dataclass(frozen=True)
class ProcessRecord:
    """One process: who runs it, what it is, how much RAM (resident) and CPU (percent of one core) it uses."""

    pid: int
    user: str
    name: str
    cmdline: tuple[str, ...]
    rss: int
    cpu_percent: float
    model: str = ""  # the model a runner serves, once known (`label_runners`)

    @property
    def role(self) -> str:
        """`ollama runner`, `llama-server` or "" for anything else."""
        return runner_role(self.name, self.cmdline)

    @property
    def model_file(self) -> str | None:
        """The file a runner loads (`--model`/`-m`), or None."""
        return runner_model_file(self.cmdline) if self.role else None

    @property
    def blob_digest(self) -> str | None:
        """The 64 hex digits of an Ollama blob the runner loads, or None."""
        match = _BLOB.search(self.model_file or "")
        return match.group(1) if match else None


ProcessSource = Callable[[], list[ProcessRecord]]


def runner_role(name: str, argv: Iterable[str]) -> str:
    args = list(argv)
    exe = os.path.basename(args[0]) if args else name
    if (name == "ollama" or exe == "ollama") and len(args) > 1 and args[1] == "runner":
        return "ollama runner"
    if name.startswith("llama-server") or exe.startswith("llama-server"):
        return "llama-server"
    return ""


def runner_model_file(argv: Iterable[str]) -> str | None:
    args = list(argv)
    for i, arg in enumerate(args):
        for flag in RUNNER_FLAGS:
            if arg == flag and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def label_runners(records: Iterable[ProcessRecord],
                  models_by_digest: Mapping[str, str]) -> list[ProcessRecord]:
    """Runners named by the model they serve: by blob digest, or by file name for a plain GGUF."""
    out = []
    for record in records:
        if record.role and not record.model:
            digest = record.blob_digest
            if digest is not None:
                model = models_by_digest.get(digest, "")
            else:
                model = os.path.basename(record.model_file or "")
            record = replace(record, model=model) if model else record
        out.append(record)
    return out


def top_processes(records: Iterable[ProcessRecord], count: int = 8) -> tuple[ProcessRecord, ...]:
    """The runners, then the biggest users of RAM and of CPU (half each), largest RAM first."""
    every = list(records)
    runners = [r for r in every if r.role]
    by_ram = sorted(every, key=lambda r: (-r.rss, r.pid))
    by_cpu = sorted(every, key=lambda r: (-r.cpu_percent, r.pid))
    chosen: dict[int, ProcessRecord] = {r.pid: r for r in runners[:count]}
    for ranked in (by_ram[: max(1, count // 2)], by_cpu[: max(1, count // 2)], by_ram):
        for record in ranked:
            if len(chosen) >= count:
                break
            chosen.setdefault(record.pid, record)
    return tuple(sorted(chosen.values(), key=lambda r: (-r.rss, r.pid)))


class ProcessReader:
    """Reads every process with psutil; CPU percent is since this reader's previous call.

    psutil measures a process's CPU between two calls on the same Process
    object, so the objects are kept from one reading to the next.
    """

    def __init__(self) -> None:
        self._known: dict[int, psutil.Process] = {}

    def __call__(self) -> list[ProcessRecord]:
        seen: dict[int, psutil.Process] = {}
        records = []
        for proc in psutil.process_iter(["pid", "name", "username", "cmdline", "memory_info"]):
            proc = self._known.get(proc.pid, proc)
            seen[proc.pid] = proc
            record = _record(proc)
            if record is not None:
                records.append(record)
        self._known = seen
        return records


def _record(proc: psutil.Process) -> ProcessRecord | None:
    try:
        with proc.oneshot():
            info = proc.as_dict(["name", "username", "cmdline", "memory_info"])
            cpu = proc.cpu_percent(None)
    except psutil.Error:
        return None
    memory = info.get("memory_info")
    return ProcessRecord(pid=proc.pid, user=info.get("username") or "", name=info.get("name") or "",
                         cmdline=tuple(info.get("cmdline") or ()), rss=int(memory.rss) if memory else 0,
                         cpu_percent=float(cpu or 0.0))


def stop_process(pid: int) -> None:
    """Ask a process to end (SIGTERM), as `kill` does; raises HardwareError with the reason."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError as exc:
        raise HardwareError(f"Process {pid} has already exited.") from exc
    except PermissionError as exc:
        raise HardwareError(f"Not allowed to stop process {pid}: it belongs to another user; "
                            f"stop it as that user or with `sudo kill {pid}`.") from exc
