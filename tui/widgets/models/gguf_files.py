"""The GGUF files on this machine, beside the Ollama models: `g` on the Models screen shows them.

The files are found in `paths.gguf_dirs` and the Hugging Face cache by
core.facts.local_gguf (in a thread: walking folders and reading headers
blocks), one row a model with the facts its header states; a split model is
one row for all its parts. From a row: `f` plans it, `i` imports it into the
Ollama host the screen shows, `d` deletes it (every part) after asking.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import DataTable, Static

from core.errors import LlamadeckError
from core.facts.gguf_header import read_header
from core.facts.local_gguf import LocalGguf, delete_gguf, find_gguf_files
from core.ollama.chat_format import chat_format
from core.ollama.client import OllamaClient
from core.pipeline.ollama_import import default_model_name, import_gguf
from core.units import format_age, format_ctx, format_model_size, format_params, plural
from tui.screens.confirm import ConfirmDialog

COLUMNS = (("file", "File"), ("size", "Size"), ("params", "Params"), ("quant", "Quant"), ("arch", "Arch"),
           ("ctx", "Context"), ("modified", "Modified"))
FILES = Binding.Group("GGUF file", compact=True)


def detail_text(f: LocalGguf) -> str:
    """The highlighted file's where and what, or why its header could not be read."""
    where = f"{f.path.parent} ({f.where})" if f.in_hf_cache else str(f.path.parent)
    parts = f" · {plural(len(f.parts), 'part')}" if len(f.parts) > 1 else ""
    trained = format_ctx(f.context_length)
    said = f.problem or f"{f.name or f.path.stem} · {f.architecture} · trained for {trained}"
    return f"{where}{parts}\n{said}"


class GgufFiles(Vertical):
    """`scan(dirs, hf_cache)` lists the files; its keys act on the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "plan_file", "Plan this file", group=FILES, tooltip="Open the planner with it"),
        Binding("i", "import_file", "Import into Ollama", group=FILES,
                tooltip="Upload it to the Ollama host shown and create a model from it"),
        Binding("d,delete", "delete_file", "Delete the file", group=FILES, key_display="d",
                tooltip="Every part of a split model; asks first"),
        Binding("r", "rescan", "Look again", group=FILES),
    ]

    class Scanned(Message):
        def __init__(self, files: list[LocalGguf]) -> None:
            super().__init__()
            self.files = files

    class Imported(Message):
        """A file became an Ollama model: the screen lists the models again and highlights it."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, dirs: Sequence[Path], hf_cache: Path | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dirs = tuple(dirs)
        self.hf_cache = hf_cache
        self.files: list[LocalGguf] = []
        self.scanned = False
        self.client: OllamaClient | None = None  # set by the screen: the host `i` imports into
        self.model_names: list[str] = []  # the host's models, so an import says what it replaces

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="gguf-table", cursor_type="row", zebra_stripes=False)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("Looking for GGUF files…", id="gguf-detail", markup=False)

    def on_mount(self) -> None:
        self.border_title = "GGUF files"
        folders = ", ".join(str(d) for d in self.dirs) or "no paths.gguf_dirs"
        self.border_subtitle = f"{folders} + Hugging Face cache"

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#gguf-table", DataTable)

    @property
    def highlighted(self) -> LocalGguf | None:
        row = self.table.cursor_row
        return self.files[row] if self.files and 0 <= row < len(self.files) else None

    @work(thread=True, exclusive=True, group="gguf-scan")
    def scan(self) -> None:
        files = find_gguf_files(self.dirs, self.hf_cache)
        self.post_message(self.Scanned(files))

    @on(Scanned)
    def show_files(self, message: Scanned) -> None:
        self.files, self.scanned = message.files, True
        table, now = self.table, time.time()
        table.clear()
        for f in self.files:
            params = format_params(f.n_params) if f.n_params else "-"
            ctx = format_ctx(f.context_length) if f.context_length else "-"
            table.add_row(f.label, format_model_size(f.size), params, f.file_type or "-",
                          f.architecture or "-", ctx, format_age(now - f.modified), key=str(f.path))
        total = format_model_size(sum(f.size for f in self.files))
        self.border_title = f"GGUF files · {plural(len(self.files), 'model')}, {total}"
        self._show_detail()

    @on(DataTable.RowHighlighted, "#gguf-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        f = self.highlighted
        where = ", ".join(str(d) for d in self.dirs) or "paths.gguf_dirs (none set)"
        text = detail_text(f) if f is not None else (
            f"No .gguf files in {where} or the Hugging Face cache. "
            "Add folders to paths.gguf_dirs in the config.")
        self.query_one("#gguf-detail", Static).update(text)

    def say(self, text: str, severity: SeverityLevel = "information") -> None:
        self.notify(text, severity=severity, markup=False, timeout=8 if severity == "error" else None)

    # ------------------------------------------------------------------ keys

    def _target(self) -> LocalGguf | None:
        f = self.highlighted
        if f is None:
            self.say("No GGUF file is highlighted.")
        return f

    def action_rescan(self) -> None:
        self.query_one("#gguf-detail", Static).update("Looking for GGUF files…")
        self.scan()

    def action_plan_file(self) -> None:
        if (f := self._target()) is None:
            return
        plan = getattr(self.app, "plan", None)
        if callable(plan):
            plan(str(f.path))
        else:
            self.say(f"This app has no planner to hand {f.path.name} to.", "warning")

    def action_delete_file(self) -> None:
        if (f := self._target()) is None:
            return
        present = [p for p in f.parts if p.exists() or p.is_symlink()]
        listed = "\n".join(f"  {p}" for p in present)
        blob = " The Hugging Face cache's blob it links to goes too." if f.in_hf_cache else ""
        question = (f"Delete {plural(len(present), 'file')} ({format_model_size(f.size)}) from disk?\n"
                    f"{listed}\n{blob}This cannot be undone.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(f)

        self.app.push_screen(ConfirmDialog(f"Delete {f.path.name}", question, confirm="Delete"), answered)

    @work(thread=True, group="gguf-delete")
    def _delete(self, f: LocalGguf) -> None:
        try:
            freed = delete_gguf(f)
        except OSError as exc:
            self.app.call_from_thread(self.say, f"Could not delete {f.path.name}: {exc.strerror or exc}.",
                                      "error")
        else:
            self.app.call_from_thread(self.say, f"Deleted {f.label}: {format_model_size(freed)} freed.")
        self.scan()

    def action_import_file(self) -> None:
        if (f := self._target()) is None:
            return
        if self.client is None:
            self.say("No Ollama host answers; importing needs one (g shows the Ollama models).", "error")
            return
        if len(f.parts) > 1 or f.problem:
            why = f.problem or (f"{f.path.name} is split into {len(f.parts)} files and Ollama imports one: "
                                "merge them with `llama-gguf-split --merge` first.")
            self.say(why, "error")
            return
        name = default_model_name(f.name or f.path.stem, f.file_type)
        replaces = f" Ollama already has {name}; it is replaced." if name in self.model_names else ""
        question = (f"Import {f.path.name} ({format_model_size(f.size)}) into Ollama at {self.client.url} as "
                    f"{name}?{replaces} The file is hashed and uploaded; Ollama keeps its own copy.")

        def answered(yes: bool | None) -> None:
            if yes and self.client is not None:
                self.say(f"Importing {f.path.name} as {name}…")
                self._import(self.client, f.path, name)

        self.app.push_screen(ConfirmDialog(f"Import {f.path.name}", question, confirm="Import",
                                           danger=False), answered)

    @work(group="gguf-import")
    async def _import(self, client: OllamaClient, path: Path, name: str) -> None:
        try:
            header = await asyncio.to_thread(read_header, path)
            await import_gguf(client, path, name, chat_format(header.metadata), lambda event: None)
        except (LlamadeckError, OSError) as exc:
            self.say(f"Could not import {path.name}: {exc}", "error")
        else:
            self.say(f"Imported {path.name} into Ollama as {name}.")
            self.post_message(self.Imported(name))
