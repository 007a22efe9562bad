"""The model runners the dashboard's stop key acts on, and the question it asks first.

A runner is an `ollama runner` or a `llama-server`, found in the GPU-memory
table or (on a CPU-only machine) among the top processes. An Ollama runner
whose model is known is stopped the way `ollama stop` does (the API's
`keep_alive: 0`), so Ollama unloads it cleanly; anything else gets SIGTERM.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.hardware.processes import ProcessRecord, label_runners
from core.hardware.types import GpuProcess


@dataclass(frozen=True)
class Runner:
    pid: int
    role: str  # "ollama runner" | "llama-server"
    model: str  # "" when not known
    user: str

    @property
    def via_api(self) -> bool:
        """Unload through Ollama's API (`ollama stop`) rather than a signal."""
        return self.role == "ollama runner" and bool(self.model)

    @property
    def label(self) -> str:
        return f"{self.role} · {self.model}" if self.model else f"{self.role} (pid {self.pid})"


def _split(cmdline: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(cmdline))
    except ValueError:
        return tuple(cmdline.split())


def gpu_records(processes: Iterable[GpuProcess]) -> list[ProcessRecord]:
    """GPU-memory holders as process records (RAM and CPU unknown), so runners are found the same way."""
    return [ProcessRecord(p.pid, p.user, p.name.split()[0] if p.name else "", _split(p.cmdline), 0, 0.0)
            for p in processes if p.pid > 0]


def find_runners(records: Iterable[ProcessRecord], names: Mapping[str, str]) -> list[Runner]:
    return [Runner(r.pid, r.role, r.model, r.user) for r in label_runners(records, names) if r.role]


def next_runner(runners: Sequence[Runner], current: int | None) -> int | None:
    """The pid after `current` (wrapping), or the first runner's."""
    pids = [r.pid for r in runners]
    if not pids:
        return None
    if current not in pids:
        return pids[0]
    return pids[(pids.index(current) + 1) % len(pids)]


def stop_question(runner: Runner, host: str) -> tuple[str, str]:
    """The confirmation dialog's title and sentence."""
    who = f" (user {runner.user})" if runner.user else ""
    if runner.via_api:
        return ("Stop the model?",
                f"Unload {runner.model} from Ollama at {host}, as `ollama stop {runner.model}` does? "
                f"Its runner, pid {runner.pid}{who}, ends and frees its memory.")
    return ("Stop the process?",
            f"Send SIGTERM to {runner.role}, pid {runner.pid}{who}? Whatever it serves stops answering.")
