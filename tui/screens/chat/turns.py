"""The turns of a conversation on the chat screen: send, stream, stop, ask again, edit.

Everything said is in the history (core.chat.history) the moment it is said: the
prompt when it is sent, the reply while it streams (core.chat.session); this
only shows it. A reply streams in this widget's worker of the "chat" group;
Esc cancels that group, and the ReplyStream's `async with` keeps what arrived
as "stopped". Stream events go straight to the reply widget rather than
through a message each: at thousands of tokens a second a message per token
would cost more than drawing them, and the widget batches text to the screen
(widgets/chat/markdown) anyway. When nothing was generated (the server is down, the
model is missing), the turn is undone and the prompt goes back in the box.

The widget draws nothing itself. The chat screen hands it the state, the log
and the prompt box; it posts ReplyFinished when a turn is over and TurnSaid
for a sentence the screen should show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual import work
from textual.message import Message
from textual.widget import Widget

from core.chat.session import ReplyStream
from core.chat.stats import context_warning
from core.chat.types import StreamDone, StreamFailed
from core.errors import LlamadeckError, OllamaError
from tui.screens.chat.state import STREAMING_WAIT, ChatState
from tui.screens.confirm import ConfirmDialog
from tui.widgets.chat.input import ChatInput
from tui.widgets.chat.log import ChatLog
from tui.widgets.chat.message import ReplyView, UserMessage

# A burst of stream events (lines already in the socket buffer) holds the event loop at most
# YIELD_EVERY seconds, so Esc and the screen get a turn at least ten times a second; yielding
# more often only makes a burst take longer (each turn lets a layout pass run).
YIELD_EVERY = 0.1
YIELD_FOR = 0.001
NOTHING_YET = "Nothing to ask again yet: send a prompt first."
EDITING_TITLE = "Editing your last message: Enter resends it, Esc cancels"


class ReplyFinished(Message):
    """The turn is over (complete, stopped, failed or taken back): the chat's facts may have changed."""


class TurnSaid(Message):
    """A sentence for the screen's notice line, or None to clear it."""

    def __init__(self, sentence: str | None) -> None:
        super().__init__()
        self.sentence = sentence


class ChatTurns(Widget):
    """Sends prompts and streams the replies into the log; holds whether one streams or is being edited."""

    DEFAULT_CSS = "ChatTurns { display: none; }"
    LOAD_POLL = 1.0  # seconds between looks at /api/ps while a model loads

    def __init__(self, state: ChatState, log: ChatLog, prompt: ChatInput) -> None:
        super().__init__()
        self.state = state
        self.log_view = log
        self.prompt = prompt
        self.streaming = False
        self.editing = False
        self._draft = ""

    def _set_streaming(self, streaming: bool) -> None:
        # No class on the screen for this: changing one restyles every widget in the log.
        self.streaming = streaming
        self.refresh_bindings()  # Esc stops the reply while it streams
        # A blinking cursor repaints twice a second; while a reply streams that is work taken from
        # the model (with partial offload llama.cpp runs on every core).
        self.prompt.cursor_blink = not streaming

    def _say(self, sentence: str | None) -> None:
        self.post_message(TurnSaid(sentence))

    # -- sending ----------------------------------------------------------------------

    def submit(self, text: str) -> None:
        """Enter in the prompt box: send `text`, say why not, or ask first if it overflows the context."""
        if not text.strip():
            return
        refusal = self.state.refusal(streaming=self.streaming)
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
        size = self.state.oversize(text, editing=self.editing)
        if size is None:
            self.send(text)
            return

        def answer(send: bool | None) -> None:
            if send and not self.streaming:
                self.send(text)
            else:
                self.prompt.focus()  # declined: the text is still in the box, nothing is lost

        assert self.state.model is not None
        self.app.push_screen(ConfirmDialog("Longer than the model's context",
                                           f"{size.sentence(self.state.model)}\n\nSend it anyway?",
                                           confirm="Send anyway", danger=False), answer)

    def send(self, text: str) -> None:
        """Send `text` as the next prompt, or as the edited last one."""
        try:
            session = self.state.open_session()
        except LlamadeckError as err:
            self._say(str(err))
            return
        self.prompt.remember(text)
        self.prompt.clear()
        if self.editing:
            self.end_editing()
            user = self.last_user_view()
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

    @work(exclusive=True, group="chat")
    async def stream_reply(self, view: ReplyView, start: Callable[[], ReplyStream], *,
                           prompt: str | None = None, user: UserMessage | None = None) -> None:
        self._set_streaming(True)
        self.log_view.anchor()
        view.set_loading(self.state.loading(view.model))
        if view.model_loading:
            self._watch_load(view)
        try:
            reply = start()
        except LlamadeckError as err:
            self._set_streaming(False)
            await self._take_back(view, user, prompt, str(err))
            self.post_message(ReplyFinished())
            return
        failed: StreamFailed | None = None
        unexpected: str | None = None
        try:
            failed = await self._feed(reply, view)
        except Exception as err:  # a bug below core's typed errors: the reply is saved, say what broke
            unexpected = f"The reply stopped on an unexpected error ({type(err).__name__}: {err})."
        finally:
            self._set_streaming(False)
            await self._finish(reply, view, failed, unexpected, user, prompt)
            self.post_message(ReplyFinished())

    @staticmethod
    async def _feed(reply: ReplyStream, view: ReplyView) -> StreamFailed | None:
        """Stream `reply` into `view`; the failure the stream ended with, if any."""
        failed: StreamFailed | None = None
        yielded = time.monotonic()
        async with reply:
            async for event in reply:
                if isinstance(event, StreamFailed):
                    failed = event
                elif not isinstance(event, StreamDone):
                    view.feed(event)
                if time.monotonic() - yielded > YIELD_EVERY:
                    await asyncio.sleep(YIELD_FOR)  # a real sleep: timers and message queues run
                    yielded = time.monotonic()
        return failed

    @work(group="load-watch")
    async def _watch_load(self, view: ReplyView) -> None:
        """While the model loads, ask the server (/api/ps) every LOAD_POLL s whether it is in memory yet."""
        client = self.state.client
        while client is not None and view.waiting and view.model_loading:
            await asyncio.sleep(self.LOAD_POLL)
            try:
                running = await client.running()
            except OllamaError:
                return  # the reply itself says what is wrong with the server
            self.state.resident = {r.name for r in running}
            if view.waiting:
                view.set_loading(self.state.loading(view.model))

    async def _finish(self, reply: ReplyStream, view: ReplyView, failed: StreamFailed | None,
                      unexpected: str | None, user: UserMessage | None, prompt: str | None) -> None:
        if failed is not None and failed.prompt_withdrawn:
            await self._take_back(view, user, prompt, failed.message)
        elif failed is not None and not (reply.content or reply.thinking):
            await view.remove()  # a retry that produced nothing: the old reply is gone, say why
            self._say(failed.message)
        else:
            error = unexpected or (failed.message if failed is not None else reply.error)
            await view.finish(reply.status, stats=reply.stats, error=error)
            self._say(reply.save_error)
            if reply.status == "complete":  # asks the server (/api/ps): after the reply is drawn
                view.warn(await self._context_warning(reply))

    async def _take_back(self, view: ReplyView, user: UserMessage | None, prompt: str | None,
                         sentence: str) -> None:
        """Nothing was generated: the turn is undone, the prompt goes back in the box, nothing is lost."""
        await view.remove()
        if user is not None:
            await user.remove()
        if prompt is not None and not self.prompt.text.strip():
            self.prompt.set_prompt(prompt)
        state = self.state
        if state.session is not None and not state.session.messages() and state.store is not None:
            try:
                state.store.delete_session(state.session.id)  # no empty conversations in the list
            except LlamadeckError as err:
                sentence = f"{sentence} {err}"
            state.session = None
        self._say(sentence)

    async def _context_warning(self, reply: ReplyStream) -> str | None:
        state = self.state
        model = reply.session.info.model
        if state.client is not None and not state.options.num_ctx:
            try:
                running = await state.client.running()
            except OllamaError:
                running = []  # the context length then comes from the model's facts
            for entry in running:
                if entry.name == model and entry.context_length:
                    state.running_context[model] = entry.context_length
        return context_warning(reply.stats, state.context_length)

    # -- the turns already taken ------------------------------------------------------

    def stop(self) -> None:
        """Esc: stop the reply (what arrived is kept), or stop editing and give the draft back."""
        if self.streaming:
            self.workers.cancel_group(self, "chat")
        elif self.editing:
            self.end_editing()
            self.prompt.set_prompt(self._draft)

    def last_user_view(self) -> UserMessage | None:
        users = list(self.log_view.query_children(UserMessage))
        return users[-1] if users else None

    def _remove_after(self, widget: UserMessage) -> None:
        children = list(self.log_view.children)
        later = children[children.index(widget) + 1:]
        if later:
            self.log_view.remove_children(later)

    def regenerate(self) -> None:
        """Ask again for the last prompt: its reply is replaced."""
        session = self.state.session
        if self.streaming or session is None:
            self.notify(STREAMING_WAIT if self.streaming else NOTHING_YET, markup=False)
            return
        user = self.last_user_view()
        if user is None:
            self.notify(NOTHING_YET, markup=False)
            return
        self._remove_after(user)
        reply = ReplyView(session.info.model)
        self.log_view.mount(reply)
        self._say(None)
        self.stream_reply(reply, session.retry)

    def edit_last(self) -> None:
        """Put the last prompt back in the box; the next send replaces it and its reply."""
        if self.streaming or self.state.session is None:
            return
        user = self.last_user_view()
        if user is None:
            self.notify("There is no message to edit yet.", markup=False)
            return
        self._draft = self.prompt.text
        self.prompt.set_prompt(user.text)
        self.editing = True
        self.prompt.add_class("-editing")
        self.prompt.border_title = EDITING_TITLE
        self.prompt.focus()
        self.refresh_bindings()

    def end_editing(self) -> None:
        self.editing = False
        self.prompt.remove_class("-editing")
        self.prompt.border_title = None
        self.refresh_bindings()
