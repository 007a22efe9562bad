"""Who holds GPU memory: NVML gives pids, psutil turns them into names and command lines.

A user watching a model load wants to read `ollama runner` or `llama-server`
next to 14 GiB, not a bare pid. NVML's pids are not always visible here
(another PID namespace, as in a container) or may have just exited; such
rows are kept with what is known.
"""

from __future__ import annotations

import shlex

import psutil


class ProcessNames:
    """pid -> (name, command line, user), cached while the same process lives.

    The cache key includes the creation time so a recycled pid is looked up
    again. A pid NVML reports may be invisible here (another PID namespace,
    as in a container) or may have just exited; the row is kept either way.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[int, float], tuple[str, str, str]] = {}
        self._seen: set[tuple[int, float]] = set()

    def describe(self, pid: int) -> tuple[str, str, str]:
        if pid <= 0:
            return "(unknown)", "", ""
        try:
            proc = psutil.Process(pid)
            key = (pid, proc.create_time())
        except psutil.NoSuchProcess:
            return "(not visible)", "process has exited or lives in another PID namespace (container)", ""
        except psutil.AccessDenied:
            return "(access denied)", "", ""
        self._seen.add(key)
        if key not in self._cache:
            self._cache[key] = _describe(proc)
        return self._cache[key]

    def forget_unseen(self) -> None:
        """Drop processes not reported in the last round so the cache stays small."""
        for key in set(self._cache) - self._seen:
            del self._cache[key]
        self._seen = set()


def _describe(proc: psutil.Process) -> tuple[str, str, str]:
    try:
        name = proc.name()
    except psutil.Error:
        name = "(unknown)"
    try:
        argv = proc.cmdline()
    except psutil.Error:
        argv = []
    # `ollama runner ...` is the process that holds the model; the bare
    # executable name would hide the one word that tells it apart.
    if name == "ollama" and len(argv) > 1 and not argv[1].startswith("-"):
        name = f"ollama {argv[1]}"
    try:
        user = proc.username()
    except (psutil.Error, KeyError):  # KeyError: a uid with no passwd entry
        user = ""
    return name, shlex.join(argv) if argv else "", user
