"""What the user does to models in the browser: pull, delete, copy, rename, load, unload, hand-offs.

Each action asks what it needs (a dialog, a confirmation), then hands the
call to a worker in `ModelWorkers` and shows the outcome when its message
comes back. Actions work on the highlighted model and refuse, with the
server's sentence, while the server is unreachable.

A pull runs in the background of the screen, not in its dialog, so the
user can keep browsing; `x` cancels it and `p` offers the interrupted
model again, which Ollama resumes from the bytes it kept.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual import on
from textual.notifications import SeverityLevel
from textual.widgets import ContentSwitcher
from textual.worker import Worker

from core.ollama.client import OllamaClient
from core.ollama.types import LocalModel
from core.units import format_model_size
from tui.screens.confirm import ConfirmDialog
from tui.screens.copy_dialog import CopyDialog, full_name
from tui.screens.model_messages import ActionFailed, ActionFinished, PullEnded, PullProgressed
from tui.screens.model_workers import ModelWorkers
from tui.screens.pull_dialog import PullDialog
from tui.widgets.model_pull import PullPanel
from tui.widgets.model_table import ModelTable

NO_MODEL = "No model is highlighted."


@runtime_checkable
class ModelHandoffs(Protocol):
    """What the app offers other screens: open the planner or chat with a model preselected."""

    def open_planner(self, model: str, host: str | None = None) -> None: ...

    def open_chat(self, model: str, host: str | None = None) -> None: ...


class ModelActions(ModelWorkers):
    """The model actions of ModelsScreen, which provides the state and view helpers declared here."""

    offline: str | None
    pulling: str | None
    interrupted_pull: str | None
    select_after_list: str | None  # the model to highlight once the next list arrives
    _pull_worker: Worker[None] | None
    _ps_worker: Worker[None] | None

    @property
    def table(self) -> ModelTable:
        return self.query_one("#models-table", ModelTable)

    def _switch_lower(self, pane: str) -> None:
        """Show the details, the health view or the pull in the lower pane.

        Health is a view of the server, not of a model: it takes the table's
        room too, so its sentences fit a 24-line terminal without scrolling.
        """
        self.query_one("#lower", ContentSwitcher).current = pane
        self.set_class(pane == "health", "-health")

    # ------------------------------------------------------------------ outcomes

    @on(PullProgressed)
    def show_pull_progress(self, message: PullProgressed) -> None:
        if self._current(message):
            self.query_one(PullPanel).show_progress(message.progress, message.resumed_from)

    @on(PullEnded)
    def show_pull_end(self, message: PullEnded) -> None:
        if not self._current(message):
            return
        self.pulling = None
        panel = self.query_one(PullPanel)
        self.refresh_bindings()
        if message.outcome == "done":
            self.interrupted_pull = None
            self.select_after_list = full_name(message.name)
            panel.finished(message.text)
            self.say(message.text, title="Pull")
            self.list_models()
            self.check_server()
        else:
            self.interrupted_pull = message.name if message.resumable else None
            (panel.cancelled if message.outcome == "cancelled" else panel.failed)(message.text)
            severity: SeverityLevel = "warning" if message.outcome == "cancelled" else "error"
            self.say(message.text, title="Pull", severity=severity, timeout=8)
            self._switch_lower("pull")

    @on(ActionFinished)
    def show_action_result(self, message: ActionFinished) -> None:
        if not self._current(message):
            return
        if message.text:
            self.say(message.text)
        if message.relist:
            self.forget_details()
            self.list_models()
            self.check_server()
        if message.repoll:
            self._ps_worker = self.poll_running()

    @on(ActionFailed)
    def show_action_failure(self, message: ActionFailed) -> None:
        if self._current(message):
            self.say(message.text, severity="error", timeout=10)

    # ------------------------------------------------------------------ actions

    def action_pull(self) -> None:
        if self.pulling is not None:
            self._switch_lower("pull")
            self.say(f"Already pulling {self.pulling}; x cancels it.")
            return
        if self._refuse_offline():
            return
        self.app.push_screen(PullDialog(self.host.name, resume=self.interrupted_pull), self._start_pull)

    def _start_pull(self, name: str | None) -> None:
        if not name:
            return
        self.pulling = name
        self.query_one(PullPanel).start(name)
        self._switch_lower("pull")
        self._pull_worker = self.pull_model(name)
        self.refresh_bindings()

    def action_cancel_pull(self) -> None:
        if self._pull_worker is not None and self.pulling is not None:
            self._pull_worker.cancel()

    def action_delete(self) -> None:
        model = self._target()
        if model is None:
            return
        loaded = " It is loaded now and will be unloaded first." if model.name in self.table.loaded else ""
        question = (f"Delete {model.name} ({format_model_size(model.size)}) from Ollama at {self.host_url}?"
                    f"{loaded} Layers no other model uses are removed from disk.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.act_on_model(lambda c: c.delete(model.name), f"Deleted {model.name}.", relist=True,
                                  repoll=True)

        self.app.push_screen(ConfirmDialog(f"Delete {model.name}", question, confirm="Delete"), answered)

    def action_copy(self) -> None:
        self._copy(rename=False)

    def action_rename(self) -> None:
        self._copy(rename=True)

    def _copy(self, *, rename: bool) -> None:
        model = self._target()
        if model is None:
            return
        source = model.name

        def named(destination: str | None) -> None:
            if not destination:
                return
            self.select_after_list = full_name(destination)
            if not rename:
                self.act_on_model(lambda c: c.copy(source, destination), f"Copied {source} to {destination}.",
                                relist=True)
                return

            async def move(client: OllamaClient) -> None:
                await client.copy(source, destination)
                await client.delete(source)

            self.act_on_model(move, f"Renamed {source} to {destination}.", relist=True, repoll=True)

        existing = [m.name for m in self.table.models]
        self.app.push_screen(CopyDialog(source, existing, rename=rename), named)

    def action_load(self) -> None:
        self._load(None, "with Ollama's default keep-alive")

    def action_load_forever(self) -> None:
        self._load(-1, "to stay until unloaded")

    def _load(self, keep_alive: int | None, how: str) -> None:
        model = self._target()
        if model is None:
            return
        name = model.name
        self.say(f"Loading {name}…")
        self.act_on_model(lambda c: c.load(name, keep_alive), f"Loaded {name} {how}.", repoll=True)

    def action_unload(self) -> None:
        model = self._target()
        if model is None:
            return
        name = model.name
        if name not in self.table.loaded:
            self.say(f"{name} is not loaded.")
            return
        self.act_on_model(lambda c: c.unload(name), f"Unloaded {name}.", repoll=True)

    def action_chat(self) -> None:
        model = self._target()
        if model is not None:
            self._handoff("chat", model.name)

    def action_plan(self) -> None:
        model = self._target()
        if model is not None:
            self._handoff("planner", model.name)

    def action_convert(self) -> None:
        """The other way in besides pull: the jobs screen's form, importing into this server."""
        opener = getattr(self.app, "open_pipeline", None)
        if callable(opener):
            opener(None, None, self.host.name)
        else:
            self.say("This app has no jobs screen to convert a model with.", severity="warning")

    def _handoff(self, where: str, name: str) -> None:
        app = self.app
        if not isinstance(app, ModelHandoffs):
            self.say(f"This app has no {where} to hand {name} to.", severity="warning")
            return
        (app.open_chat if where == "chat" else app.open_planner)(name, self.host.name)

    def _refuse_offline(self) -> bool:
        if self.offline is None:
            return False
        self.say(self.offline, severity="error", timeout=8)
        return True

    def _target(self) -> LocalModel | None:
        if self._refuse_offline():
            return None
        model = self.table.highlighted
        if model is None:
            self.say(NO_MODEL)
        return model
