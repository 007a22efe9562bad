"""Ctrl+S on the chat screen: every conversation in the history, to search, open, rename, delete or export.

Search matches substrings, not words, so Chinese and Japanese (no spaces
between words) are found too (core.chat.history.HistoryStore.search). Queries run
in a thread: the history may be large, and the screen must not wait on it.
Exports are written by core.chat.export, and the path is shown.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from core.chat.export import write_export
from core.chat.history import HistoryStore
from core.chat.types import SessionInfo
from core.errors import LlamadeckError
from tui.screens.confirm import ConfirmDialog


def describe(session: SessionInfo) -> Content:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.updated_at))
    count = f"{session.message_count} message" + ("" if session.message_count == 1 else "s")
    details = f"{session.model} on {session.host} · {when} · {count}"
    if session.snippet:
        details += f" · {session.snippet}"
    return Content.assemble((session.title or "Untitled chat", "bold"), "\n", (details, "dim"))


class SessionsListed(Message):
    def __init__(self, sessions: list[SessionInfo], query: str) -> None:
        super().__init__()
        self.sessions = sessions
        self.query = query


class SessionsFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ExportWritten(Message):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class TextPromptScreen(ModalScreen[str | None]):
    """One line of text (a new title): Enter keeps it, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self.prompt_title = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="small-dialog") as box:
            box.border_title = self.prompt_title
            box.border_subtitle = "Enter keeps · Esc cancels"
            yield Input(self.value, id="prompt-text")

    @on(Input.Submitted)
    def keep(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SessionsScreen(ModalScreen[int | None]):
    """The conversation list. Enter opens one; the chat screen resumes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("r", "rename", "Rename"),
        Binding("d,delete", "delete", "Delete"),
        Binding("m", "export('md')", "Export .md"),
        Binding("j", "export('json')", "Export .json"),
    ]

    def __init__(self, store: HistoryStore) -> None:
        super().__init__()
        self.store = store
        self.sessions: list[SessionInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="sessions-box") as box:
            box.border_title = "Chats"
            box.border_subtitle = "Enter open · / search · r rename · d delete · m/j export · Esc close"
            yield Input(placeholder="Search titles and messages (any language)", id="sessions-search")
            yield OptionList(id="sessions-list")
            yield Static("", id="sessions-status")

    def on_mount(self) -> None:
        self.list_sessions("")
        self.query_one("#sessions-list", OptionList).focus()

    # -- listing --------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="sessions")
    def list_sessions(self, query: str) -> None:
        try:
            found = self.store.search(query) if query.strip() else self.store.sessions()
        except LlamadeckError as err:
            self.post_message(SessionsFailed(str(err)))
            return
        self.post_message(SessionsListed(found, query))

    @on(SessionsListed)
    def show_sessions(self, event: SessionsListed) -> None:
        self.sessions = event.sessions
        listing = self.query_one("#sessions-list", OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options([Option(describe(s), id=str(s.id)) for s in event.sessions])
        if event.sessions:
            listing.highlighted = min(highlighted or 0, len(event.sessions) - 1)
        if event.query.strip():
            found = len(event.sessions)
            self.say(f"{found} chat{'s' if found != 1 else ''} contain “{event.query.strip()}”.")
        elif not event.sessions:
            self.say("No chats yet: what you send on the chat screen is kept here.")
        else:
            self.say("")

    @on(SessionsFailed)
    def failed(self, event: SessionsFailed) -> None:
        self.say(event.reason, error=True)

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#sessions-status", Static)
        status.update(Content(text))
        status.set_class(error, "-error")

    @on(Input.Changed, "#sessions-search")
    def search_changed(self, event: Input.Changed) -> None:
        self.list_sessions(event.value)

    @on(Input.Submitted, "#sessions-search")
    def search_done(self) -> None:
        self.query_one("#sessions-list", OptionList).focus()

    def action_search(self) -> None:
        self.query_one("#sessions-search", Input).focus()

    @property
    def current(self) -> SessionInfo | None:
        index = self.query_one("#sessions-list", OptionList).highlighted
        return self.sessions[index] if index is not None and index < len(self.sessions) else None

    # -- actions --------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#sessions-list")
    def open_session(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.sessions[event.option_index].id)

    def action_close(self) -> None:
        search = self.query_one("#sessions-search", Input)
        if search.has_focus:
            self.query_one("#sessions-list", OptionList).focus()
            return
        self.dismiss(None)

    def action_rename(self) -> None:
        session = self.current
        if session is None:
            return

        def rename(title: str | None) -> None:
            if title is None or not title.strip():
                return
            try:
                self.store.rename_session(session.id, title)
            except LlamadeckError as err:
                self.say(str(err), error=True)
                return
            self.say(f"Renamed to “{title.strip()}”.")
            self.list_sessions(self.query_one("#sessions-search", Input).value)

        self.app.push_screen(TextPromptScreen("Rename the chat", session.title), rename)

    def action_delete(self) -> None:
        session = self.current
        if session is None:
            return

        def delete(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.delete_session(session.id)
            except LlamadeckError as err:
                self.say(str(err), error=True)
                return
            self.say(f"Deleted “{session.title or 'Untitled chat'}”.")
            self.list_sessions(self.query_one("#sessions-search", Input).value)

        question = (f"Delete “{session.title or 'Untitled chat'}” and its {session.message_count} "
                    "messages from the history? This cannot be undone.")
        self.app.push_screen(ConfirmDialog("Delete the chat", question, confirm="Delete"), delete)

    def action_export(self, kind: str) -> None:
        session = self.current
        if session is not None:
            self.export(session, kind)

    @work(thread=True, group="export")
    def export(self, session: SessionInfo, kind: str) -> None:
        try:
            path = write_export(self.store, session, kind)
        except LlamadeckError as err:
            self.post_message(SessionsFailed(str(err)))
            return
        self.post_message(ExportWritten(path))

    @on(ExportWritten)
    def exported(self, event: ExportWritten) -> None:
        self.say(f"Exported to {event.path}")
        self.notify(str(event.path), title="Chat exported", markup=False)
