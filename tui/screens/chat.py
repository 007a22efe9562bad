"""The chat screen: try a model in a minute, see how fast it is, never lose what was said.

This half is the setup around the conversation (chat_turns.ChatTurns): which
host and model, the history, the options, the list of chats, compare, and
the model browser's hand-off (`LlamadeckApp.open_chat` -> `use_model`).
The history is opened in a thread (a damaged file is checked and moved
aside); the model list and each model's facts come from Ollama in workers.

Keys work inside tmux over SSH: Enter sends and Ctrl+J adds a line (see
chat_input), and every action is a Ctrl key the prompt box does not use.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Select, Static

from core.chat.history import HistoryStore
from core.chat.host import host_for_session
from core.chat.session import ChatSession
from core.chat.thinking import template_opens_thinking
from core.chat.types import StoredMessage
from core.config import HostConfig, Settings
from core.errors import LlamadeckError, ModelNotFound, OllamaError
from core.ollama.host import select_host
from core.ollama.types import ShowInfo
from tui.screens.chat_compare import CompareScreen, CompareSetup
from tui.screens.chat_options import ChatOptionsScreen, ChatSetup
from tui.screens.chat_sessions import SessionsScreen
from tui.screens.chat_turns import STREAMING_WAIT, ChatTurns
from tui.services import Services
from tui.widgets.chat_input import ChatInput
from tui.widgets.chat_log import ChatLog
from tui.widgets.chat_message import ReplyView, UserMessage
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice_bar import NoticeBar
from tui.widgets.title_bar import TitleBar

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


class ChatScreen(ChatTurns):
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
        self.models: list[str] = []
        self.show_thinking = True
        self._pending_session: int | None = None
        self._handoff: tuple[str, str | None] | None = None
        self._ready = False  # composed and mounted: widgets can be queried

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Horizontal(id="chat-bar"):
            yield Select[str]([], prompt="Pick a model", id="chat-model", compact=True)
            yield Static("", id="chat-facts")
        yield NoticeBar(id="chat-notice")
        yield ChatLog(id="chat-log")
        prompt = ChatInput(id="prompt")
        prompt.border_subtitle = PROMPT_HINT
        yield prompt
        yield KeyBar()

    def on_mount(self) -> None:
        self._ready = True
        self.title = "Chat"
        self._connect(self.host)
        if self.client is not None:
            self.list_models()
        elif self.host.kind != "ollama":
            self.query_one("#chat-model", Select).prompt = "Set the model with Ctrl+O"
        self.open_history()
        self.show_facts()
        if self._handoff is not None:
            self.use_model(*self._handoff)
            self._handoff = None

    def on_screen_resume(self) -> None:
        # A chat opened from the list was laid out while the list covered the screen: draw what is
        # in view now that this screen is drawn again.
        self.call_after_refresh(self.log_view.request_folds)

    async def on_unmount(self) -> None:
        self.workers.cancel_node(self)
        for closer in (self.backend, self.client):
            if closer is not None:
                await closer.aclose()
        if self.store is not None:
            self.store.close()

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
        self._connect(host)
        self.session = None
        for closer in old:
            self.run_worker(closer.aclose(), group="close")
        if self.client is not None:
            self.list_models()

    def _connect(self, host: HostConfig) -> None:
        """The backend and client for `host`; an address that cannot be used (a bad port) is said instead."""
        self.backend = self.client = None
        self.unusable_host = None
        try:
            self.backend = self.services.chat_backend(host)
            self.client = self.services.ollama(host) if host.kind == "ollama" else None
        except LlamadeckError as err:
            if self.backend is not None:
                self.run_worker(self.backend.aclose(), group="close")
                self.backend = None
            self.unusable_host = str(err)
            self.say(self.unusable_host)

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
            choice = host_for_session(self.store.session(session_id), self.host, self.settings)
            if choice.host != self.host:
                self._switch_host(choice.host)  # back to the server the chat was held with
            assert self.backend is not None
            session = ChatSession.resume(self.store, self.backend, session_id)
            messages = session.messages()
        except LlamadeckError as err:
            self.say(str(err))
            return
        self.new_chat()
        self.say(choice.notice)
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
