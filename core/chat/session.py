"""A conversation in progress: the history store and a backend, so no reply is ever lost.

The user's message is written when it is sent; the reply is written while it
streams (every `save_every` seconds) and when it ends, however it ends:

- complete: `StreamDone(stats)` is the last event;
- stopped: the consumer was cancelled (Esc in the chat screen, Ctrl-C in the
  CLI) or left the `async with` early; what arrived is kept as "stopped";
- failed: `StreamFailed` is the last event. With some reply text, it is kept
  as "error" and `retry()` asks again; with none, the turn is undone and
  `prompt_withdrawn` tells the UI to leave the prompt in the input.

Use it as

    reply = session.send(prompt)
    async with reply:
        async for event in reply:
            ...

`async with` is what guarantees the "stopped" save when a Textual worker is
cancelled while it awaits something of its own (a Markdown stream write).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import TracebackType

from core.chat.backends import BackendEvent, ChatBackend, Clock, request_messages
from core.chat.history import HistoryStore
from core.chat.host import server_url
from core.chat.types import (
    ChatEvent,
    ChatOptions,
    ChatStats,
    ContentDelta,
    ContentWasThinking,
    SessionInfo,
    StoredMessage,
    StreamDone,
    StreamFailed,
    ThinkingDelta,
)
from core.errors import ChatError, HistoryError, LlamadeckError, OllamaUnreachable, StreamError

SAVE_EVERY = 2.0  # seconds between writes of a streaming reply


def is_retryable(err: LlamadeckError) -> bool:
    """Could asking again help? Yes for a server that is down or a broken stream, and for a
    server-side failure (HTTP 5xx, e.g. a crashed runner); no for a refusal or a missing model."""
    if isinstance(err, (OllamaUnreachable, StreamError)):
        return True
    status = getattr(err.__cause__, "status_code", None)
    return isinstance(status, int) and status >= 500


class ChatSession:
    """One conversation: what was said (in the store) and who answers (the backend)."""

    def __init__(self, store: HistoryStore, backend: ChatBackend, info: SessionInfo, *,
                 clock: Clock = time.monotonic, save_every: float = SAVE_EVERY,
                 starts_in_thinking: bool = False) -> None:
        self.store = store
        self.backend = backend
        self.info = info
        self.clock = clock
        self.save_every = save_every
        self.starts_in_thinking = starts_in_thinking  # see core.chat.thinking.template_opens_thinking

    @classmethod
    def start(cls, store: HistoryStore, backend: ChatBackend, *, model: str, system_prompt: str = "",
              options: ChatOptions | None = None, title: str = "", clock: Clock = time.monotonic,
              save_every: float = SAVE_EVERY, starts_in_thinking: bool = False) -> ChatSession:
        """A new conversation with `model` on the backend's host."""
        info = store.create_session(model=model, host=backend.host.name, system_prompt=system_prompt,
                                    options=options, title=title, host_url=server_url(backend.host),
                                    host_kind=backend.host.kind)
        return cls(store, backend, info, clock=clock, save_every=save_every,
                   starts_in_thinking=starts_in_thinking)

    @classmethod
    def resume(cls, store: HistoryStore, backend: ChatBackend, session_id: int, *,
               clock: Clock = time.monotonic, save_every: float = SAVE_EVERY,
               starts_in_thinking: bool = False) -> ChatSession:
        return cls(store, backend, store.session(session_id), clock=clock, save_every=save_every,
                   starts_in_thinking=starts_in_thinking)

    @property
    def id(self) -> int:
        return self.info.id

    def messages(self) -> list[StoredMessage]:
        return self.store.messages(self.info.id)

    def configure(self, *, model: str | None = None, system_prompt: str | None = None,
                  options: ChatOptions | None = None) -> None:
        """Change what the next reply uses; earlier replies keep the model that wrote them."""
        host = self.backend.host
        self.store.update_session(self.info.id, model=model, system_prompt=system_prompt, options=options,
                                  host=host.name, host_url=server_url(host), host_kind=host.kind)
        self.info = self.store.session(self.info.id)

    # -- turns ----------------------------------------------------------------

    def send(self, prompt: str) -> ReplyStream:
        """Store the prompt now and return the reply to stream."""
        if not prompt.strip():
            raise ChatError("The message is empty; type something to send.")
        user_id = self.store.add_message(self.info.id, "user", prompt)
        self.info = self.store.session(self.info.id)  # the first prompt names the session
        return self._reply(user_id, withdraw=True)

    def retry(self) -> ReplyStream:
        """Ask again for the last prompt; the reply it had (stopped, broken or fine) is replaced."""
        last = self._last_prompt()
        return self._reply(last.id, withdraw=False)

    def edit_last(self, prompt: str) -> ReplyStream:
        """Replace the last prompt and ask again."""
        if not prompt.strip():
            raise ChatError("The message is empty; type something to send.")
        last = self._last_prompt()
        self.store.edit_message(last.id, prompt)
        return self._reply(last.id, withdraw=False)

    def _last_prompt(self) -> StoredMessage:
        history = self.messages()
        users = [m for m in history if m.role == "user"]
        if not users:
            raise ChatError("There is no message to answer yet; send one first.")
        last = users[-1]
        after = [m.id for m in history if m.id > last.id]
        if after:
            self.store.delete_messages(after)
        return last

    def _reply(self, user_id: int, *, withdraw: bool) -> ReplyStream:
        history = self.messages()
        request = request_messages(self.info.system_prompt, history, self.info.options.history_limit)
        reply_id = self.store.begin_reply(self.info.id, self.info.model)
        events = self.backend.stream(self.info.model, request, self.info.options,
                                     starts_in_thinking=self.starts_in_thinking)
        return ReplyStream(self, reply_id, user_id, events, withdraw_prompt=withdraw)


class ReplyStream:
    """One reply as it streams: an async iterator of ChatEvent, and an async context manager.

    `content`, `thinking`, `status`, `stats` and `error` describe the reply so
    far; after the `async with`, they are final (and saved).
    """

    def __init__(self, session: ChatSession, message_id: int, user_message_id: int,
                 events: AsyncIterator[BackendEvent], *, withdraw_prompt: bool) -> None:
        self.session = session
        self.message_id = message_id
        self.user_message_id = user_message_id
        self.status = "streaming"
        self.stats: ChatStats | None = None
        self.error: str | None = None
        self.save_error: str | None = None  # a periodic save failed; the final one is retried
        self._events = events
        self._withdraw_prompt = withdraw_prompt
        self._content: list[str] = []
        self._thinking: list[str] = []
        self._last_save = session.clock()

    @property
    def content(self) -> str:
        return "".join(self._content)

    @property
    def thinking(self) -> str:
        return "".join(self._thinking)

    @property
    def finished(self) -> bool:
        return self.status != "streaming"

    async def __aenter__(self) -> ReplyStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self.status == "streaming":
                self._end("stopped")
        finally:
            await self._close_events()

    def __aiter__(self) -> ReplyStream:
        return self

    async def __anext__(self) -> ChatEvent:
        if self.status != "streaming":
            raise StopAsyncIteration
        try:
            event = await anext(self._events)
        except StopAsyncIteration:
            return self._fail(StreamError("The reply stream ended without its final message.",
                                          hint="Retry to ask again."))
        except LlamadeckError as err:
            return self._fail(err)
        except Exception as err:  # a bug below: keep the reply, then let it surface
            self._end("error", error=f"{type(err).__name__}: {err}")
            raise
        except BaseException:  # cancelled (Esc, Ctrl-C): what arrived is kept
            self._end("stopped")
            raise
        self._apply(event)
        return event

    async def aclose(self) -> None:
        """Stop now (if still streaming) and close the connection."""
        await self.__aexit__(None, None, None)

    # -- internals ------------------------------------------------------------

    def _apply(self, event: BackendEvent) -> None:
        if isinstance(event, ContentDelta):
            self._content.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self._thinking.append(event.text)
        elif isinstance(event, ContentWasThinking):
            self._content.clear()
            self._thinking.append(event.text)
        elif isinstance(event, StreamDone):
            self.stats = event.stats
            self._end("complete")
            return
        now = self.session.clock()
        if now - self._last_save >= self.session.save_every:
            self._last_save = now
            try:
                self._save()
            except HistoryError as err:
                self.save_error = str(err)

    def _save(self) -> None:
        self.session.store.save_reply(self.message_id, content=self.content, thinking=self.thinking,
                                      status=self.status, stats=self.stats, error=self.error)

    def _end(self, status: str, *, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self._save()

    def _fail(self, err: LlamadeckError) -> StreamFailed:
        retryable = is_retryable(err)
        if self._content or self._thinking:
            self._end("error", error=str(err))
            return StreamFailed(str(err), retryable=retryable)
        # Nothing was generated: undo the turn rather than keep an empty reply.
        self.status = "error"
        self.error = str(err)
        store = self.session.store
        undo = [self.message_id] + ([self.user_message_id] if self._withdraw_prompt else [])
        store.delete_messages(undo)
        return StreamFailed(str(err), retryable=retryable, prompt_withdrawn=self._withdraw_prompt)

    async def _close_events(self) -> None:
        close = getattr(self._events, "aclose", None)
        if close is not None:
            try:
                await close()
            except RuntimeError:  # pragma: no cover - closed while running: it is ending anyway
                pass
