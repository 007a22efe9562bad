"""The turns of a conversation on the chat screen: send, stream, stop, ask again, edit, copy.

Everything said is in the history (core.chat.history) the moment it is said: the
prompt when it is sent, the reply while it streams (core.chat.session); this
only shows it. A reply streams in a worker of the "chat" group; Esc cancels
that group, and the ReplyStream's `async with` keeps what arrived as
"stopped". Stream events go straight to the reply widget rather than through
a message each: at thousands of tokens a second a message per token would
cost more than drawing them, and the widget batches text to the screen
(chat_markdown) anyway. When nothing was generated (the server is down, the
model is missing), the turn is undone and the prompt goes back in the box.

`ChatTurns` is the conversation half of `chat.ChatScreen`, which adds the
setup around it: host, models, history, options, chats and compare.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual import on, work
from textual.screen import Screen

from core.chat.backends import ChatBackend, request_messages
from core.chat.history import HistoryStore
from core.chat.prompt_size import PromptSize, measure, vocab_size
from core.chat.session import ChatSession, ReplyStream
from core.chat.stats import context_warning
from core.chat.thinking import template_opens_thinking
from core.chat.types import ChatMessage, ChatOptions, StreamDone, StreamFailed
from core.errors import LlamadeckError, OllamaError
from core.ollama.client import OllamaClient
from core.ollama.types import ShowInfo
from tui.screens.chat_copy import CopyScreen, copy_choices
from tui.screens.confirm import ConfirmDialog
from tui.widgets.chat_input import ChatInput
from tui.widgets.chat_log import ChatLog
from tui.widgets.chat_message import ReplyView, UserMessage

# A burst of stream events (lines already in the socket buffer) holds the event loop at most
# YIELD_EVERY seconds, so Esc and the screen get a turn at least ten times a second; yielding
# more often only makes a burst take longer (each turn lets a layout pass run).
YIELD_EVERY = 0.1
YIELD_FOR = 0.001
STREAMING_WAIT = "A reply is still streaming; Esc stops it."
NOTHING_YET = "Nothing to ask again yet: send a prompt first."


class ChatTurns(Screen[None]):
    """A conversation's state and turns; the widgets `#chat-log` and `#prompt` are the subclass's."""

    def __init__(self) -> None:
        super().__init__()
        self.store: HistoryStore | None = None
        self.backend: ChatBackend | None = None
        self.client: OllamaClient | None = None
        self.unusable_host: str | None = None  # why the host cannot be talked to (a bad address), if so
        self.session: ChatSession | None = None
        self.model: str | None = None
        self.system_prompt = ""
        self.options = ChatOptions()
        self.facts: dict[str, ShowInfo] = {}
        self.running_context: dict[str, int] = {}
        self.streaming = False
        self.editing = False
        self._draft = ""

    def say(self, sentence: str | None) -> None:
        """A sentence that stays until the next thing works; the subclass shows it."""
        raise NotImplementedError

    def show_facts(self) -> None:
        """Show the model's facts and the chat's title again; the subclass shows them."""
        raise NotImplementedError

    # -- state ------------------------------------------------------------------------

    @property
    def log_view(self) -> ChatLog:
        return self.query_one("#chat-log", ChatLog)

    @property
    def prompt(self) -> ChatInput:
        return self.query_one("#prompt", ChatInput)

    @property
    def context_length(self) -> int | None:
        """What the server runs the model with: the chat's num_ctx, else /api/ps, else the trained length."""
        return self.known_context or self.trained_context

    @property
    def known_context(self) -> int | None:
        """The context the server really uses, when known (num_ctx, or the loaded model's in /api/ps)."""
        if self.options.num_ctx:
            return self.options.num_ctx
        return self.running_context.get(self.model or "")

    @property
    def trained_context(self) -> int | None:
        info = self.facts.get(self.model or "")
        return info.context_length if info is not None else None

    def _set_streaming(self, streaming: bool) -> None:
        # No class on the screen for this: changing one restyles every widget in the log.
        self.streaming = streaming
        self.refresh_bindings()

    # -- sending ----------------------------------------------------------------------

    def _session(self) -> ChatSession:
        if self.session is None:
            assert self.store is not None and self.backend is not None and self.model is not None
            info = self.facts.get(self.model)
            opens_thinking = template_opens_thinking(info.template if info else None)
            self.session = ChatSession.start(self.store, self.backend, model=self.model,
                                             system_prompt=self.system_prompt, options=self.options,
                                             starts_in_thinking=opens_thinking)
        return self.session

    def _refusal(self) -> str | None:
        """Why nothing can be sent right now, or None."""
        if self.streaming:
            return STREAMING_WAIT
        if self.backend is None:
            return self.unusable_host or "There is no server to send to; pick a host with Ctrl+O."
        if self.store is None:
            return "The chat history is not open yet, so nothing can be saved; wait a moment."
        if not self.model:
            return "Pick a model first: the list at the top, or Ctrl+O."
        return None

    def _oversize(self, text: str) -> PromptSize | None:
        """The estimate when sending `text` now would overflow the context, else None."""
        context = self.context_length
        if not context or not self.model:
            return None
        earlier: list[ChatMessage] = []
        if self.session is not None:
            history = self.session.messages()
            if self.editing:  # the last prompt and its reply are about to be replaced
                users = [i for i, m in enumerate(history) if m.role == "user"]
                history = history[:users[-1]] if users else history
            info = self.session.info
            earlier = request_messages(info.system_prompt, history, info.options.history_limit)
        elif self.system_prompt:
            earlier = [ChatMessage("system", self.system_prompt)]
        size = measure(text, earlier, context, vocab_size(self.facts.get(self.model)))
        return size if size.worth_asking else None

    @on(ChatInput.Submitted)
    def submitted(self, event: ChatInput.Submitted) -> None:
        text = event.text
        if not text.strip():
            return
        refusal = self._refusal()
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
        size = self._oversize(text)
        if size is None:
            self._send(text)
            return

        def answer(send: bool | None) -> None:
            if send and not self.streaming:
                self._send(text)
            else:
                self.prompt.focus()  # declined: the text is still in the box, nothing is lost

        assert self.model is not None
        self.app.push_screen(ConfirmDialog("Longer than the model's context",
                                           f"{size.sentence(self.model)}\n\nSend it anyway?",
                                           confirm="Send anyway", danger=False), answer)

    def _send(self, text: str) -> None:
        try:
            session = self._session()
        except LlamadeckError as err:
            self.say(str(err))
            return
        self.prompt.remember(text)
        self.prompt.clear()
        if self.editing:
            self._end_editing()
            user = self._last_user_view()
            if user is not None:
                user.set_text(text)
                self._remove_after(user)
            reply = ReplyView(session.info.model)
            self.log_view.mount(reply)
            self.stream_reply(reply, lambda: session.edit_last(text))
            return
        user = UserMessage(text)
        reply = ReplyView(session.info.model)
        self.log_view.mount_all([user, reply])
        self.stream_reply(reply, lambda: session.send(text), prompt=text, user=user)

    @on(ChatInput.Refused)
    def refused(self, event: ChatInput.Refused) -> None:
        self.say(f"Not pasted: {event.reason}")

    @work(exclusive=True, group="chat")
    async def stream_reply(self, view: ReplyView, start: Callable[[], ReplyStream], *,
                           prompt: str | None = None, user: UserMessage | None = None) -> None:
        self._set_streaming(True)
        self.log_view.anchor()
        try:
            reply = start()
        except LlamadeckError as err:
            self._set_streaming(False)
            await self._take_back(view, user, prompt, str(err))
            return
        failed: StreamFailed | None = None
        unexpected: str | None = None
        yielded = time.monotonic()
        try:
            async with reply:
                async for event in reply:
                    if isinstance(event, StreamFailed):
                        failed = event
                    elif not isinstance(event, StreamDone):
                        view.feed(event)
                    if time.monotonic() - yielded > YIELD_EVERY:
                        await asyncio.sleep(YIELD_FOR)  # a real sleep: timers and message queues run
                        yielded = time.monotonic()
        except Exception as err:  # a bug below core's typed errors: the reply is saved, say what broke
            unexpected = f"The reply stopped on an unexpected error ({type(err).__name__}: {err})."
        finally:
            self._set_streaming(False)
            if failed is not None and failed.prompt_withdrawn:
                await self._take_back(view, user, prompt, failed.message)
            elif failed is not None and not (reply.content or reply.thinking):
                await view.remove()  # a retry that produced nothing: the old reply is gone, say why
                self.say(failed.message)
            else:
                error = unexpected or (failed.message if failed is not None else reply.error)
                await view.finish(reply.status, stats=reply.stats, error=error)
                self.say(reply.save_error)
                if reply.status == "complete":  # asks the server (/api/ps): after the reply is drawn
                    view.warn(await self._context_warning(reply))
            self.show_facts()

    async def _take_back(self, view: ReplyView, user: UserMessage | None, prompt: str | None,
                         sentence: str) -> None:
        """Nothing was generated: the turn is undone, the prompt goes back in the box, nothing is lost."""
        await view.remove()
        if user is not None:
            await user.remove()
        if prompt is not None and not self.prompt.text.strip():
            self.prompt.set_prompt(prompt)
        if self.session is not None and not self.session.messages() and self.store is not None:
            try:
                self.store.delete_session(self.session.id)  # no empty conversations in the list
            except LlamadeckError as err:
                sentence = f"{sentence} {err}"
            self.session = None
        self.say(sentence)

    async def _context_warning(self, reply: ReplyStream) -> str | None:
        model = reply.session.info.model
        if self.client is not None and not self.options.num_ctx:
            try:
                running = await self.client.running()
            except OllamaError:
                running = []  # the context length then comes from the model's facts
            for entry in running:
                if entry.name == model and entry.context_length:
                    self.running_context[model] = entry.context_length
        return context_warning(reply.stats, self.context_length)

    # -- actions on the conversation ----------------------------------------------------

    def action_stop(self) -> None:
        if self.streaming:
            self.workers.cancel_group(self, "chat")
        elif self.editing:
            self._end_editing()
            self.prompt.set_prompt(self._draft)

    def action_leave_prompt(self) -> None:
        self.log_view.focus()

    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def _last_user_view(self) -> UserMessage | None:
        users = list(self.log_view.query_children(UserMessage))
        return users[-1] if users else None

    def _remove_after(self, widget: UserMessage) -> None:
        children = list(self.log_view.children)
        later = children[children.index(widget) + 1:]
        if later:
            self.log_view.remove_children(later)

    def action_regenerate(self) -> None:
        if self.streaming or self.session is None:
            self.notify(STREAMING_WAIT if self.streaming else NOTHING_YET, markup=False)
            return
        user = self._last_user_view()
        if user is None:
            self.notify(NOTHING_YET, markup=False)
            return
        session = self.session
        self._remove_after(user)
        reply = ReplyView(session.info.model)
        self.log_view.mount(reply)
        self.say(None)
        self.stream_reply(reply, session.retry)

    def action_edit_last(self) -> None:
        if self.streaming or self.session is None:
            return
        user = self._last_user_view()
        if user is None:
            self.notify("There is no message to edit yet.", markup=False)
            return
        self._draft = self.prompt.text
        self.prompt.set_prompt(user.text)
        self.editing = True
        self.prompt.add_class("-editing")
        self.prompt.border_title = "Editing your last message: Enter resends it, Esc cancels"
        self.prompt.focus()
        self.refresh_bindings()

    def _end_editing(self) -> None:
        self.editing = False
        self.prompt.remove_class("-editing")
        self.prompt.border_title = None
        self.refresh_bindings()

    def action_copy(self) -> None:
        replies = [v for v in self.log_view.query_children(ReplyView) if v.content]
        if not replies:
            self.notify("There is no reply to copy yet.", markup=False)
            return

        def copy(text: str | None) -> None:
            if text:
                self.app.copy_to_clipboard(text)
                self.notify(f"Copied {len(text):,} characters.", title="Clipboard", markup=False, timeout=3)

        self.app.push_screen(CopyScreen(copy_choices(replies[-1].content)), copy)
