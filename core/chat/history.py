"""The chat history: every conversation, kept in SQLite so none is ever lost.

One file, `history.sqlite3` in the data dir, in WAL mode so a reader (the
session list) never waits for the writer (a streaming reply) and a killed
process leaves a consistent file. The user's message is written when it is
sent and the reply while it streams, so a crash loses at most the moments
since the last write. A file SQLite cannot read is moved aside, never
deleted, and a fresh one is started; `HistoryStore.notice` says so in a
sentence the UI can show.

One connection is shared behind a lock: the chat screen calls in from its
workers, every write is one short transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core import paths
from core.chat import export as chat_export
from core.chat.history_file import DamagedHistory, connect, move_aside, sidecars
from core.chat.types import MESSAGE_STATUSES, ChatOptions, ChatStats, SessionInfo, StoredMessage
from core.errors import HistoryError
from core.private_files import private_dir, private_file, tighten

HISTORY_FILE = "history.sqlite3"
TITLE_LENGTH = 60
# A streaming reply nobody wrote to for this long was cut off (a live writer saves every 2 s).
INTERRUPTED_AFTER = 30.0


def default_path() -> Path:
    return paths.data_dir() / HISTORY_FILE


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _snippet(text: str, term: str, width: int = 80) -> str:
    at = text.casefold().find(term.casefold())
    if at < 0:
        at = 0
    start = max(0, at - width // 3)
    piece = " ".join(text[start:start + width].split())
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(text) else "")


def title_from(prompt: str) -> str:
    """A session title from its first prompt: the first line, cut at a word near TITLE_LENGTH."""
    line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH]
    space = cut.rfind(" ")
    return (cut[:space] if space > TITLE_LENGTH // 2 else cut).rstrip() + "…"


def _tightened(path: Path) -> str:
    return (f"The chat history in {path.parent} was readable by other users of this machine; "
            "it is now readable by you only (folder 0700, files 0600).")


def make_private(path: Path | None = None) -> str | None:
    """At start-up, before the chat is opened (if it ever is): an existing history that others can
    read is made private now. The sentence to show once when it was, else None; creates nothing."""
    path = path or default_path()
    if not path.exists():
        return None
    try:
        loose = private_dir(path.parent)
        loose = bool(tighten(path, *sidecars(path))) or loose
    except OSError:  # not ours to change (another owner): opening it will say what is wrong
        return None
    return _tightened(path) if loose else None


class HistoryStore:
    """Sessions and their messages. Open with `HistoryStore.open()`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, notice: str | None,
                 moved_to: Path | None, now: Callable[[], float]) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._now = now
        self._live: set[int] = set()  # replies this store is streaming right now
        self.path = path
        self.notice = notice
        self.moved_to = moved_to

    # -- opening --------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None = None, *, now: Callable[[], float] = time.time) -> HistoryStore:
        """Open (or create) the history; a damaged file is moved aside and reported in `notice`."""
        path = path or default_path()
        try:
            # A loose folder alone is news only when it held a history (the pipeline may have made it).
            opened_up = private_dir(path.parent) and path.exists()
        except OSError as exc:
            raise HistoryError(f"Cannot create the folder for the chat history {path.parent}: "
                               f"{exc.strerror or exc}.") from exc
        notices: list[str] = []
        moved_to: Path | None = None
        try:
            opened_up = private_file(path) or opened_up
            try:
                conn = connect(path)
            except DamagedHistory as damage:
                moved_to = move_aside(path, now())
                notices.append(f"The chat history {path} could not be read ({damage.reason}); it was moved "
                               f"to {moved_to} and a new history was started. Nothing was deleted.")
                opened_up = bool(tighten(moved_to, *sidecars(moved_to))) or opened_up
                private_file(path)
                try:
                    conn = connect(path)
                except DamagedHistory as again:  # pragma: no cover - a fresh file cannot be damaged
                    raise HistoryError(f"A new chat history at {path} cannot be created: "
                                       f"{again.reason}.") from None
            opened_up = bool(tighten(path, *sidecars(path))) or opened_up
        except OSError as exc:
            raise HistoryError(f"Cannot create the chat history {path}: {exc.strerror or exc}.") from exc
        if opened_up:
            notices.append(_tightened(path))
        return cls(conn, path, notice=" ".join(notices) or None, moved_to=moved_to, now=now)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        """One short write transaction; SQLite errors become a HistoryError that says what failed."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise HistoryError(f"Could not {what} in the chat history {self.path}: {exc}.") from exc

    def _read(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise HistoryError(f"Could not read the chat history {self.path}: {exc}.") from exc

    def _session(self, row: sqlite3.Row, snippet: str | None = None) -> SessionInfo:
        try:
            options = ChatOptions.from_json(json.loads(row["options"]))
        except ValueError:
            options = ChatOptions()
        return SessionInfo(
            id=row["id"], title=row["title"], model=row["model"], host=row["host"],
            system_prompt=row["system_prompt"], options=options,
            created_at=row["created_at"], updated_at=row["updated_at"],
            message_count=row["n"], snippet=snippet, host_url=row["host_url"], host_kind=row["host_kind"],
        )

    def _message(self, row: sqlite3.Row) -> StoredMessage:
        status = row["status"]
        with self._lock:
            live = row["id"] in self._live
        if status == "streaming" and not live:
            status = "interrupted"  # its writer is gone: what was saved is all there is
        stats = None
        if row["stats"]:
            try:
                stats = ChatStats.from_json(json.loads(row["stats"]))
            except ValueError:
                stats = None
        return StoredMessage(
            id=row["id"], session_id=row["session_id"], role=row["role"], content=row["content"],
            thinking=row["thinking"], status=status, created_at=row["created_at"],
            updated_at=row["updated_at"], stats=stats, error=row["error"], model=row["model"],
        )

    # -- sessions -------------------------------------------------------------

    _SESSION_COLUMNS = "s.*, (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id) AS n"

    def create_session(self, *, model: str, host: str, system_prompt: str = "",
                       options: ChatOptions | None = None, title: str = "", host_url: str = "",
                       host_kind: str = "") -> SessionInfo:
        """A new conversation; `host` is the host's name, `host_url` the address it means now."""
        now = self._now()
        opts = json.dumps((options or ChatOptions()).to_json(), ensure_ascii=False)
        with self._tx("start a conversation") as db:
            cur = db.execute(
                "INSERT INTO sessions (title, model, host, host_url, host_kind, system_prompt, options,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (title, model, host, host_url, host_kind, system_prompt, opts, now, now))
            session_id = cur.lastrowid
        assert session_id is not None
        return self.session(session_id)

    def session(self, session_id: int) -> SessionInfo:
        rows = self._read(f"SELECT {self._SESSION_COLUMNS} FROM sessions s WHERE s.id = ?", (session_id,))
        if not rows:
            raise HistoryError(f"There is no conversation {session_id} in the chat history.")
        return self._session(rows[0])

    def sessions(self, limit: int | None = None) -> list[SessionInfo]:
        """Conversations, most recently active first."""
        rows = self._read(f"SELECT {self._SESSION_COLUMNS} FROM sessions s "
                          "ORDER BY s.updated_at DESC, s.id DESC LIMIT ?", (limit if limit else -1,))
        return [self._session(r) for r in rows]

    def search(self, query: str, limit: int = 200) -> list[SessionInfo]:
        """Conversations whose title or messages contain every word of `query`.

        Substring matching (LIKE), not a word index: Chinese and Japanese have
        no spaces between words, and a two-character word must still be found.
        """
        terms = query.split()
        if not terms:
            return self.sessions(limit)
        where = " AND ".join(
            f"(s.title LIKE :t{i} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m "
            f"WHERE m.session_id = s.id AND m.content LIKE :t{i} ESCAPE '\\'))"
            for i in range(len(terms))
        )
        params: dict[str, Any] = {f"t{i}": _like(t) for i, t in enumerate(terms)}
        params["limit"] = limit
        rows = self._read(f"SELECT {self._SESSION_COLUMNS} FROM sessions s WHERE {where} "
                          "ORDER BY s.updated_at DESC, s.id DESC LIMIT :limit", params)
        out = []
        for row in rows:
            hit = self._read("SELECT content FROM messages WHERE session_id = ? "
                             "AND content LIKE ? ESCAPE '\\' ORDER BY id LIMIT 1",
                             (row["id"], _like(terms[0])))
            snippet = _snippet(hit[0]["content"], terms[0]) if hit else None
            out.append(self._session(row, snippet))
        return out

    def rename_session(self, session_id: int, title: str) -> None:
        with self._tx("rename a conversation") as db:
            db.execute("UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?",
                       (title.strip(), self._now(), session_id))

    def update_session(self, session_id: int, *, model: str | None = None, host: str | None = None,
                       system_prompt: str | None = None, options: ChatOptions | None = None,
                       host_url: str | None = None, host_kind: str | None = None) -> None:
        """Record a change of model, host, system prompt or options for what comes next."""
        changes: dict[str, Any] = {}
        if model is not None:
            changes["model"] = model
        if host is not None:
            changes["host"] = host
        if host_url is not None:
            changes["host_url"] = host_url
        if host_kind is not None:
            changes["host_kind"] = host_kind
        if system_prompt is not None:
            changes["system_prompt"] = system_prompt
        if options is not None:
            changes["options"] = json.dumps(options.to_json(), ensure_ascii=False)
        if not changes:
            return
        sets = ", ".join(f"{k} = :{k}" for k in changes)
        with self._tx("change a conversation's settings") as db:
            db.execute(f"UPDATE sessions SET {sets} WHERE id = :id", {**changes, "id": session_id})

    def delete_session(self, session_id: int) -> None:
        with self._tx("delete a conversation") as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # -- messages -------------------------------------------------------------

    def messages(self, session_id: int) -> list[StoredMessage]:
        rows = self._read("SELECT * FROM messages WHERE session_id = ? ORDER BY id", (session_id,))
        return [self._message(r) for r in rows]

    def message(self, message_id: int) -> StoredMessage:
        rows = self._read("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise HistoryError(f"There is no message {message_id} in the chat history.")
        return self._message(rows[0])

    def add_message(self, session_id: int, role: str, content: str, *, thinking: str = "",
                    status: str = "complete", model: str | None = None) -> int:
        """Append a message; the first user message also names an untitled session."""
        if status not in MESSAGE_STATUSES:
            raise HistoryError(f"{status!r} is not a message status ({', '.join(MESSAGE_STATUSES)}).")
        now = self._now()
        with self._tx("save a message") as db:
            cur = db.execute(
                "INSERT INTO messages (session_id, role, content, thinking, status, model, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, role, content, thinking, status, model, now, now))
            if role == "user":
                db.execute("UPDATE sessions SET title = ? WHERE id = ? AND title = ''",
                           (title_from(content), session_id))
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
            message_id = cur.lastrowid
        assert message_id is not None
        if status == "streaming":
            with self._lock:
                self._live.add(message_id)
        return message_id

    def begin_reply(self, session_id: int, model: str) -> int:
        """An empty assistant message in "streaming" state, to be filled by `save_reply`."""
        return self.add_message(session_id, "assistant", "", status="streaming", model=model)

    def save_reply(self, message_id: int, *, content: str, thinking: str, status: str = "streaming",
                   stats: ChatStats | None = None, error: str | None = None) -> None:
        """Write what a reply holds so far; a status other than "streaming" ends it."""
        if status not in MESSAGE_STATUSES:
            raise HistoryError(f"{status!r} is not a message status ({', '.join(MESSAGE_STATUSES)}).")
        now = self._now()
        stats_json = json.dumps(stats.to_json()) if stats is not None else None
        with self._tx("save the reply") as db:
            db.execute("UPDATE messages SET content = ?, thinking = ?, status = ?, stats = ?, error = ?, "
                       "updated_at = ? WHERE id = ?",
                       (content, thinking, status, stats_json, error, now, message_id))
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = "
                       "(SELECT session_id FROM messages WHERE id = ?)", (now, message_id))
        with self._lock:
            if status == "streaming":
                self._live.add(message_id)
            else:
                self._live.discard(message_id)

    def claim_interrupted(self, quiet_for: float = INTERRUPTED_AFTER) -> SessionInfo | None:
        """The newest conversation a crash cut off while a reply streamed, offered once, else None.

        Such a reply is still "streaming" in the file, no writer of this store
        holds it, and nothing was written to it for `quiet_for` seconds (another
        llamadeck that streams writes every few). Every such reply is marked
        "interrupted" here, so the next start does not offer the same chat again.
        """
        cutoff = self._now() - quiet_for
        with self._tx("look for an interrupted reply") as db:
            rows = db.execute("SELECT id, session_id FROM messages WHERE status = 'streaming' "
                              "AND updated_at < ? ORDER BY updated_at DESC, id DESC", (cutoff,)).fetchall()
            with self._lock:
                cut = [r for r in rows if r["id"] not in self._live]
            db.executemany("UPDATE messages SET status = 'interrupted' WHERE id = ?",
                           [(r["id"],) for r in cut])
        return self.session(cut[0]["session_id"]) if cut else None

    def edit_message(self, message_id: int, content: str) -> None:
        with self._tx("edit a message") as db:
            db.execute("UPDATE messages SET content = ?, updated_at = ? WHERE id = ?",
                       (content, self._now(), message_id))

    def delete_messages(self, message_ids: list[int]) -> None:
        with self._tx("remove messages") as db:
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in message_ids])
        with self._lock:
            self._live.difference_update(message_ids)

    # -- export ---------------------------------------------------------------

    def export_markdown(self, session_id: int) -> str:
        return chat_export.to_markdown(self.session(session_id), self.messages(session_id))

    def export_json(self, session_id: int) -> str:
        return chat_export.to_json_text(self.session(session_id), self.messages(session_id))
