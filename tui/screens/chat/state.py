"""What the chat screen talks to and with: the server, the history, the open chat, the model, its settings.

Plain data and the rules read from it (what the context is, why nothing can
be sent, whether a prompt overflows), shared by the screen and its turns
widget (turns.py), which are handed the same object.
"""

from __future__ import annotations

from core.chat.backends import ChatBackend, request_messages
from core.chat.history import HistoryStore
from core.chat.prompt_size import PromptSize, measure, vocab_size
from core.chat.session import ChatSession
from core.chat.thinking import template_opens_thinking
from core.chat.types import ChatMessage, ChatOptions
from core.config import HostConfig, Settings
from core.errors import LlamadeckError
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.ollama.types import ShowInfo
from tui.services import Services

STREAMING_WAIT = "A reply is still streaming; Esc stops it."


class ChatState:
    """The chat screen's state; None where it is not there (yet): no history, no model, no chat."""

    def __init__(self, host: HostConfig) -> None:
        self.host = host
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
        self.resident: set[str] | None = None  # the models in memory at the last look (/api/ps), if known

    # -- the context ------------------------------------------------------------------

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

    def facts_line(self) -> str:
        """The model's settings in a line: think, history, context, host."""
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
        return " · ".join(parts)

    def loading(self, model: str) -> bool | None:
        """Must the server load `model` before it answers? None when not known (not Ollama, not asked)."""
        if self.client is None or self.resident is None:
            return None
        names = {model, model if ":" in model else f"{model}:latest"}
        return not names & self.resident

    def configure(self, system_prompt: str, options: ChatOptions) -> None:
        """New settings (Ctrl+O): from the next prompt on, in the open chat too."""
        self.system_prompt = system_prompt
        self.options = options
        if self.session is not None:
            self.session.configure(system_prompt=system_prompt, options=options)

    def adopt(self, session: ChatSession) -> None:
        """A saved chat is open again: its model and settings are in use."""
        self.session = session
        self.system_prompt = session.info.system_prompt
        self.options = session.info.options
        self.model = session.info.model

    def reread_session(self) -> bool:
        """The open chat's title and settings as the history has them now; False if it was deleted."""
        assert self.session is not None and self.store is not None
        try:
            self.session.info = self.store.session(self.session.id)
        except LlamadeckError:
            return False
        return True

    # -- the server -------------------------------------------------------------------

    def other_host(self, name: str | None, settings: Settings) -> HostConfig | None:
        """The host a hand-off names when it is not the one in use, else None."""
        if not name or name == self.host.name:
            return None
        wanted = settings.host(name) or select_host(settings, name)
        return wanted if wanted != self.host else None

    def connect(self, host: HostConfig, services: Services) -> list[ChatBackend | OllamaClient]:
        """Talk to `host` from now on; returns what was open before (or half opened), to close.

        An address that cannot be used (a bad port) leaves no backend and says why in `unusable_host`.
        """
        old: list[ChatBackend | OllamaClient] = [c for c in (self.backend, self.client) if c is not None]
        self.host = host
        self.backend = self.client = None
        self.unusable_host = None
        self.resident = None
        try:
            self.backend = services.chat_backend(host)
            self.client = services.ollama(host) if host.kind == "ollama" else None
        except LlamadeckError as err:
            if self.backend is not None:
                old.append(self.backend)
                self.backend = None
            self.unusable_host = str(err)
        return old

    async def aclose(self) -> None:
        """The screen is gone: close the connections and the history."""
        for closer in (self.backend, self.client):
            if closer is not None:
                await closer.aclose()
        if self.store is not None:
            self.store.close()

    # -- sending ----------------------------------------------------------------------

    def open_session(self) -> ChatSession:
        """The chat the next prompt goes to, started (and saved) now if there is none."""
        if self.session is None:
            assert self.store is not None and self.backend is not None and self.model is not None
            info = self.facts.get(self.model)
            opens_thinking = template_opens_thinking(info.template if info else None)
            self.session = ChatSession.start(self.store, self.backend, model=self.model,
                                             system_prompt=self.system_prompt, options=self.options,
                                             starts_in_thinking=opens_thinking)
        return self.session

    def refusal(self, *, streaming: bool) -> str | None:
        """Why nothing can be sent right now, or None."""
        if streaming:
            return STREAMING_WAIT
        if self.backend is None:
            return self.unusable_host or "There is no server to send to; pick a host with Ctrl+O."
        if self.store is None:
            return "The chat history is not open yet, so nothing can be saved; wait a moment."
        if not self.model:
            return "Pick a model first: the list at the top, or Ctrl+O."
        return None

    def oversize(self, text: str, *, editing: bool) -> PromptSize | None:
        """The estimate when sending `text` now would overflow the context, else None."""
        context = self.context_length
        if not context or not self.model:
            return None
        earlier: list[ChatMessage] = []
        if self.session is not None:
            history = self.session.messages()
            if editing:  # the last prompt and its reply are about to be replaced
                users = [i for i, m in enumerate(history) if m.role == "user"]
                history = history[:users[-1]] if users else history
            info = self.session.info
            earlier = request_messages(info.system_prompt, history, info.options.history_limit)
        elif self.system_prompt:
            earlier = [ChatMessage("system", self.system_prompt)]
        size = measure(text, earlier, context, vocab_size(self.facts.get(self.model)))
        return size if size.worth_asking else None
