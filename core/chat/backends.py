"""Streaming chat: what every backend promises, and the pieces they share.

A backend (`core.chat.ollama.OllamaChatBackend`, `core.chat.openai.OpenAIChatBackend`)
turns one request into an async stream of `ContentDelta` / `ThinkingDelta`
(and at most one `ContentWasThinking`) ending in `StreamDone(stats)`. It raises
the typed errors of core.errors: `OllamaUnreachable` when nothing answers,
`ModelNotFound`, `StreamError` when a stream breaks (retrying may help), and
`OllamaError` for a refusal that retrying will not fix. Closing the stream
(`aclose()`, or cancelling the task that iterates it) closes the connection,
which makes the server stop generating.

`core.chat.backend_for` picks the backend for a configured host;
`core.chat.session.ChatSession` puts a backend and the history together;
screens and the CLI use that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from core.chat.thinking import ThinkSplitter
from core.chat.types import (
    ChatMessage,
    ChatOptions,
    ContentDelta,
    ContentWasThinking,
    StoredMessage,
    StreamDone,
    ThinkingDelta,
)
from core.config import HostConfig

Clock = Callable[[], float]
BackendEvent = ContentDelta | ThinkingDelta | ContentWasThinking | StreamDone


class ChatBackend(Protocol):
    """A server that streams chat replies."""

    host: HostConfig

    def stream(self, model: str, messages: Sequence[ChatMessage], options: ChatOptions,
               *, starts_in_thinking: bool = False) -> AsyncIterator[BackendEvent]:
        """Stream one reply. `starts_in_thinking`: the model's template opens `<think>` itself."""
        ...

    async def aclose(self) -> None:
        """Release the connection pool."""
        ...


class ReplyMeter:
    """Turns a server's raw pieces into stream events and times them.

    Shared by the backends so inline `<think>` splitting and the time to first
    token mean the same on every server. The clock starts when the meter is
    made (just before the request goes out); the first token is the first
    non-empty piece of reasoning or answer, before any held-back tag.
    """

    def __init__(self, clock: Clock, *, starts_in_thinking: bool = False) -> None:
        self._clock = clock
        self._splitter = ThinkSplitter(starts_inside=starts_in_thinking)
        self.started = clock()
        self.first_token: float | None = None

    def _mark(self, text: str) -> None:
        if text and self.first_token is None:
            self.first_token = self._clock()

    def thinking(self, text: str) -> list[BackendEvent]:
        """Reasoning the server sent in its own field (Ollama `thinking`, OpenAI `reasoning_content`)."""
        self._mark(text)
        if not text:
            return []
        self._splitter.native_thinking_seen()
        return [ThinkingDelta(text)]

    def content(self, text: str) -> list[BackendEvent]:
        self._mark(text)
        return list(self._splitter.feed(text)) if text else []

    def finish(self) -> list[BackendEvent]:
        return list(self._splitter.flush())

    @property
    def ttft(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.started

    def elapsed(self) -> float:
        return self._clock() - self.started


def request_messages(system_prompt: str, history: Sequence[StoredMessage],
                     limit: int | None = None) -> list[ChatMessage]:
    """The messages one request sends: the system prompt, then the last `limit` turns.

    Stopped and interrupted replies go back as far as they got (the user saw
    them); replies that broke before saying anything do not. The window never
    starts with a reply whose prompt was cut off.
    """
    turns = [
        ChatMessage(m.role, m.content)
        for m in history
        if m.role in ("user", "assistant") and not (m.role == "assistant" and not m.content)
    ]
    if limit is not None:
        turns = turns[-limit:] if limit > 0 else []
        while turns and turns[0].role == "assistant":
            turns.pop(0)
    head = [ChatMessage("system", system_prompt)] if system_prompt else []
    return head + turns


def error_text(body: object) -> str | None:
    """The message in an error body, whichever server shaped it.

    Ollama: {"error": "..."}; llama-server: {"error": {"message": ...}};
    vLLM: {"message": ...} or FastAPI's {"detail": ...}.
    """
    if isinstance(body, str):
        return body.strip() or None
    if not isinstance(body, dict):
        return None
    for key in ("error", "message", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, dict):
            inner = error_text(value)
            if inner:
                return inner
        if isinstance(value, list) and value and isinstance(value[0], dict):
            inner = error_text(value[0]) or (str(value[0].get("msg")) if value[0].get("msg") else None)
            if inner:
                return inner
    return None
