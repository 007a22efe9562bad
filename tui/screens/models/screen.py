"""The model browser: what an Ollama server has, what it has loaded, and the actions on both.

One screen replaces `ollama list`, `ollama ps`, `ollama pull`, `ollama rm`
and `ollama cp`, on the local server or any configured host (`o` switches).
The table is the centre; below it the loaded models (polled every 2 s) and
one pane that shows the highlighted model's details, the server's health,
or a pull in progress. Everything is reachable from the keyboard at 80x24.

The screen is composed: the models box (filter, table, `/api/tags`), the
running panel (`/api/ps`), the details pane (`/api/show`), the health panel
and the pull panel each own their workers and answer with typed messages;
ModelActions runs the dialogs and calls of delete, copy, rename, load and
unload. The screen holds the keys, the host switch and the connection, and
wires the answers to the widgets. A server that is not there is a state,
not an error: the sentence says how to start it, `r` retries, and the 2 s
poll notices on its own when it comes back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import ScreenResume, ScreenSuspend
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from core.config import HostConfig, Settings
from core.errors import ConfigError, OllamaUnreachable, ServerTimeout
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.ollama.types import LocalModel, RunningModel, ServerHealth
from tui.screens.models.actions import ModelActions
from tui.screens.models.copy_dialog import full_name
from tui.screens.models.pull_dialog import PullDialog
from tui.services import Services
from tui.widgets.key_bar import KeyBar
from tui.widgets.live_text import LiveText
from tui.widgets.models.details import ModelDetailsPane
from tui.widgets.models.filter_input import FilterInput
from tui.widgets.models.health import HealthPanel, HealthReport, notices, with_running
from tui.widgets.models.host_answer import HostAnswer
from tui.widgets.models.listing import ModelList
from tui.widgets.models.pull import PullPanel
from tui.widgets.models.running import PS_INTERVAL_S, RunningPanel
from tui.widgets.models.table import ModelTable
from tui.widgets.notice_bar import NoticeBar
from tui.widgets.title_bar import TitleBar

# Grouped so the footer fits 80 columns ("/sS Find  pdcmlLuf Model  hor Server");
# `?` lists every key with its own description.
FIND = Binding.Group("Find", compact=True)
ACT = Binding.Group("Model", compact=True)
SERVER = Binding.Group("Server", compact=True)
NO_MODEL = "No model is highlighted."


def ollama_hosts(settings: Settings) -> tuple[HostConfig, ...]:
    """The configured Ollama hosts, default first; OLLAMA_HOST (or the local server) without a config."""
    hosts = tuple(h for h in settings.hosts if h.kind == "ollama")
    if not hosts:
        return (select_host(replace(settings, hosts=(), default_host=None)),)
    default = settings.host()
    if default is not None and default in hosts:
        hosts = (default, *(h for h in hosts if h is not default))
    return hosts


class ModelsScreen(Screen[None]):
    # Parsed when this screen first opens, not at start-up (it applies app-wide from then on).
    CSS_PATH = "../../styles/models.tcss"
    AUTO_FOCUS = "#models-table"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter as you type", key_display="/", group=FIND,
                tooltip="Words in name, family, quant or size; Esc clears"),
        Binding("s", "sort", "Sort by next column", group=FIND, tooltip="Clicking a header sorts too"),
        Binding("S", "reverse_sort", "Reverse the order", group=FIND),
        Binding("p", "pull", "Pull a model", group=ACT, tooltip="Pulling an interrupted one again resumes"),
        Binding("d,delete", "delete", "Delete", group=ACT, key_display="d", tooltip="Asks first"),
        Binding("c", "copy", "Copy to a new name", group=ACT),
        Binding("m", "rename", "Rename", group=ACT, tooltip="Copy, then delete the old name"),
        Binding("l", "load", "Load into memory", group=ACT, tooltip="With Ollama's default keep-alive"),
        Binding("L", "load_forever", "Load and keep loaded", group=ACT, tooltip="keep_alive -1"),
        Binding("u", "unload", "Unload from memory", group=ACT, tooltip="keep_alive 0"),
        Binding("f", "plan", "Plan", group=ACT, tooltip="Open the planner with this model: will it fit?"),
        Binding("i", "convert", "Import from Hugging Face", group=ACT,
                tooltip="Convert a checkpoint to GGUF and import it into this server (the jobs screen)"),
        Binding("x", "cancel_pull", "Cancel the pull", group=ACT, tooltip="Pulling again resumes"),
        Binding("h", "health", "Server health", group=SERVER,
                tooltip="Reachable, who can reach it, models disk, GPU or CPU"),
        Binding("o", "next_host", "Next Ollama host", group=SERVER),
        Binding("r", "retry", "Refresh / retry now", group=SERVER),
    ]

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.probe = services.hardware
        self.hosts = ollama_hosts(settings)
        self.host_index = 0
        self.client: OllamaClient | None = None
        self.generation = 0
        self.offline: str | None = None
        # Offline because nothing answers (True: the next good poll brings the screen back), or
        # because the server answered the list with an error (False: r, or the 30 s relist, retries).
        self.unreachable = False
        self.running: tuple[RunningModel, ...] = ()
        self.health: ServerHealth | None = None
        self.report: HealthReport | None = None
        self.select_after_list: str | None = None  # the model to highlight once the next list arrives
        self._listed_once = False
        self._pull = PullPanel(id="pull")  # made here: check_action asks it before it is mounted
        self.title = "Models"

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield NoticeBar(id="models-notices")
        with Horizontal(id="models-main"):
            with Vertical(id="models-left"):
                yield ModelList(id="models-box")
                yield RunningPanel(id="running")
            with ContentSwitcher(initial="details", id="lower"):
                yield ModelDetailsPane(id="details")
                yield HealthPanel(id="health")
                yield self._pull
        yield LiveText("", id="offline")
        yield ModelActions(id="model-actions")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(ModelDetailsPane).show_message("Listing models…")
        self.connect()

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    @property
    def host(self) -> HostConfig:
        return self.hosts[self.host_index]

    @property
    def host_url(self) -> str:
        """The address as the client resolved it (OLLAMA_HOST rules), else as configured."""
        return self.client.url if self.client is not None else self.host.url

    @property
    def table(self) -> ModelTable:
        return self.query_one("#models-table", ModelTable)

    @property
    def box(self) -> ModelList:
        return self.query_one("#models-box", ModelList)

    def say(self, text: str, *, title: str = "", severity: SeverityLevel = "information",
            timeout: float | None = None) -> None:
        """A toast with plain text: sentences hold addresses like [::1]:11434 that are not markup."""
        self.notify(text, title=title, severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Talk to the current host from scratch: new client, new generation, fresh everything."""
        self.generation += 1
        details = self.query_one(ModelDetailsPane)
        self.box.cancel()
        details.cancel()
        self.query_one(HealthPanel).cancel()
        details.forget()
        self.health, self.report, self.offline = None, None, None
        self._set_running(())
        old, self.client = self.client, None
        if old is not None:
            self.run_worker(old.aclose(), group="close")
        actions, running = self.actions, self.query_one(RunningPanel)
        actions.client = running.client = None
        actions.generation = running.generation = self.generation
        actions.host = self.host
        try:
            self.client = self.services.ollama(self.host)
        except ConfigError as exc:  # an address no client can use (a bad port): the sentence says which
            self._go_offline(str(exc), unreachable=False, title="This address cannot be used")
            return
        actions.client = running.client = self.client
        self._show_subtitle()
        self.list_models()
        self.check_server()
        running.start_polling()
        running.poll()

    def _current(self, message: HostAnswer) -> bool:
        """Is this answer about the host and connection the screen shows now?"""
        return message.generation == self.generation

    def list_models(self) -> None:
        if self.client is not None:
            self.box.list_models(self.client, self.generation)

    def check_server(self) -> None:
        if self.client is not None:
            self.query_one(HealthPanel).check(self.client, self.generation, self.probe)

    def set_polling(self, enabled: bool) -> None:
        """Stop or restart the 2 s `/api/ps` poll (the screen does it by itself when hidden)."""
        self.query_one(RunningPanel).set_polling(enabled)

    @property
    def polls(self) -> int:
        return self.query_one(RunningPanel).polls

    @property
    def pulling(self) -> str | None:
        """The model being pulled, if any."""
        return self._pull.pulling

    @property
    def interrupted_pull(self) -> str | None:
        """The model whose pull was cancelled or broke: `p` offers it again."""
        return self._pull.interrupted

    def on_screen_suspend(self, event: ScreenSuspend) -> None:
        self.set_polling(False)

    def on_screen_resume(self, event: ScreenResume) -> None:
        self.query_one(RunningPanel).resume()

    @on(RunningPanel.RelistDue, "#running")
    def relist(self) -> None:
        if not self.unreachable:
            self.list_models()

    def _go_offline(self, sentence: str, *, unreachable: bool, title: str | None = None) -> None:
        self.offline = sentence
        self.unreachable = unreachable
        self.add_class("-offline")
        self._set_running(())
        self.query_one(RunningPanel).show(())
        self.table.mark_loaded(())
        more = "  o tries the next host." if len(self.hosts) > 1 else ""
        box = self.query_one("#offline", LiveText)
        box.border_title = title or ("Not reachable" if unreachable else "The server answered with an error")
        box.show(
            f"{sentence}\n\nr retries now; llamadeck also checks every {PS_INTERVAL_S:g} s.{more}")
        self._show_notices()
        self._show_subtitle()

    def _go_online(self, *, relist: bool) -> None:
        """The server answers again; `relist` when what answered was only the poll."""
        if self.offline is None:
            return
        self.offline = None
        self.unreachable = False
        self.remove_class("-offline")
        self.say(f"Ollama at {self.host_url} answers again.", title="Back")
        if relist:
            self.list_models()
        self.check_server()

    # ------------------------------------------------------------------ answers

    @on(ModelList.Listed, "#models-box")
    def show_models(self, message: ModelList.Listed) -> None:
        if not self._current(message):
            return
        if self.box.show_models(message.models, self.select_after_list):
            self.select_after_list = None
        self._listed_once = True
        self._go_online(relist=False)
        self._show_highlighted()

    @on(ModelList.ListFailed, "#models-box")
    def show_list_failure(self, message: ModelList.ListFailed) -> None:
        if self._current(message):
            error = message.error
            self._go_offline(str(error), unreachable=isinstance(error, OllamaUnreachable),
                             title="No answer in time" if isinstance(error, ServerTimeout) else None)

    @on(RunningPanel.Polled, "#running")
    def show_running(self, message: RunningPanel.Polled) -> None:
        if not self._current(message):
            return
        if self.unreachable:
            self._go_online(relist=True)
        running = tuple(message.running)
        changed = running != self.running
        self._set_running(running)
        self.query_one(RunningPanel).show(running)  # the countdown moves even when nothing else does
        if changed:  # most polls: nothing to redraw beyond that
            self.table.mark_loaded(m.name for m in running)
            self._update_report()
            self.box.show_title()

    @on(RunningPanel.PollFailed, "#running")
    def show_running_failure(self, message: RunningPanel.PollFailed) -> None:
        if not self._current(message):
            return
        if isinstance(message.error, OllamaUnreachable):
            self._go_offline(str(message.error), unreachable=True)
        else:
            self.query_one(RunningPanel).show_error(str(message.error))

    @on(ModelDetailsPane.Fetched, "#details")
    def show_details(self, message: ModelDetailsPane.Fetched) -> None:
        highlighted = self.table.highlighted
        if self._current(message) and highlighted is not None and highlighted.name == message.info.name:
            self.query_one(ModelDetailsPane).show_info(message.info)

    @on(ModelDetailsPane.FetchFailed, "#details")
    def show_details_failure(self, message: ModelDetailsPane.FetchFailed) -> None:
        if self._current(message):
            self.query_one(ModelDetailsPane).show_message(str(message.error), title=message.name, error=True)

    @on(HealthPanel.Checked, "#health")
    def show_health(self, message: HealthPanel.Checked) -> None:
        if not self._current(message):
            return
        self.health = message.health
        self.report = HealthReport(health=message.health, gpus=message.gpus, models_disk=message.models_disk)
        self._update_report()
        self._show_subtitle()

    @on(PullPanel.Ended, "#pull")
    def show_pull_end(self, message: PullPanel.Ended) -> None:
        if not self._current(message):
            return
        self.query_one(PullPanel).record_end(message)
        self.refresh_bindings()
        if message.outcome == "done":
            self.select_after_list = full_name(message.name)
            self.say(message.text, title="Pull")
            self.list_models()
            self.check_server()
        else:
            severity: SeverityLevel = "warning" if message.outcome == "cancelled" else "error"
            self.say(message.text, title="Pull", severity=severity, timeout=8)
            self._switch_lower("pull")

    @on(ModelActions.Named, "#model-actions")
    def select_later(self, message: ModelActions.Named) -> None:
        self.select_after_list = message.name

    @on(ModelActions.Finished, "#model-actions")
    def show_action_result(self, message: ModelActions.Finished) -> None:
        if not self._current(message):
            return
        if message.text:
            self.say(message.text)
        if message.relist:
            self.query_one(ModelDetailsPane).forget()
            self.list_models()
            self.check_server()
        if message.repoll:
            self.query_one(RunningPanel).poll_now()

    @on(ModelActions.Failed, "#model-actions")
    def show_action_failure(self, message: ModelActions.Failed) -> None:
        if self._current(message):
            self.say(message.text, severity="error", timeout=10)

    @on(ModelTable.Highlighted, "#models-table")
    def highlighted(self, event: ModelTable.Highlighted) -> None:
        lower = self.query_one("#lower", ContentSwitcher)
        if lower.current == "pull" and self.pulling is None:
            self._switch_lower("details")
        self._show_highlighted()

    @on(ModelTable.Selected, "#models-table")
    def selected(self, event: ModelTable.Selected) -> None:
        self.action_chat()

    @on(FilterInput.Changed, "#models-filter")
    def filter_changed(self, event: FilterInput.Changed) -> None:
        self._show_highlighted()  # the box has filtered the table by now

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_pull":
            return self.pulling is not None  # shown only while a pull runs
        return True

    def action_filter(self) -> None:
        self.box.open_filter()

    def action_sort(self) -> None:
        self.box.cycle_sort()

    def action_reverse_sort(self) -> None:
        self.box.reverse_sort()

    def action_health(self) -> None:
        if self.query_one("#lower", ContentSwitcher).current == "health":
            self._switch_lower("details")
        else:
            self._switch_lower("health")
            self.check_server()

    def action_next_host(self) -> None:
        if len(self.hosts) < 2:
            self.say(f"Only one Ollama host ({self.host.name}) is configured; add [hosts.NAME] tables "
                     "to the config to switch between servers.")
            return
        if self.pulling is not None:
            self.query_one(PullPanel).abandon(f"Cancelled the pull of {self.pulling} to switch hosts.")
            self._switch_lower("details")
            self.refresh_bindings()
        self.host_index = (self.host_index + 1) % len(self.hosts)
        self._listed_once = False
        self.table.show_models([])
        self.query_one(ModelDetailsPane).show_message(f"Listing models on {self.host.name}…")
        self.remove_class("-offline")
        self.connect()
        self.say(f"Switched to {self.host.name} ({self.host_url}).")

    def action_retry(self) -> None:
        if self.client is None:
            self.connect()
            return
        self.query_one("#offline", LiveText).show(f"Asking {self.host_url} again…")
        self.query_one(ModelDetailsPane).forget()
        self.list_models()
        self.check_server()
        self.query_one(RunningPanel).poll_now()

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
        self.query_one(PullPanel).begin(self.client, self.generation, name)
        self._switch_lower("pull")
        self.refresh_bindings()

    def action_cancel_pull(self) -> None:
        self.query_one(PullPanel).stop()

    def action_delete(self) -> None:
        if model := self._target():
            self.actions.delete(model, loaded=model.name in self.table.loaded)

    def action_copy(self) -> None:
        if model := self._target():
            self.actions.copy(model.name, [m.name for m in self.table.models], rename=False)

    def action_rename(self) -> None:
        if model := self._target():
            self.actions.copy(model.name, [m.name for m in self.table.models], rename=True)

    def action_load(self) -> None:
        if model := self._target():
            self.actions.load(model.name, None, "with Ollama's default keep-alive")

    def action_load_forever(self) -> None:
        if model := self._target():
            self.actions.load(model.name, -1, "to stay until unloaded")

    def action_unload(self) -> None:
        if model := self._target():
            self.actions.unload(model.name, loaded=model.name in self.table.loaded)

    def action_chat(self) -> None:
        if model := self._target():
            self.actions.hand_off("chat", model.name)

    def action_plan(self) -> None:
        if model := self._target():
            self.actions.hand_off("planner", model.name)

    def action_convert(self) -> None:
        self.actions.convert()

    # ------------------------------------------------------------------ helpers

    @property
    def actions(self) -> ModelActions:
        return self.query_one(ModelActions)

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

    def _switch_lower(self, pane: str) -> None:
        """Show the details, the health view or the pull in the lower pane.

        Health is a view of the server, not of a model: it takes the table's
        room too, so its sentences fit a 24-line terminal without scrolling.
        """
        self.query_one("#lower", ContentSwitcher).current = pane
        self.set_class(pane == "health", "-health")

    def _set_running(self, running: tuple[RunningModel, ...]) -> None:
        self.running = running
        self.box.loaded = len(running)

    def _show_highlighted(self) -> None:
        pane = self.query_one(ModelDetailsPane)
        model = self.table.highlighted
        if model is not None:
            pane.ask_for(self.client, self.generation, model)
        elif self.table.models:
            pane.show_message(f"No model matches '{self.table.filter_text}'. Esc in the filter clears it.")
        elif self._listed_once:
            pane.show_message("No models on this server yet. Press p to pull one, such as qwen3:8b.")

    def _update_report(self) -> None:
        if self.report is not None:
            self.report = with_running(self.report, self.running)
            self.query_one(HealthPanel).show_report(self.report)
        self._show_notices()

    def _show_notices(self) -> None:
        self.query_one(NoticeBar).show_notices(notices(self.report) if self.offline is None else [])

    def _show_subtitle(self) -> None:
        health = self.health
        version = f" · Ollama {health.version}" if health is not None and health.version else ""
        state = " · not reachable" if self.offline is not None else version
        self.sub_title = f"{self.host.name} · {self.host_url}{state}"
