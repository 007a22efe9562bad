"""Files only their owner may read: the chat history, its WAL, exports of it.

A shared GPU box has other users, and the default umask (022) makes new files
readable by all of them. What people say to a model is private, so the data
dir is kept 0700 and what llamadeck writes there 0600, whatever the umask;
files an older llamadeck left readable are tightened when they are next
opened, and the caller tells the user once that it happened.

SQLite creates `-wal` and `-shm` itself, later; its unix VFS gives them the
main file's permission bits (os_unix.c, `findCreateFileMode`), so creating
the main file 0600 before SQLite opens it covers them, and `tighten` after
opening catches files left by an older version.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> bool:
    """chmod `path` to `mode` when group or others have any access; True when it changed."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if current & 0o077 == 0:
        return False
    os.chmod(path, mode)
    return True


def private_dir(path: Path) -> bool:
    """Create `path` (and parents) if needed and make it 0700; True when an existing one was tightened.

    Parents that already exist are left alone: they may be shared folders
    (`~/.local/share`) that are not ours to change.
    """
    existed = path.is_dir()
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if not existed:
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
        return False
    return _tighten(path, DIR_MODE)


def private_file(path: Path) -> bool:
    """Create `path` empty if it is missing, 0600; True when an existing one was tightened."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return _tighten(path, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return False


def tighten(*files: Path) -> list[Path]:
    """Make each existing file 0600 at most; the ones that were readable by others."""
    return [f for f in files if _tighten(f, FILE_MODE)]


def write_private_text(path: Path, text: str) -> None:
    """Write `text` to `path` whole (via `<path>.part`, renamed), readable by its owner only."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = -1
            fh.write(text)
    finally:
        if fd >= 0:
            os.close(fd)
    part.replace(path)
