"""What a sentence leaves out goes to a file the sentence names: tracebacks and whole server answers.

The screen and stderr get one sentence; a bug report needs the traceback, and
a puzzling server needs its whole answer. Both are written, with every known
secret masked (core.redact), under `paths.log_dir()`: one file per crash
(`crash-<time>-<pid>.log`, so two crashing processes never share one) and one
running `server-answers.log` kept short by rotation.
"""

from __future__ import annotations

import os
import traceback
from datetime import datetime
from pathlib import Path

from core import paths
from core.redact import redact

EXIT_CRASH = 70  # sysexits' EX_SOFTWARE: llamadeck itself failed (the CLI's and the app's exit status)
SERVER_LOG = "server-answers.log"
SERVER_LOG_MAX_BYTES = 1 << 20
ANSWER_MAX_CHARS = 64 * 1024


def _write_private(path: Path, text: str, *, append: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)  # a log may quote a prompt or a server's page: the user's eyes only
    with os.fdopen(fd, "a" if append else "w", encoding="utf-8", errors="backslashreplace") as out:
        out.write(text)


def write_crash(error: BaseException, context: str) -> Path | None:
    """Write `error`'s traceback (secrets masked) to a new crash file; None if it could not be written."""
    now = datetime.now()
    path = paths.log_dir() / f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}.log"
    body = "".join(traceback.format_exception(error))
    text = f"llamadeck crashed {now.isoformat(timespec='seconds')} in {context}\n\n{body}"
    try:
        _write_private(path, redact(text))
    except OSError:
        return None
    return path


def log_server_answer(where: str, status: int | str, body: str) -> Path | None:
    """Append a server's whole (error) answer; None if it could not be written."""
    path = paths.log_dir() / SERVER_LOG
    clipped = body if len(body) <= ANSWER_MAX_CHARS else body[:ANSWER_MAX_CHARS] + "\n[... cut]\n"
    text = f"--- {datetime.now().isoformat(timespec='seconds')} {where} answered {status}:\n{clipped}\n"
    try:
        if path.exists() and path.stat().st_size > SERVER_LOG_MAX_BYTES:
            path.replace(path.with_suffix(".log.1"))
        _write_private(path, redact(text), append=True)
    except OSError:
        return None
    return path


def crash_sentence(error: BaseException, context: str) -> str:
    """Write the crash file and return the one sentence the user sees instead of a traceback."""
    path = write_crash(error, context)
    what = redact(" ".join(f"{type(error).__name__}: {error}".split()))
    if len(what) > 200:
        what = what[:199] + "…"
    where = (f"The details are in {path}; please attach that file to a bug report." if path is not None
             else f"The details could not be written to {paths.log_dir()}.")
    return f"llamadeck stopped on an unexpected error ({what}). {where}"
