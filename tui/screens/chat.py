"""The chat screen: try a model in a minute, see how fast it is, never lose what was said.

Everything said is in the history (core.history) the moment it is said: the
prompt when it is sent, the reply while it streams (core.chat_session). The
screen only shows it. A reply streams in a worker of the "chat" group; Esc
cancels that group, and the ReplyStream's `async with` keeps what arrived as
"stopped". Stream events go straight to the reply widget rather than through
a message each: at thousands of tokens a second a message per token would
cost more than drawing them, and the widget batches text to the screen
(chat_markdown) anyway.

Keys work inside tmux over SSH: Enter sends and Ctrl+J adds a line (see
chat_input), and every action is a Ctrl key the prompt box does not use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Select, Static

from core.chat import ChatBackend
from core.chat_session import ChatSession, ReplyStream
from core.chat_stats import context_warning
from core.config import HostConfig, Settings
from core.errors import LlamadeckError, ModelNotFound, OllamaError
from core.history import HistoryStore
from core.models import ChatOptions, ShowInfo, StoredMessage, StreamDone, StreamFailed
from core.ollama import OllamaClient
from core.ollama_host import select_host
from core.thinking import template_opens_thinking
from tui.screens.chat_compare import CompareScreen, CompareSetup
from tui.screens.chat_copy import CopyScreen, copy_choices
from tui.screens.chat_options import ChatOptionsScreen, ChatSetup
from tui.screens.chat_sessions import SessionsScreen
from tui.services import Services
from tui.widgets.chat_input import ChatInput
from tui.widgets.chat_log import ChatLog
from tui.widgets.chat_message import ReplyView, UserMessage
from tui.widgets.notice_bar import NoticeBar

YIELD_EVERY = 1 / 60  # seconds a burst of stream events may hold the event loop
YIELD_FOR = 0.001
STREAMING_WAIT = "A reply is still streaming; Esc stops it."
NOTHING_YET = "Nothing to ask again yet: send a prompt first."
PROMPT_HINT = "Enter send · Ctrl+J new line · ↑↓ earlier · Esc leave · F1 keys"


class HistoryOpened(Message):
    def __init__(self, store: HistoryStore) -> None:
        super().__init__()
        self.store = store


class HistoryFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ModelsListed(Message):
    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class ModelsFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ModelDescribed(Message):
    def __init__(self, info: ShowInfo, contexts: dict[str, int]) -> None:
        super().__init__()
        self.info = info
        self.contexts = contexts  # loaded models' context lengths (/api/ps)


class ChatScreen(Screen[None]):
    """Conversation log, prompt box, model picker; options, chats and compare in dialogs."""

    # Parsed when this screen first opens, not at start-up (it applies app-wide from then on).
    CSS_PATH = "../styles/chat.tcss"
    AUTO_FOCUS = "#prompt"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-normal")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (18, "-medium")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop", tooltip="Stop the reply (what arrived is kept), or stop editing"),
        Binding("escape", "leave_prompt", "Leave the prompt", show=False,
                tooltip="Focus the conversation, where 1-5, ? and q work again"),
        Binding("enter,i", "focus_prompt", "Type", show=False, tooltip="Back to the prompt box"),
        Binding("ctrl+r", "regenerate", "Regen", tooltip="Ask again for the last prompt"),
        Binding("ctrl+l", "edit_last", "Edit", tooltip="Put the last prompt back in the box; Enter resends"),
        Binding("ctrl+t", "toggle_thinking", "Think", tooltip="Show or hide the reasoning blocks"),
        Binding("ctrl+o", "options", "Options", tooltip="Model, system prompt, parameters, history limit"),
        Binding("ctrl+s", "sessions", "Chats", tooltip="Search, open, rename, delete, export chats"),
        Binding("ctrl+g", "copy", "Copy", tooltip="Copy the last reply or a code block (OSC 52)"),
        Binding("ctrl+f", "compare", "Compare", tooltip="One prompt to several models, side by side"),
        Binding("ctrl+n", "new_chat", "New", show=False, tooltip="A new chat (this one stays in Chats)"),
        Binding("f1", "app.help", "Keys", show=False),
    ]

    def __init__(self, settings: Settings, services: Services, host: HostConfig | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.host = host or select_host(settings)
        self.store: HistoryStore | None = None
        self.backend: ChatBackend | None = None
        self.client: OllamaClient | None = None
        self.session: ChatSession | None = None
        self.model: str | None = None
        self.system_prompt = ""
        self.options = ChatOptions()
        self.models: list[str] = []
        self.facts: dict[str, ShowInfo] = {}
        self.running_context: dict[str, int] = {}
        self.streaming = False
        self.editing = False
        self.show_thinking = True
        self._draft = ""
        self._pending_session: int | None = None
        self._handoff: tuple[str, str | None] | None = None
        self._ready = False  # composed and mounted: widgets can be queried

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="chat-bar"):
            yield Select[str]([], prompt="Pick a model", id="chat-model", compact=True)
            yield Static("", id="chat-facts")
        yield NoticeBar(id="chat-notice")
        yield ChatLog(id="chat-log")
        prompt = ChatInput(id="prompt")
        prompt.border_subtitle = PROMPT_HINT
        yield prompt
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._ready = True
        self.title = "Chat"
        self.backend = self.services.chat_backend(self.host)
        if self.host.kind == "ollama":
            self.client = self.services.ollama(self.host)
            self.list_models()
        else:
            self.query_one("#chat-model", Select).prompt = "Set the model with Ctrl+O"
        self.open_history()
        self.show_facts()
        if self._handoff is not None:
            self.use_model(*self._handoff)
            self._handoff = None

    async def on_unmount(self) -> None:
        self.workers.cancel_node(self)
        for closer in (self.backend, self.client):
            if closer is not None:
                await closer.aclose()
        if self.store is not None:
            self.store.close()

    # -- state shown ------------------------------------------------------------------

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

    def show_facts(self) -> None:
        think = self.options.think
        parts = [
            "think " + ("default" if think is None else "on" if think is True else "off" if think is False
                        else str(think)),
            f"history {self.options.history_limit or 'all'}",
        ]
        if self.known_context:
            parts.append(f"ctx {self.known_context:,}")
        elif self.trained_context:  # Ollama runs it with less unless num_ctx says otherwise
            parts.append(f"ctx ≤{self.trained_context:,}")
        parts.append(self.host.name)
        self.query_one("#chat-facts", Static).update(Content(" · ".join(parts)))
        self.sub_title = self.session.info.title if self.session and self.session.info.title else ""

    def say(self, sentence: str | None) -> None:
        """A sentence that stays until the next thing works (server down, a missing model...)."""
        self.query_one("#chat-notice", NoticeBar).show_notices([sentence] if sentence else [])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.streaming or self.editing
        if action == "leave_prompt":
            return self.prompt.has_focus
        if action == "focus_prompt":
            return not self.prompt.has_focus
        if action in ("regenerate", "edit_last", "copy"):
            return None if self.streaming or self.session is None else True
        return True

    def _set_streaming(self, streaming: bool) -> None:
        # No class on the screen for this: changing one restyles every widget in the log.
        self.streaming = streaming
        self.refresh_bindings()

    # -- background work ----------------------------------------------------------------

    @work(thread=True, group="history")
    def open_history(self) -> None:
        try:
            store = self.services.history()
        except LlamadeckError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        self.post_message(HistoryOpened(store))

    @on(HistoryOpened)
    def history_opened(self, event: HistoryOpened) -> None:
        self.store = event.store
        if event.store.notice:
            self.say(event.store.notice)
            self.notify(event.store.notice, title="Chat history", severity="warning", markup=False,
                        timeout=15)
        if self._pending_session is not None:
            self.resume(self._pending_session)

    @on(HistoryFailed)
    def history_failed(self, event: HistoryFailed) -> None:
        self.say(f"{event.reason} Chats cannot be saved, so sending is off until this is fixed.")

    @work(exclusive=True, group="models")
    async def list_models(self) -> None:
        assert self.client is not None
        try:
            models = await self.client.list_models()
        except LlamadeckError as err:
            self.post_message(ModelsFailed(str(err)))
            return
        self.post_message(ModelsListed([m.name for m in models]))

    @on(ModelsListed)
    def models_listed(self, event: ModelsListed) -> None:
        self.models = event.names
        self._fill_picker()
        if self.model is None and event.names:
            self.use_model(event.names[0])
        if not event.names:
            self.say(f"Ollama at {self.host.name} has no models yet: pull one on the Models screen (2).")

    @on(ModelsFailed)
    def models_failed(self, event: ModelsFailed) -> None:
        self.say(event.reason)

    def _fill_picker(self) -> None:
        names = list(dict.fromkeys([*self.models, *([self.model] if self.model else [])]))
        picker = self.query_one("#chat-model", Select)
        with self.prevent(Select.Changed):
            picker.set_options([(n, n) for n in names])
            if self.model:
                picker.value = self.model

    @work(exclusive=True, group="describe")
    async def describe_model(self, name: str) -> None:
        if self.client is None:
            return
        try:
            info = await self.client.show(name)
            running = await self.client.running()
        except ModelNotFound as err:
            self.say(str(err))  # sending would fail the same way: say it now
            return
        except OllamaError as err:
            # Only niceties (context length, <think> template) ride on this; the chat works without.
            self.notify(str(err), title=f"Could not read {name}'s details", severity="warning", markup=False)
            return
        contexts = {r.name: r.context_length for r in running if r.context_length}
        self.post_message(ModelDescribed(info, contexts))

    @on(ModelDescribed)
    def model_described(self, event: ModelDescribed) -> None:
        self.facts[event.info.name] = event.info
        self.running_context.update(event.contexts)
        if self.session is not None and event.info.name == self.session.info.model:
            self.session.starts_in_thinking = template_opens_thinking(event.info.template)
        self.show_facts()

    # -- choosing a model and settings ---------------------------------------------------

    def use_model(self, name: str, host: str | None = None) -> None:
        """Talk to `name` from the next prompt on (the model browser hands off here)."""
        if not self._ready:
            self._handoff = (name, host)
            return
        if host and host != self.host.name:
            wanted = self.settings.host(host) or select_host(self.settings, host)
            if wanted != self.host:
                self._switch_host(wanted)
        if self.session is not None and self.session.messages() and self.session.info.model != name \
                and not self.streaming:
            self.new_chat()  # a hand-off means "chat with this model": the old chat stays in Chats
        self.model = name
        self._fill_picker()
        if self.session is not None:
            self.session.configure(model=name)
        self.describe_model(name)
        self.show_facts()

    def _switch_host(self, host: HostConfig) -> None:
        old = [c for c in (self.backend, self.client) if c is not None]
        self.host = host
        self.backend = self.services.chat_backend(host)
        self.client = self.services.ollama(host) if host.kind == "ollama" else None
        self.session = None
        for closer in old:
            self.run_worker(closer.aclose(), group="close")
        if self.client is not None:
            self.list_models()

    @on(Select.Changed, "#chat-model")
    def model_picked(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.model:
            self.use_model(event.value)
            self.prompt.focus()

    def action_options(self) -> None:
        def apply(setup: ChatSetup | None) -> None:
            if setup is None:
                return
            self.system_prompt = setup.system_prompt
            self.options = setup.options
            if self.session is not None:
                self.session.configure(system_prompt=setup.system_prompt, options=setup.options)
            if setup.model and setup.model != self.model:
                self.use_model(setup.model)
            self.show_facts()

        self.app.push_screen(ChatOptionsScreen(self.models, ChatSetup(self.model, self.system_prompt,
                                                                      self.options)), apply)

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
        if self.store is None:
            return "The chat history is not open yet, so nothing can be saved; wait a moment."
        if not self.model:
            return "Pick a model first: the list at the top, or Ctrl+O."
        return None

    @on(ChatInput.Submitted)
    def submitted(self, event: ChatInput.Submitted) -> None:
        text = event.text
        if not text.strip():
            return
        refusal = self._refusal()
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
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
                    # Lines already in the socket buffer come without a pause: give the
                    # screen its turn (the Markdown flush, Esc) at least every frame.
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
                warning = await self._context_warning(reply) if reply.status == "complete" else None
                await view.finish(reply.status, stats=reply.stats, error=error, warning=warning)
                self.say(reply.save_error)
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

    def action_toggle_thinking(self) -> None:
        self.show_thinking = not self.show_thinking
        log = self.log_view
        log.set_class(not self.show_thinking, "-hide-thinking")
        if self.show_thinking:
            for view in log.query_children(ReplyView):
                view.thinking_box.collapsed = False
        log.request_folds()
        self.notify("Reasoning shown." if self.show_thinking else "Reasoning hidden (Ctrl+T shows it).",
                    markup=False, timeout=2)

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

    def action_new_chat(self) -> None:
        if self.streaming:
            self.notify(STREAMING_WAIT, markup=False)
            return
        self.new_chat()
        self.prompt.focus()

    def new_chat(self) -> None:
        self.session = None
        self._end_editing()
        self.log_view.remove_children()
        self.say(None)
        self.show_facts()

    # -- chats (the history) --------------------------------------------------------------

    def action_sessions(self) -> None:
        if self.store is None:
            self.notify("The chat history is not open.", markup=False)
            return
        if self.streaming:
            self.notify(STREAMING_WAIT, markup=False)
            return

        def opened(session_id: int | None) -> None:
            if session_id is not None:
                self.resume(session_id)
            elif self.session is not None:
                self._refresh_current()

        self.app.push_screen(SessionsScreen(self.store), opened)

    def _refresh_current(self) -> None:
        """The open chat may have been renamed or deleted in the list."""
        assert self.session is not None and self.store is not None
        try:
            self.session.info = self.store.session(self.session.id)
        except LlamadeckError:
            self.new_chat()  # it was deleted: what is on screen no longer exists anywhere
        self.show_facts()

    def resume(self, session_id: int) -> None:
        """Open a saved chat: its messages on screen, its model and settings in use."""
        if self.store is None or self.backend is None:
            self._pending_session = session_id
            return
        self._pending_session = None
        try:
            session = ChatSession.resume(self.store, self.backend, session_id)
            messages = session.messages()
        except LlamadeckError as err:
            self.say(str(err))
            return
        self.new_chat()
        self.session = session
        self.system_prompt = session.info.system_prompt
        self.options = session.info.options
        self.model = session.info.model
        self._fill_picker()
        self.describe_model(session.info.model)
        self.log_view.mount_all(self._views(messages, session.info.model))
        self.log_view.anchor()  # stays at the end while the replies in view are drawn
        self.prompt.sent = [m.content for m in messages if m.role == "user"]
        self.show_facts()

    @staticmethod
    def _views(messages: list[StoredMessage], model: str) -> list[UserMessage | ReplyView]:
        views: list[UserMessage | ReplyView] = []
        for message in messages:
            if message.role == "user":
                views.append(UserMessage(message.content, message_id=message.id))
            elif message.role == "assistant":
                views.append(ReplyView(message.model or model, stored=message))
        return views

    # -- compare ------------------------------------------------------------------------

    def action_compare(self) -> None:
        if self.host.kind != "ollama":
            self.notify("Compare loads and unloads models, which needs an Ollama host.", markup=False)
            return
        if self.streaming:
            self.notify(STREAMING_WAIT, markup=False)
            return
        last = self._last_user_view()
        prompt = self.prompt.text.strip() or (last.text if last is not None else "")
        setup = CompareSetup(host=self.host, models=self.models, chosen=[self.model] if self.model else [],
                             prompt=prompt, system_prompt=self.system_prompt, options=self.options)
        self.app.push_screen(CompareScreen(self.settings, self.services, setup))
