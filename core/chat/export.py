"""A conversation written out: Markdown to read or share, JSON to keep or process.

Both carry everything the history holds (reasoning, stats, which replies were
stopped or broke), so an export is a faithful record, not a pretty subset.
Exports are written to `<data dir>/exports/`, one file per chat and format,
readable by the user only (a conversation is private).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Protocol

from core import paths
from core.chat.stats import stats_line
from core.chat.types import SessionInfo, StoredMessage
from core.errors import LlamadeckError
from core.private_files import private_dir, write_private_text

EXPORT_FORMAT = "llamadeck-chat"
EXPORT_VERSION = 1
EXPORT_DIR = "exports"

_STATUS_NOTE = {
    "stopped": "stopped by the user",
    "error": "the stream broke",
    "interrupted": "interrupted: the app stopped while this reply was streaming",
    "streaming": "still streaming when exported",
}


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def to_markdown(session: SessionInfo, messages: list[StoredMessage]) -> str:
    out = [f"# {session.title or 'Untitled chat'}", ""]
    out.append(f"- Model: `{session.model}` on {session.host}")
    out.append(f"- Started: {_when(session.created_at)}, last message {_when(session.updated_at)}")
    options = session.options.to_json()
    if options:
        out.append("- Options: " + ", ".join(f"{k}={v}" for k, v in options.items()))
    out.append("")
    if session.system_prompt:
        out += ["## System", "", session.system_prompt, ""]
    for msg in messages:
        if msg.role == "user":
            out += ["## You", "", msg.content, ""]
            continue
        if msg.role == "system":
            out += ["## System", "", msg.content, ""]
            continue
        model = msg.model or session.model
        out += [f"## {model}", ""]
        if msg.thinking:
            out += ["<details><summary>Thinking</summary>", "", msg.thinking.strip(), "", "</details>", ""]
        if msg.content:
            out += [msg.content, ""]
        note = _STATUS_NOTE.get(msg.status)
        if note:
            out += [f"*({note}{': ' + msg.error if msg.error else ''})*", ""]
        if msg.stats is not None and (line := stats_line(msg.stats)):
            out += [f"<sub>{line}</sub>", ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(session: SessionInfo, messages: list[StoredMessage]) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "session": {
            "id": session.id,
            "title": session.title,
            "model": session.model,
            "host": session.host,
            "system_prompt": session.system_prompt,
            "options": session.options.to_json(),
            "created_at": _iso(session.created_at),
            "updated_at": _iso(session.updated_at),
        },
        "messages": [
            {
                "role": m.role,
                "content": m.content,
                **({"thinking": m.thinking} if m.thinking else {}),
                "status": m.status,
                **({"error": m.error} if m.error else {}),
                **({"model": m.model} if m.model else {}),
                **({"stats": m.stats.to_json()} if m.stats is not None else {}),
                "created_at": _iso(m.created_at),
            }
            for m in messages
        ],
    }


def to_json_text(session: SessionInfo, messages: list[StoredMessage]) -> str:
    return json.dumps(to_json(session, messages), ensure_ascii=False, indent=2) + "\n"


class ExportSource(Protocol):
    """What holds the chats (core.chat.history.HistoryStore, which imports this module)."""

    def export_markdown(self, session_id: int) -> str: ...

    def export_json(self, session_id: int) -> str: ...


def export_path(session: SessionInfo, suffix: str, folder: Path | None = None) -> Path:
    """`<data dir>/exports/chat-12-<title words>.md`: the id keeps names unique, the title readable."""
    slug = re.sub(r"[^\w]+", "-", session.title.casefold(), flags=re.UNICODE).strip("-")[:40].rstrip("-")
    name = f"chat-{session.id}" + (f"-{slug}" if slug else "") + suffix
    return (folder or paths.data_dir() / EXPORT_DIR) / name


def write_export(store: ExportSource, session: SessionInfo, kind: str) -> Path:
    """Write one export ("md" or "json") next to the others, whole or not at all."""
    text = store.export_markdown(session.id) if kind == "md" else store.export_json(session.id)
    target = export_path(session, f".{kind}")
    try:
        private_dir(target.parent)  # a conversation is private: 0700 folder, 0600 file
        write_private_text(target, text)
    except OSError as exc:
        raise LlamadeckError(f"Could not write the export {target}: {exc.strerror or exc}.") from exc
    return target
