"""The chats on the chat screen: the history opened in a thread, and the list of chats (Ctrl+S).

Opening the history may take a moment (a damaged file is checked and moved
aside), so it runs in this widget's worker and posts HistoryOpened or
HistoryFailed; a chat a crash cut off is offered again (offer_resume). The
list (sessions.SessionsScreen) ends in ChatChosen:
the chat to open, or None when the list was closed (the open chat may have
been renamed or deleted there). The widget draws nothing itself.
"""

from __future__ import annotations

from textual import work
from textual.message import Message
from textual.widget import Widget

from core.chat.history import HistoryStore
from core.chat.types import SessionInfo
from core.errors import LlamadeckError
from tui.screens.chat.sessions import SessionsScreen
from tui.screens.confirm import ConfirmDialog
from tui.services import Services


class HistoryOpened(Message):
    """The history is open; `interrupted` is the chat a crash cut off, to offer again (once)."""

    def __init__(self, store: HistoryStore, interrupted: SessionInfo | None = None) -> None:
        super().__init__()
        self.store = store
        self.interrupted = interrupted


class HistoryFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ChatChosen(Message):
    """The list of chats closed: with the chat to open, or None."""

    def __init__(self, session_id: int | None) -> None:
        super().__init__()
        self.session_id = session_id


class ChatHistory(Widget):
    """Opens the history and shows the list of chats; what came of it arrives as messages."""

    DEFAULT_CSS = "ChatHistory { display: none; }"

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    @work(thread=True, group="history")
    def open_history(self) -> None:
        try:
            store = self.services.history()
        except LlamadeckError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        try:
            interrupted = store.claim_interrupted()
        except LlamadeckError:
            interrupted = None  # only an offer: the history itself is open and works
        self.post_message(HistoryOpened(store, interrupted))

    def show_list(self, store: HistoryStore) -> None:
        def closed(session_id: int | None) -> None:
            self.post_message(ChatChosen(session_id))

        self.app.push_screen(SessionsScreen(store), closed)

    def offer_resume(self, session: SessionInfo) -> None:
        """After a crash: offer the chat whose reply it cut off (ChatChosen with it, on yes)."""

        def answered(resume: bool | None) -> None:
            if resume:
                self.post_message(ChatChosen(session.id))

        title = session.title or "Untitled chat"
        question = (f"“{title}” ({session.model} on {session.host}) was cut off while a reply streamed: "
                    "the app stopped. What arrived was saved.\n\nOpen it again? (It stays in Ctrl+S Chats "
                    "either way.)")
        self.app.push_screen(ConfirmDialog("Resume the interrupted chat?", question, confirm="Resume",
                                           danger=False), answered)
