"""The chat screen's top line: the model picker and the chat's facts (think, history, context, host).

It also asks Ollama, in its own workers, which models there are and what one
of them is (/api/show for its context and <think> template, /api/ps for the
context a loaded model really runs with). It keeps what it learnt in the
screen's ChatState and posts ModelsListed / ModelDescribed / ModelsFailed on,
for the screen to pick a model, redraw the facts or say what went wrong.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Select, Static

from core.chat.thinking import template_opens_thinking
from core.errors import LlamadeckError, ModelNotFound, OllamaError
from core.ollama.client import OllamaClient
from core.ollama.types import ShowInfo
from tui.screens.chat.state import ChatState


class ModelsListed(Message):
    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class ModelsFailed(Message):
    """The models could not be listed, or the chosen one is not there: `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ModelDescribed(Message):
    def __init__(self, info: ShowInfo, contexts: dict[str, int], resident: set[str]) -> None:
        super().__init__()
        self.info = info
        self.contexts = contexts  # loaded models' context lengths (/api/ps)
        self.resident = resident  # the models in memory (/api/ps)


class ModelPicked(Message):
    """The user chose `name` in the picker."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class ChatBar(Horizontal):
    """Picker and facts line; the screen says which model is in use and what the facts are."""

    def __init__(self, state: ChatState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state
        self.models: list[str] = []  # what the host has, as last listed

    def compose(self) -> ComposeResult:
        yield Select[str]([], prompt="Pick a model", id="chat-model", compact=True)
        yield Static("", id="chat-facts")

    def show_models(self) -> None:
        """The host's models (and the one in use, listed or not), it chosen; no Changed event."""
        current = self.state.model
        names = list(dict.fromkeys([*self.models, *([current] if current else [])]))
        picker = self.query_one("#chat-model", Select)
        with self.prevent(Select.Changed):
            picker.set_options([(n, n) for n in names])
            if current:
                picker.value = current

    def show_hint(self, hint: str) -> None:
        """What the empty picker says (a host without a model list: "Set the model with Ctrl+O")."""
        self.query_one("#chat-model", Select).prompt = hint

    def show_facts(self, line: str) -> None:
        self.query_one("#chat-facts", Static).update(Content(line))

    @on(Select.Changed, "#chat-model")
    def picked(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.post_message(ModelPicked(event.value))

    def list_models(self) -> None:
        if self.state.client is not None:
            self._list_models(self.state.client)

    def describe_model(self, name: str) -> None:
        if self.state.client is not None:
            self._describe_model(self.state.client, name)

    @work(exclusive=True, group="models")
    async def _list_models(self, client: OllamaClient) -> None:
        try:
            models = await client.list_models()
        except LlamadeckError as err:
            self.post_message(ModelsFailed(str(err)))
            return
        self.post_message(ModelsListed([m.name for m in models]))

    @work(exclusive=True, group="describe")
    async def _describe_model(self, client: OllamaClient, name: str) -> None:
        try:
            info = await client.show(name)
            running = await client.running()
        except ModelNotFound as err:
            self.post_message(ModelsFailed(str(err)))  # sending would fail the same way: say it now
            return
        except OllamaError as err:
            # Only niceties (context length, <think> template) ride on this; the chat works without.
            self.notify(str(err), title=f"Could not read {name}'s details", severity="warning", markup=False)
            return
        contexts = {r.name: r.context_length for r in running if r.context_length}
        self.post_message(ModelDescribed(info, contexts, {r.name for r in running}))

    @on(ModelsListed)
    def listed(self, event: ModelsListed) -> None:
        self.models = event.names
        self.show_models()

    @on(ModelDescribed)
    def described(self, event: ModelDescribed) -> None:
        state = self.state
        state.facts[event.info.name] = event.info
        state.running_context.update(event.contexts)
        state.resident = event.resident
        if state.session is not None and event.info.name == state.session.info.model:
            state.session.starts_in_thinking = template_opens_thinking(event.info.template)
