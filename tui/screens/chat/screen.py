"""The chat screen: try a model in a minute, see how fast it is, never lose what was said.

The screen wires its parts: the model picker and facts line (bar), the
log, the prompt box, the turns (turns: send, stream) and the chats
(history: the history, the list of chats), which share one ChatState
(state): host, history, open chat, model and settings. The screen also
opens options and compare, and takes the model browser's hand-off
(`LlamadeckApp.open_chat` -> `use_model`).

Keys work inside tmux over SSH: Enter sends and Ctrl+J adds a line (see
widgets/chat/input), and every action is a Ctrl key the prompt box does not use.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen

from core.chat.history import HistoryStore
from core.chat.host import host_for_session
from core.chat.session import ChatSession
from core.chat.types import ChatOptions, StoredMessage
from core.config import HostConfig, Settings
from core.errors import LlamadeckError
from core.ollama.host import select_host
from tui.hosts import current_host, set_current_host, watch_host
from tui.screens.chat.bar import ChatBar, ModelDescribed, ModelPicked, ModelsFailed, ModelsListed
from tui.screens.chat.compare import CompareScreen, CompareSetup
from tui.screens.chat.copy_dialog import CopyScreen, copy_choices
from tui.screens.chat.history import ChatChosen, ChatHistory, HistoryFailed, HistoryOpened
from tui.screens.chat.options import ChatOptionsScreen, ChatSetup
from tui.screens.chat.state import STREAMING_WAIT, ChatState
from tui.screens.chat.turns import ChatTurns, ReplyFinished, TurnSaid
from tui.services import Services
from tui.widgets.chat.input import ChatInput
from tui.widgets.chat.log import ChatLog
from tui.widgets.chat.message import ReplyView, message_views
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice_bar import NoticeBar
from tui.widgets.title_bar import TitleBar

PROMPT_HINT = "Enter send · Ctrl+J new line · ↑↓ earlier · Esc leave · F1 keys"


class ChatScreen(Screen[None]):
    """Conversation log, prompt box, model picker; options, chats and compare in dialogs."""

    # Parsed when this screen first opens, not at start-up (it applies app-wide from then on).
    CSS_PATH = "../../styles/chat.tcss"
    AUTO_FOCUS = "#prompt"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-normal")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (18, "-medium")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop", tooltip="Stop the reply (what arrived is kept), or stop editing"),
        Binding("escape", "leave_prompt", "Leave the prompt", show=False,
                tooltip="Focus the conversation, where 1-6, ? and q work again"),
        Binding("enter,i", "focus_prompt", "Type", show=False, tooltip="Back to the prompt box"),
        Binding("ctrl+r", "regenerate", "Regenerate", show=False, tooltip="Ask again for the last prompt"),
        Binding("ctrl+l", "edit_last", "Edit the last prompt", show=False,
                tooltip="Put the last prompt back in the box; Enter resends"),
        Binding("ctrl+t", "toggle_thinking", "Show/hide thinking", show=False,
                tooltip="Show or hide the reasoning blocks"),
        Binding("ctrl+o", "options", "Options", tooltip="Model, system prompt, parameters, history limit"),
        Binding("ctrl+s", "sessions", "Chats", tooltip="Search, open, rename, delete, export chats"),
        Binding("ctrl+g", "copy", "Copy a reply", show=False,
                tooltip="Copy the last reply or a code block (OSC 52)"),
        Binding("ctrl+f", "compare", "Compare", tooltip="One prompt to several models, side by side"),
        Binding("ctrl+n", "new_chat", "New", tooltip="A new chat (this one stays in Chats)"),
        Binding("f1", "app.help", "Help", show=False),
    ]

    def __init__(self, settings: Settings, services: Services, host: HostConfig | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.state = ChatState(host or select_host(settings))
        self.show_thinking = True
        self._pending_session: int | None = None
        self._handoff: tuple[str, str | None] | None = None
        self._host_after_reply: HostConfig | None = None
        self._ready = False  # composed and mounted: widgets can be queried
        self.bar = ChatBar(self.state, id="chat-bar")
        self.log_view = ChatLog(id="chat-log")
        self.prompt = ChatInput(id="prompt")
        self.prompt.border_subtitle = PROMPT_HINT
        self.turns = ChatTurns(self.state, self.log_view, self.prompt)
        self.chats = ChatHistory(services)

    # -- what tests, the bench and the dialogs read ---------------------------------------

    @property
    def host(self) -> HostConfig:
        return self.state.host

    @property
    def store(self) -> HistoryStore | None:
        return self.state.store

    @property
    def session(self) -> ChatSession | None:
        return self.state.session

    @property
    def model(self) -> str | None:
        return self.state.model

    @property
    def options(self) -> ChatOptions:
        return self.state.options

    @options.setter
    def options(self, options: ChatOptions) -> None:
        self.state.options = options

    @property
    def streaming(self) -> bool:
        return self.turns.streaming

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield self.bar
        yield NoticeBar(id="chat-notice")
        yield self.log_view
        yield self.prompt
        yield KeyBar()
        yield self.turns
        yield self.chats

    def on_mount(self) -> None:
        self._ready = True
        self.title = "Chat"
        self._switch_host(current_host(self) or self.state.host)
        watch_host(self, self._follow_host, init=False)
        if self.state.client is None and self.state.host.kind != "ollama":
            self.bar.show_hint("Set the model with Ctrl+O")
        self.chats.open_history()
        self.show_facts()
        if self._handoff is not None:
            self.use_model(*self._handoff)
            self._handoff = None

    def on_screen_resume(self) -> None:
        # A chat opened from the list was laid out under the list: draw what is in view now.
        self.call_after_refresh(self.log_view.request_folds)

    async def on_unmount(self) -> None:
        for node in (self, self.bar, self.turns, self.chats):
            self.workers.cancel_node(node)
        await self.state.aclose()

    def show_facts(self) -> None:
        self.bar.show_facts(self.state.facts_line())
        session = self.state.session
        self.sub_title = session.info.title if session and session.info.title else ""

    def say(self, sentence: str | None) -> None:  # stays until the next thing works (server down...)
        self.query_one("#chat-notice", NoticeBar).show_notices([sentence] if sentence else [])

    def _still_streaming(self) -> bool:  # a reply streams: say so (Esc stops it) and do nothing else
        if self.streaming:
            self.notify(STREAMING_WAIT, markup=False)
        return self.streaming

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.streaming or self.turns.editing
        if action == "leave_prompt":
            return self.prompt.has_focus
        if action == "focus_prompt":
            return not self.prompt.has_focus
        if action in ("regenerate", "edit_last", "copy"):
            return None if self.streaming or self.session is None else True
        return True

    # -- what the parts say -------------------------------------------------------------

    @on(TurnSaid)
    def turn_said(self, event: TurnSaid) -> None:
        self.say(event.sentence)

    @on(ReplyFinished)
    def reply_finished(self) -> None:
        self.show_facts()
        if self._host_after_reply is not None:  # the app's host changed while the reply streamed
            self._follow_host(self._host_after_reply)

    def _follow_host(self, host: HostConfig) -> None:
        """The app's host changed (`o`, another screen): a fresh chat on it; this one stays in Chats."""
        self._host_after_reply = host if self.streaming else None
        if host != self.state.host and not self.streaming:
            self.state.model = None  # the first model the new server lists, unless a hand-off names one
            self._switch_host(host)

    @on(HistoryOpened)
    def history_opened(self, event: HistoryOpened) -> None:
        self.state.store = event.store
        if event.store.notice:
            self.say(event.store.notice)
            self.notify(event.store.notice, title="Chat history", severity="warning", markup=False,
                        timeout=15)
        if self._pending_session is not None:
            self.resume(self._pending_session)
        elif event.interrupted is not None and self.state.session is None and not self.log_view.children:
            self.chats.offer_resume(event.interrupted)

    @on(HistoryFailed)
    def history_failed(self, event: HistoryFailed) -> None:
        self.say(f"{event.reason} Chats cannot be saved, so sending is off until this is fixed.")

    @on(ModelsListed)
    def models_listed(self, event: ModelsListed) -> None:
        if self.state.model is None and event.names:
            self._choose_model(event.names[0])
        elif not event.names:
            self.say(f"Ollama at {self.host.name} has no models yet: pull one on the Models screen (2).")

    @on(ModelsFailed)
    def models_failed(self, event: ModelsFailed) -> None:
        self.say(event.reason)

    @on(ModelDescribed)
    def model_described(self) -> None:
        self.show_facts()  # the bar has kept the model's facts

    # -- sending --------------------------------------------------------------------------

    @on(ChatInput.Submitted)
    def submitted(self, event: ChatInput.Submitted) -> None:
        self.turns.submit(event.text)

    @on(ChatInput.Refused)
    def refused(self, event: ChatInput.Refused) -> None:
        self.say(f"Not pasted: {event.reason}")

    def action_stop(self) -> None:
        self.turns.stop()

    def action_leave_prompt(self) -> None:
        self.log_view.focus()

    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def action_regenerate(self) -> None:
        self.turns.regenerate()

    def action_edit_last(self) -> None:
        self.turns.edit_last()

    def action_copy(self) -> None:
        replies = [v for v in self.log_view.query_children(ReplyView) if v.content]
        if replies:
            self.app.push_screen(CopyScreen(copy_choices(replies[-1].content)))
        else:
            self.notify("There is no reply to copy yet.", markup=False)

    # -- choosing a model and settings ---------------------------------------------------

    def use_model(self, name: str, host: str | None = None) -> None:
        """The hand-off (the model browser, the planner): talk to `name` on `host`, the prompt ready."""
        self._choose_model(name, host)
        if self._ready:
            self.prompt.focus()

    def _choose_model(self, name: str, host: str | None = None) -> None:  # from the next prompt on
        if not self._ready:
            self._handoff = (name, host)
            return
        state = self.state
        wanted = state.other_host(host, self.settings)
        if wanted is not None:
            self._switch_host(wanted)
        if state.session is not None and state.session.messages() and state.session.info.model != name \
                and not self.streaming:
            self.new_chat()  # a hand-off means "chat with this model": the old chat stays in Chats
        state.model = name
        self.bar.show_models()
        if state.session is not None:
            state.session.configure(model=name)
        self.bar.describe_model(name)
        self.show_facts()

    def _switch_host(self, host: HostConfig) -> None:
        """Talk to `host` from now on (the whole app too), in a fresh view; a bad address is said instead."""
        if self.state.session is not None or self.log_view.children:
            self.new_chat()  # what is on screen was said to the old server; it stays in Chats
        set_current_host(self, host)
        for closer in self.state.connect(host, self.services):
            self.run_worker(closer.aclose(), group="close")
        if self.state.unusable_host is not None:
            self.say(self.state.unusable_host)
        self.bar.list_models()

    @on(ModelPicked)
    def model_picked(self, event: ModelPicked) -> None:
        if event.name != self.state.model:
            self._choose_model(event.name)
            self.prompt.focus()

    def action_options(self) -> None:
        def apply(setup: ChatSetup | None) -> None:
            if setup is None:
                return
            self.state.configure(setup.system_prompt, setup.options)
            if setup.model and setup.model != self.state.model:
                self._choose_model(setup.model)
            self.show_facts()

        setup = ChatSetup(self.state.model, self.state.system_prompt, self.state.options)
        self.app.push_screen(ChatOptionsScreen(self.bar.models, setup), apply)

    def action_toggle_thinking(self) -> None:
        self.show_thinking = not self.show_thinking
        self.log_view.show_thinking(self.show_thinking)
        self.notify("Reasoning shown." if self.show_thinking else "Reasoning hidden (Ctrl+T shows it).",
                    markup=False, timeout=2)

    def action_new_chat(self) -> None:
        if self._still_streaming():
            return
        self.new_chat()
        self.prompt.focus()

    def new_chat(self) -> None:
        self.state.session = None
        self.turns.end_editing()
        self.log_view.remove_children()
        self.say(None)
        self.show_facts()

    # -- chats (the history) and compare ---------------------------------------------------

    def action_sessions(self) -> None:
        if self.state.store is None:
            self.notify("The chat history is not open.", markup=False)
            return
        if self._still_streaming():
            return
        self.chats.show_list(self.state.store)

    @on(ChatChosen)
    def chat_chosen(self, event: ChatChosen) -> None:
        if event.session_id is not None:
            self.resume(event.session_id)
        elif self.state.session is not None:
            self._refresh_current()

    def _refresh_current(self) -> None:
        """The open chat may have been renamed or deleted in the list."""
        if not self.state.reread_session():
            self.new_chat()  # it was deleted: what is on screen no longer exists anywhere
        self.show_facts()

    def resume(self, session_id: int) -> None:
        """Open a saved chat: its messages on screen, its model and settings in use."""
        state = self.state
        if state.store is None or state.backend is None:
            self._pending_session = session_id
            return
        self._pending_session = None
        try:
            choice = host_for_session(state.store.session(session_id), state.host, self.settings)
            if choice.host != state.host:
                self._switch_host(choice.host)  # back to the server the chat was held with
            assert state.backend is not None
            session = ChatSession.resume(state.store, state.backend, session_id)
            messages = session.messages()
        except LlamadeckError as err:
            self.say(str(err))
            return
        self.new_chat()
        self.say(choice.notice)
        self._show_session(session, messages)

    def _show_session(self, session: ChatSession, messages: list[StoredMessage]) -> None:
        self.state.adopt(session)
        self.bar.show_models()
        self.bar.describe_model(session.info.model)
        self.log_view.mount_all(message_views(messages, session.info.model))
        self.log_view.anchor()  # stays at the end while the replies in view are drawn
        self.prompt.sent = [m.content for m in messages if m.role == "user"]
        self.show_facts()

    def action_compare(self) -> None:
        if self.state.host.kind != "ollama":
            self.notify("Compare loads and unloads models, which needs an Ollama host.", markup=False)
        elif not self._still_streaming():
            last = self.turns.last_user_view()
            prompt = self.prompt.text.strip() or (last.text if last is not None else "")
            setup = CompareSetup.from_chat(self.state, self.bar.models, prompt)
            self.app.push_screen(CompareScreen(self.settings, self.services, setup))
