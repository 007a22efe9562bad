"""What the user does to one model in the browser: delete, copy, rename, load, unload, hand it over.

A widget with nothing to show: each action asks what it needs (a dialog, a
confirmation), then runs its call in a worker and answers with `Finished`
(a past-tense sentence) or `Failed` (the server's). The screen sets `client`,
`generation` and `host` whenever it connects, picks the target model
(refusing while the server is unreachable) and shows the outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from textual import work
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widget import Widget

from core.config import HostConfig
from core.errors import OllamaError
from core.ollama.client import OllamaClient
from core.ollama.types import LocalModel
from core.units import format_model_size, plural
from tui.screens.confirm import ConfirmDialog
from tui.screens.models.copy_dialog import CopyDialog, full_name
from tui.widgets.models.host_answer import HostAnswer

Call = Callable[[OllamaClient], Awaitable[None]]


@runtime_checkable
class ModelHandoffs(Protocol):
    """What the app offers other screens: open the planner or chat with a model preselected."""

    def open_planner(self, model: str, host: str | None = None) -> None: ...

    def open_chat(self, model: str, host: str | None = None) -> None: ...


class ModelActions(Widget):
    DEFAULT_CSS = "ModelActions { display: none; }"

    class Named(Message):
        """A copy or rename is about to run: the model to highlight once the next list arrives."""

        def __init__(self, actions: ModelActions, name: str) -> None:
            super().__init__()
            self.actions = actions
            self.name = name

        @property
        def control(self) -> ModelActions:
            return self.actions

    class Finished(HostAnswer):
        """A delete, copy, rename, load or unload went through; `text` says what happened."""

        def __init__(self, actions: ModelActions, generation: int, text: str, *, relist: bool,
                     repoll: bool) -> None:
            super().__init__(actions, generation)
            self.text = text
            self.relist = relist
            self.repoll = repoll

    class Failed(HostAnswer):
        def __init__(self, actions: ModelActions, generation: int, text: str) -> None:
            super().__init__(actions, generation)
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.client: OllamaClient | None = None
        self.generation = 0
        self.host: HostConfig | None = None

    def say(self, text: str, *, severity: SeverityLevel = "information") -> None:
        self.notify(text, severity=severity, markup=False)

    def delete(self, model: LocalModel, *, loaded: bool) -> None:
        also = " It is loaded now and will be unloaded first." if loaded else ""
        url = self.client.url if self.client is not None else self.host.url if self.host is not None else "?"
        question = (f"Delete {model.name} ({format_model_size(model.size)}) from Ollama at {url}?"
                    f"{also} Layers no other model uses are removed from disk.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(lambda c: c.delete(model.name), f"Deleted {model.name}.", relist=True, repoll=True)

        self.app.push_screen(ConfirmDialog(f"Delete {model.name}", question, confirm="Delete"), answered)

    def delete_many(self, models: list[LocalModel], loaded: frozenset[str]) -> None:
        """The marked models, after one confirmation that lists each of them."""
        names = [m.name for m in models]
        lines = "\n".join(f"  {m.name} ({format_model_size(m.size)}){' - loaded' if m.name in loaded else ''}"
                          for m in models)
        question = (f"Delete these {plural(len(models), 'model')} from Ollama at {self._url()}?\n{lines}\n"
                    "Layers no other model uses are removed from disk.")

        async def delete_all(client: OllamaClient) -> None:
            for name in names:
                await client.delete(name)

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(delete_all, f"Deleted {plural(len(names), 'model')}: {', '.join(names)}.",
                         relist=True, repoll=True)

        self.app.push_screen(ConfirmDialog(f"Delete {plural(len(models), 'model')}", question,
                                           confirm="Delete"), answered)

    def copy_many(self, models: list[LocalModel], existing: list[str]) -> None:
        """Each marked model to `name-copy:tag` (a free name), after one confirmation listing them."""
        taken = {full_name(e) for e in existing}
        pairs: list[tuple[str, str]] = []
        for model in models:
            base, _, tag = model.name.partition(":")
            destination, n = f"{base}-copy:{tag or 'latest'}", 1
            while destination in taken:
                n += 1
                destination = f"{base}-copy{n}:{tag or 'latest'}"
            taken.add(destination)
            pairs.append((model.name, destination))
        lines = "\n".join(f"  {a} -> {b}" for a, b in pairs)
        question = (f"Copy these {plural(len(pairs), 'model')} on {self._url()}?\n{lines}\n"
                    "A copy is a second name for the same weights: no extra disk space.")

        async def copy_all(client: OllamaClient) -> None:
            for source, destination in pairs:
                await client.copy(source, destination)

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(copy_all, f"Copied {plural(len(pairs), 'model')}: "
                         + ", ".join(f"{a} to {b}" for a, b in pairs) + ".", relist=True)

        self.app.push_screen(ConfirmDialog(f"Copy {plural(len(pairs), 'model')}", question,
                                           confirm="Copy", danger=False), answered)

    def _url(self) -> str:
        return self.client.url if self.client is not None else self.host.url if self.host is not None else "?"

    def copy(self, source: str, existing: list[str], *, rename: bool) -> None:
        def named(destination: str | None) -> None:
            if not destination:
                return
            self.post_message(self.Named(self, full_name(destination)))
            if not rename:
                self.act(lambda c: c.copy(source, destination), f"Copied {source} to {destination}.",
                         relist=True)
                return

            async def move(client: OllamaClient) -> None:
                await client.copy(source, destination)
                await client.delete(source)

            self.act(move, f"Renamed {source} to {destination}.", relist=True, repoll=True)

        self.app.push_screen(CopyDialog(source, existing, rename=rename), named)

    def load(self, name: str, keep_alive: int | None, how: str) -> None:
        self.say(f"Loading {name}…")
        self.act(lambda c: c.load(name, keep_alive), f"Loaded {name} {how}.", repoll=True)

    def unload(self, name: str, *, loaded: bool) -> None:
        if not loaded:
            self.say(f"{name} is not loaded.")
            return
        self.act(lambda c: c.unload(name), f"Unloaded {name}.", repoll=True)

    def hand_off(self, where: str, name: str) -> None:
        """Open the chat or the planner with this model on this host."""
        app = self.app
        if not isinstance(app, ModelHandoffs):
            self.say(f"This app has no {where} to hand {name} to.", severity="warning")
            return
        (app.open_chat if where == "chat" else app.open_planner)(name, self.host.name if self.host else None)

    def convert(self) -> None:
        """The other way in besides pull: the jobs screen's form, importing into this server."""
        opener = getattr(self.app, "open_pipeline", None)
        if callable(opener):
            opener(None, None, self.host.name if self.host else None)
        else:
            self.say("This app has no jobs screen to convert a model with.", severity="warning")

    @work(group="actions")
    async def act(self, call: Call, done: str, *, relist: bool = False, repoll: bool = False) -> None:
        """One call to the server; `done` is the past-tense sentence for success."""
        gen, client = self.generation, self.client
        if client is None:
            return
        try:
            await call(client)
        except OllamaError as exc:
            self.post_message(self.Failed(self, gen, str(exc)))
            if relist:  # a rename may have half happened; show what the server has now
                self.post_message(self.Finished(self, gen, "", relist=True, repoll=repoll))
        else:
            self.post_message(self.Finished(self, gen, done, relist=relist, repoll=repoll))
