"""The chats on the chat screen: the history opened in a thread, and the list of chats (Ctrl+S).

Opening the history may take a moment (a damaged file is checked and moved
aside), so it runs in this widget's worker and posts HistoryOpened or
HistoryFailed. The list (sessions.SessionsScreen) ends in ChatChosen:
the chat to open, or None when the list was closed (the open chat may have
been renamed or deleted there). The widget draws nothing itself.
"""

from __future__ import annotations

from textual import work
from textual.message import Message
from textual.widget import Widget

from core.chat.history import HistoryStore
from core.errors import LlamadeckError
from tui.screens.chat.sessions import SessionsScreen
from tui.services import Services


class HistoryOpened(Message):
    def __init__(self, store: HistoryStore) -> None:
        super().__init__()
        self.store = store


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
        self.post_message(HistoryOpened(store))

    def show_list(self, store: HistoryStore) -> None:
        def closed(session_id: int | None) -> None:
            self.post_message(ChatChosen(session_id))

        self.app.push_screen(SessionsScreen(store), closed)
