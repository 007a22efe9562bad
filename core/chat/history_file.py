"""Opening the history file: the schema, a health check, and moving a damaged file aside.

Split from the store because it is about the file, not the conversations: a
file that is not SQLite is refused before SQLite touches it (SQLite would
discard a WAL next to a foreign main file, and that WAL may hold the newest
messages); a file that opens but fails `PRAGMA quick_check` is damaged too.
Either way the caller moves it aside, with its -wal and -shm, and never
deletes it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from core.errors import HistoryError

SCHEMA_VERSION = 2
# 2: sessions.host_url and host_kind, the address a host name meant when the chat was held.

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id            INTEGER PRIMARY KEY,
    title         TEXT    NOT NULL DEFAULT '',
    model         TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    host_url      TEXT    NOT NULL DEFAULT '',
    host_kind     TEXT    NOT NULL DEFAULT '',
    system_prompt TEXT    NOT NULL DEFAULT '',
    options       TEXT    NOT NULL DEFAULT '{}',
    created_at    REAL    NOT NULL,
    updated_at    REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content     TEXT    NOT NULL DEFAULT '',
    thinking    TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'streaming', 'stopped', 'error', 'interrupted')),
    stats       TEXT,
    error       TEXT,
    model       TEXT,
    created_at  REAL    NOT NULL,
    updated_at  REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_session ON messages (session_id, id);
CREATE INDEX IF NOT EXISTS sessions_by_update ON sessions (updated_at);
"""

# SQLite result codes that mean "this file is not a healthy database".
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


class DamagedHistory(Exception):
    """The file is not a healthy SQLite database; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def connect(path: Path) -> sqlite3.Connection:
    """Open, check and migrate; raises DamagedHistory when the file is not a healthy database."""
    _check_header(path)
    try:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise HistoryError(f"Cannot open the chat history {path}: {exc}.") from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - only on filesystems without shared memory
            conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: safe against a killed process
        conn.execute("PRAGMA foreign_keys = ON")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise DamagedHistory(f"integrity check: {check}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(f"The chat history {path} was written by a newer llamadeck "
                               f"(schema {version}, this one reads {SCHEMA_VERSION}). Update llamadeck.")
        conn.executescript(_SCHEMA)
        _migrate(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.Error as exc:
        conn.close()
        if _is_damage(exc):
            raise DamagedHistory(str(exc)) from None
        raise HistoryError(f"Cannot open the chat history {path}: {exc}.") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file written by an older llamadeck up to SCHEMA_VERSION; its rows keep their values."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
    for column in ("host_url", "host_kind"):
        if column not in columns:  # schema 1: the address was not kept; '' reads as "unknown"
            conn.execute(f"ALTER TABLE sessions ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")


def _check_header(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLite opens it: SQLite would discard a WAL
    file next to a foreign main file, and that WAL may hold the newest messages."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HistoryError(f"Cannot read the chat history {path}: {exc.strerror or exc}.") from exc
    if head and head != _SQLITE_MAGIC:
        raise DamagedHistory("file is not a database")


def sidecars(path: Path) -> tuple[Path, Path]:
    """The WAL and shared-memory files SQLite keeps next to `path`."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def move_aside(path: Path, now: float) -> Path:
    """Rename a damaged file (and its WAL and shared-memory files) out of the way, never deleting."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(target)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
    except OSError as exc:
        raise HistoryError(f"The chat history {path} is damaged and could not be moved aside: "
                           f"{exc.strerror or exc}. Move it away by hand.") from exc
    return target
