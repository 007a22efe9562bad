"""The body of the model browser: one Ollama host's models, what it has loaded, and the panes below.

It owns the client and the generation of the connection to the host it is
given (`connect(host)`), hands them to the widgets that ask the server, and
turns their answers into what the others show. A server that is not there
is a state, not an error: the sentence replaces the panes, says how to start
it, and the 2 s poll notices on its own when it comes back.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import ContentSwitcher

from core.config import HostConfig
from core.errors import ConfigError, OllamaUnreachable, ServerTimeout
from core.hardware.probe import HardwareProbe
from core.ollama.client import OllamaClient
from core.ollama.types import LocalModel, RunningModel, ServerHealth
from tui.screens.models.actions import ModelActions
from tui.screens.models.copy_dialog import full_name
from tui.services import OllamaFactory
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

NO_MODEL = "No model is highlighted."
NO_ANSWER = "The server did not answer in time"


class ModelBrowser(Vertical):
    """Notices, the models box and running panel, the lower pane, and the sentence shown when offline."""

    class StatusChanged(Message):
        """The host, its reachability or its version changed: the screen's subtitle says them."""

        def __init__(self, browser: ModelBrowser) -> None:
            super().__init__()
            self.browser = browser

        @property
        def control(self) -> ModelBrowser:
            return self.browser

    class CameBack(StatusChanged):
        """The server answers again after it was offline."""

    def __init__(self, ollama: OllamaFactory, probe: HardwareProbe, host: HostConfig, *, more_hosts: bool,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.ollama = ollama
        self.probe = probe
        self.host = host
        self.more_hosts = more_hosts  # the offline sentence then says `o` tries the next host
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
        self.listed_once = False
        # Made here, not in compose: the screen's check_action asks them before they are mounted.
        self.pull = PullPanel(id="pull")
        self.running_panel = RunningPanel(id="running")

    def compose(self) -> ComposeResult:
        yield NoticeBar(id="models-notices")
        with Horizontal(id="models-main"):
            with Vertical(id="models-left"):
                yield ModelList(id="models-box")
                yield self.running_panel
            with ContentSwitcher(initial="details", id="lower"):
                yield ModelDetailsPane(id="details")
                yield HealthPanel(id="health")
                yield self.pull
        yield LiveText("", id="offline")
        yield ModelActions(id="model-actions")

    def on_mount(self) -> None:
        self.query_one(ModelDetailsPane).show_message("Listing models…")
        self.connect(self.host)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()

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

    @property
    def actions(self) -> ModelActions:
        return self.query_one(ModelActions)

    def say(self, text: str, *, title: str = "", severity: SeverityLevel = "information",
            timeout: float | None = None) -> None:
        """A toast with plain text: sentences hold addresses like [::1]:11434 that are not markup."""
        self.notify(text, title=title, severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------------ connection

    def connect(self, host: HostConfig) -> None:
        """Talk to `host` from scratch: new client, new generation, fresh everything."""
        self.host = host
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
        actions, running = self.actions, self.running_panel
        running.forget()
        actions.client = running.client = None
        actions.generation = running.generation = self.generation
        actions.host = host
        try:
            self.client = self.ollama(host)
        except ConfigError as exc:  # an address no client can use (a bad port): the sentence says which
            self._go_offline(str(exc), unreachable=False, title="This address cannot be used")
            return
        actions.client = running.client = self.client
        self.post_message(self.StatusChanged(self))
        self.list_models()
        self.check_server()
        running.start_polling()
        running.poll()

    def _current(self, message: HostAnswer) -> bool:
        """Is this answer about the host and connection the browser shows now?"""
        return message.generation == self.generation

    def list_models(self) -> None:
        if self.client is not None:
            self.box.list_models(self.client, self.generation)

    def check_server(self) -> None:
        if self.client is not None:
            self.query_one(HealthPanel).check(self.client, self.generation, self.probe)

    def retry(self) -> None:
        """`r`: ask everything again (a new connection if there was none)."""
        if self.client is None:
            self.connect(self.host)
            return
        self.query_one("#offline", LiveText).show(f"Asking {self.host_url} again…")
        self.query_one(ModelDetailsPane).forget()
        self.list_models()
        self.check_server()
        self.running_panel.poll_now()

    @on(RunningPanel.RelistDue, "#running")
    def relist(self) -> None:
        if not self.unreachable:
            self.list_models()

    def _go_offline(self, sentence: str, *, unreachable: bool, title: str | None = None) -> None:
        self.offline = sentence
        self.unreachable = unreachable
        self._set_running(())
        self.running_panel.show(())
        self.table.mark_loaded(())
        more = "  o tries the next host." if self.more_hosts else ""
        box = self.query_one("#offline", LiveText)
        box.border_title = title or ("Not reachable" if unreachable else "The server answered with an error")
        box.show(
            f"{sentence}\n\nr retries now; llamadeck also checks every {PS_INTERVAL_S:g} s.{more}")
        self._show_notices()
        self.post_message(self.StatusChanged(self))

    def _go_online(self, *, relist: bool) -> None:
        """The server answers again; `relist` when what answered was only the poll."""
        if self.offline is None:
            return
        self.offline = None
        self.unreachable = False
        self.post_message(self.CameBack(self))
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
        self.listed_once = True
        self._go_online(relist=False)
        self._show_highlighted()

    @on(ModelList.ListFailed, "#models-box")
    def show_list_failure(self, message: ModelList.ListFailed) -> None:
        if self._current(message):
            error = message.error
            self._go_offline(str(error), unreachable=isinstance(error, OllamaUnreachable),
                             title=NO_ANSWER if isinstance(error, ServerTimeout) else None)

    @on(RunningPanel.Polled, "#running")
    def show_running(self, message: RunningPanel.Polled) -> None:
        if not self._current(message):
            return
        if self.unreachable:
            self._go_online(relist=True)
        running = tuple(message.running)
        changed = running != self.running
        self._set_running(running)
        self.running_panel.show(running)  # the countdown moves even when nothing else does
        if changed:  # most polls: nothing to redraw beyond that
            self.table.mark_loaded(m.name for m in running)
            self.query_one(ModelDetailsPane).show_running(running, self.probe)
            self._update_report()
            self.box.show_title()

    @on(RunningPanel.PollFailed, "#running")
    def show_running_failure(self, message: RunningPanel.PollFailed) -> None:
        if not self._current(message):
            return
        if isinstance(message.error, OllamaUnreachable):
            self._go_offline(str(message.error), unreachable=True)
        else:
            self.running_panel.show_error(str(message.error))

    @on(ModelDetailsPane.Fetched, "#details")
    def show_details(self, message: ModelDetailsPane.Fetched) -> None:
        highlighted = self.table.highlighted
        if self._current(message) and highlighted is not None and highlighted.name == message.info.name:
            self.query_one(ModelDetailsPane).show_info(message.info, self.running, self.probe)

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
        self.post_message(self.StatusChanged(self))

    @on(PullPanel.Ended, "#pull")
    def show_pull_end(self, message: PullPanel.Ended) -> None:
        if not self._current(message):
            return
        self.pull.record_end(message)
        self.refresh_bindings()
        if message.outcome == "done":
            self.select_after_list = full_name(message.name)
            self.say(message.text, title="Pull")
            self.list_models()
            self.check_server()
        else:
            severity: SeverityLevel = "warning" if message.outcome == "cancelled" else "error"
            self.say(message.text, title="Pull", severity=severity, timeout=8)
            self.switch_lower("pull")

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
            self.running_panel.poll_now()

    @on(ModelActions.Failed, "#model-actions")
    def show_action_failure(self, message: ModelActions.Failed) -> None:
        if self._current(message):
            self.say(message.text, severity="error", timeout=10)

    @on(ModelTable.Highlighted, "#models-table")
    def highlighted(self, event: ModelTable.Highlighted) -> None:
        lower = self.query_one("#lower", ContentSwitcher)
        if lower.current == "pull" and self.pull.pulling is None:
            self.switch_lower("details")
        self._show_highlighted()

    @on(ModelTable.Selected, "#models-table")
    def selected(self, event: ModelTable.Selected) -> None:
        if model := self.target():
            self.actions.hand_off("chat", model.name)

    @on(FilterInput.Changed, "#models-filter")
    def filter_changed(self, event: FilterInput.Changed) -> None:
        self._show_highlighted()  # the box has filtered the table by now

    # ------------------------------------------------------------------ for the screen's keys

    def refuse_offline(self) -> bool:
        if self.offline is None:
            return False
        self.say(self.offline, severity="error", timeout=8)
        return True

    def target(self) -> LocalModel | None:
        """The highlighted model, or None (and why) when there is none or the server is unreachable."""
        if self.refuse_offline():
            return None
        model = self.table.highlighted
        if model is None:
            self.say(NO_MODEL)
        return model

    def toggle_health(self) -> None:
        if self.query_one("#lower", ContentSwitcher).current == "health":
            self.switch_lower("details")
        else:
            self.switch_lower("health")
            self.check_server()

    def start_pull(self, name: str | None) -> None:
        if not name:
            return
        self.pull.begin(self.client, self.generation, name)
        self.switch_lower("pull")
        self.refresh_bindings()

    def switch_host(self, host: HostConfig) -> None:
        """Leave the current host (cancelling a pull, whose own end would be dropped) for `host`."""
        if self.pull.pulling is not None:
            self.pull.abandon(f"Cancelled the pull of {self.pull.pulling} to switch hosts.")
            self.switch_lower("details")
            self.refresh_bindings()
        self.listed_once = False
        self.table.show_models([])
        self.query_one(ModelDetailsPane).show_message(f"Listing models on {host.name}…")
        self.connect(host)

    def switch_lower(self, pane: str) -> None:
        """The details, the health view or the pull; health (about the server) takes the table's room too."""
        self.query_one("#lower", ContentSwitcher).current = pane
        self.set_class(pane == "health", "-health")

    # ------------------------------------------------------------------ helpers

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
        elif self.listed_once:
            pane.show_message("No models on this server yet. Press p to pull one, such as qwen3:8b.")

    def _update_report(self) -> None:
        if self.report is not None:
            self.report = with_running(self.report, self.running)
            self.query_one(HealthPanel).show_report(self.report)
        self._show_notices()

    def _show_notices(self) -> None:
        self.query_one(NoticeBar).show_notices(notices(self.report) if self.offline is None else [])
