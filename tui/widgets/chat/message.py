"""One turn of a conversation on screen: the user's prompt, or a reply with its reasoning and numbers.

A reply is fed stream events as they come (`feed`) and told how it ended
(`finish`). Reasoning goes into a Collapsible that is open while the model
thinks and closes when the answer starts; the answer is Markdown streamed in
segments (markdown.StreamingMarkdown); under it, one line says how the
reply ended (stopped, broke, cut off by a crash) and one gives its numbers.
Until the first piece arrives, the border says how long the server has been
silent (a big model can take minutes to load; silence must not look like a hang),
and, on Ollama, whether the model is still loading or already in memory (`model_loading`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Collapsible, Static

from core.chat.stats import stats_line
from core.chat.types import (
    ChatEvent,
    ChatStats,
    ContentDelta,
    ContentWasThinking,
    StoredMessage,
    ThinkingDelta,
)
from core.waiting import loading_text
from tui.widgets.chat.markdown import StreamingMarkdown

SHOWN_PROMPT_CHARS = 4000  # a longer prompt is sent whole but shown cut, so a 1 MB paste cannot stall layout

STATUS_TEXT = {
    "stopped": "■ Stopped. The partial reply is kept; Ctrl+R asks again.",
    "interrupted": "■ Interrupted: the app stopped while this reply was streaming; this is what was saved.",
}


def shown_prompt(text: str, limit: int = SHOWN_PROMPT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text):,} characters in all; all of them were sent)"


class UserMessage(Static):
    """What the user sent, as typed (no Markdown, no markup)."""

    def __init__(self, text: str, *, message_id: int | None = None) -> None:
        super().__init__(Content(shown_prompt(text)), classes="user-message")
        self.text = text
        self.message_id = message_id
        self.border_title = "You"

    def set_text(self, text: str) -> None:
        self.text = text
        self.update(Content(shown_prompt(text)))


class ReplyView(Vertical):
    """A reply: header, reasoning (collapsible), answer, how it ended, its numbers."""

    clock: Callable[[], float] = staticmethod(time.monotonic)  # tests may set another on an instance

    def __init__(self, model: str, *, stored: StoredMessage | None = None) -> None:
        super().__init__(classes="reply")
        self.model = model
        self.stored = stored
        self.status = stored.status if stored is not None else "streaming"
        self.stats: ChatStats | None = stored.stats if stored is not None else None
        self.error: str | None = stored.error if stored is not None else None
        streaming = stored is None
        thinking = stored.thinking if stored is not None else ""
        content = stored.content if stored is not None else ""
        self.thinking = StreamingMarkdown(thinking, streaming=streaming, classes="thinking-text")
        self.answer = StreamingMarkdown(content, streaming=streaming, classes="answer")
        self.thinking_box = Collapsible(self.thinking, title="Thinking", collapsed=not streaming,
                                        classes="thinking")
        if not thinking:
            self.add_class("-no-thinking")
        self._answer_started = bool(content)
        self._waiting = streaming  # nothing has arrived yet
        self._waited_from = self.clock()
        self.model_loading: bool | None = None  # loading (True), in memory (False), not known (None)
        self._wait_timer: Timer | None = None
        self.border_title = model

    def compose(self) -> ComposeResult:
        yield self.thinking_box
        yield self.answer
        yield Static("", classes="reply-status")
        yield Static("", classes="reply-stats")

    def on_mount(self) -> None:
        if self.stored is not None:
            self._show_ending()
        elif self._waiting:  # the first piece may have been fed before this view was mounted
            self._show_wait()
            self._wait_timer = self.set_interval(1.0, self._show_wait)
        elif self.status == "streaming":
            self.border_subtitle = "streaming…"

    @property
    def waiting(self) -> bool:
        """Nothing of the reply has arrived yet."""
        return self._waiting

    def set_loading(self, loading: bool | None) -> None:
        self.model_loading = loading
        if self.is_mounted:
            self._show_wait()

    def _show_wait(self) -> None:
        if self._waiting:
            self.border_subtitle = loading_text(self.clock() - self._waited_from, self.model_loading)

    def _end_wait(self, subtitle: str) -> None:
        if self._waiting:
            self._waiting = False
            if self._wait_timer is not None:
                self._wait_timer.stop()
            self.border_subtitle = subtitle

    # -- streaming ------------------------------------------------------------------

    @property
    def content(self) -> str:
        return self.answer.text

    @property
    def reasoning(self) -> str:
        return self.thinking.text

    def feed(self, event: ChatEvent) -> None:
        """Show one stream event; cheap, since text reaches the screen in batches."""
        self._end_wait("streaming…")
        if isinstance(event, ContentDelta):
            if not self._answer_started:
                self._answer_started = True
                if not self.has_class("-no-thinking"):
                    self.thinking_box.collapsed = True
            self.answer.write(event.text)
        elif isinstance(event, ThinkingDelta):
            if self.has_class("-no-thinking"):
                self.remove_class("-no-thinking")
                self.thinking_box.collapsed = False
            self.thinking.write(event.text)
        elif isinstance(event, ContentWasThinking):
            self.answer.reset()
            self._answer_started = False
            self.remove_class("-no-thinking")
            self.thinking_box.collapsed = False
            self.thinking.write(event.text)

    async def finish(self, status: str, *, stats: ChatStats | None = None, error: str | None = None) -> None:
        """The reply ended: draw what is left and say how it ended."""
        self.status = status
        self.stats = stats
        self.error = error
        self._end_wait("")
        await self.thinking.finish()
        await self.answer.finish()
        self._show_ending()

    def warn(self, warning: str | None) -> None:
        """Add a warning under the finished reply (the context filled up, say)."""
        if warning:
            self._show_ending(warning)

    def _show_ending(self, warning: str | None = None) -> None:
        self.border_subtitle = ""
        lines = []
        if self.status == "error":
            lines.append(f"✗ {self.error or 'The reply broke off.'} Ctrl+R asks again.")
        elif self.status in STATUS_TEXT:
            lines.append(STATUS_TEXT[self.status])
        if warning:
            lines.append(f"! {warning}")
        status_line = self.query_one(".reply-status", Static)
        status_line.update(Content("\n".join(lines)))
        status_line.display = bool(lines)
        status_line.set_class(self.status in ("stopped", "interrupted"), "-stopped")
        status_line.set_class(self.status == "error", "-error")
        status_line.set_class(bool(warning) and self.status != "error", "-warning")
        stats = self.query_one(".reply-stats", Static)
        line = stats_line(self.stats) if self.stats is not None else ""
        stats.update(Content(line))
        stats.display = bool(line)
        # How it ended shows on the status line only: a class on the reply itself would
        # restyle every block of a long answer.
        self.set_class(not self.thinking.text, "-no-thinking")


def message_views(messages: list[StoredMessage], model: str) -> list[UserMessage | ReplyView]:
    """A saved chat's messages as the log shows them; a reply without its model is `model`'s."""
    views: list[UserMessage | ReplyView] = []
    for message in messages:
        if message.role == "user":
            views.append(UserMessage(message.content, message_id=message.id))
        elif message.role == "assistant":
            views.append(ReplyView(message.model or model, stored=message))
    return views
