"""The model browser: what an Ollama server has, what it has loaded, and the actions on both.

One screen replaces `ollama list`, `ollama ps`, `ollama pull`, `ollama rm`
and `ollama cp`, on the local server or any configured host (`o` switches).
The table is the centre; below it the loaded models (polled every 2 s) and
one pane that shows the highlighted model's details, the server's health,
or a pull in progress. Everything is reachable from the keyboard at 80x24.

The conversations with Ollama live in `ModelWorkers`; this half lays out,
binds keys and turns their messages into what the widgets show. A server
that is not there is a state, not an error: the sentence says how to start
it, `r` retries, and the 2 s poll notices on its own when it comes back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import ScreenResume, ScreenSuspend
from textual.timer import Timer
from textual.widgets import ContentSwitcher
from textual.worker import Worker, WorkerState

from core.config import HostConfig, Settings
from core.errors import ConfigError, OllamaUnreachable, ServerTimeout
from core.ollama.client import OllamaClient
from core.ollama.health import cpu_fallback_notice
from core.ollama.host import select_host
from core.ollama.types import RunningModel, ServerHealth
from core.units import format_model_size
from tui.screens.model_actions import ModelActions
from tui.screens.model_messages import (
    ModelShowFailed,
    ModelShown,
    ModelsListed,
    ModelsListFailed,
    RunningListed,
    RunningListFailed,
    ServerChecked,
)
from tui.services import Services
from tui.widgets.key_bar import KeyBar
from tui.widgets.live_text import LiveText
from tui.widgets.model_details import ModelDetailsPane
from tui.widgets.model_filter import FilterInput
from tui.widgets.model_health import HealthPanel, HealthReport
from tui.widgets.model_pull import PullPanel
from tui.widgets.model_running import RunningPanel
from tui.widgets.model_table import ModelTable
from tui.widgets.notice_bar import NoticeBar
from tui.widgets.title_bar import TitleBar

PS_INTERVAL_S = 2.0
RELIST_EVERY = 15  # polls: models pulled or removed from a shell show up within 30 s
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


class ModelsScreen(ModelActions):
    # Parsed when this screen first opens, not at start-up (it applies app-wide from then on).
    CSS_PATH = "../styles/models.tcss"
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
        self.pulling: str | None = None
        self.interrupted_pull: str | None = None
        self.select_after_list: str | None = None
        self.polls = 0
        self._ps_timer: Timer | None = None
        self._ps_worker: Worker[None] | None = None
        self._pull_worker: Worker[None] | None = None
        self._listed_once = False
        self.title = "Models"

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield NoticeBar(id="models-notices")
        with Horizontal(id="models-main"):
            with Vertical(id="models-left"):
                with Vertical(id="models-box"):
                    yield FilterInput(id="models-filter")
                    yield ModelTable(id="models-table")
                yield RunningPanel(id="running")
            with ContentSwitcher(initial="details", id="lower"):
                yield ModelDetailsPane(id="details")
                yield HealthPanel(id="health")
                yield PullPanel(id="pull")
        yield LiveText("", id="offline")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#models-box").border_title = "Models"
        self.query_one(ModelDetailsPane).show_message("Listing models…")
        self.connect()

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Talk to the current host from scratch: new client, new generation, fresh everything."""
        self.generation += 1
        self.workers.cancel_group(self, "list")
        self.workers.cancel_group(self, "show")
        self.workers.cancel_group(self, "health")
        self.forget_details()
        self.running, self.health, self.report, self.offline = (), None, None, None
        old, self.client = self.client, None
        if old is not None:
            self.run_worker(old.aclose(), group="close")
        try:
            self.client = self.services.ollama(self.host)
        except ConfigError as exc:  # an address no client can use (a bad port): the sentence says which
            self._go_offline(str(exc), unreachable=False, title="This address cannot be used")
            return
        self._show_subtitle()
        self.list_models()
        self.check_server()
        self._start_polling()
        self.poll_running()

    def _start_polling(self) -> None:
        if self._ps_timer is not None:
            self._ps_timer.stop()
        self._ps_timer = self.set_interval(PS_INTERVAL_S, self._tick, name="models-ps")

    def set_polling(self, enabled: bool) -> None:
        """Stop or restart the 2 s `/api/ps` poll (the screen does it by itself when hidden)."""
        if enabled and self._ps_timer is None and self.client is not None:
            self._start_polling()
        elif not enabled and self._ps_timer is not None:
            self._ps_timer.stop()
            self._ps_timer = None

    def _tick(self) -> None:
        busy = self._ps_worker is not None and self._ps_worker.state in (WorkerState.PENDING,
                                                                         WorkerState.RUNNING)
        if busy:
            return
        self._ps_worker = self.poll_running()
        self.polls += 1
        if self.polls % RELIST_EVERY == 0 and not self.unreachable:
            self.list_models()

    def on_screen_suspend(self, event: ScreenSuspend) -> None:
        self.set_polling(False)

    def on_screen_resume(self, event: ScreenResume) -> None:
        if self.client is not None and self._ps_timer is None:
            self._start_polling()
            self._ps_worker = self.poll_running()

    def _go_offline(self, sentence: str, *, unreachable: bool, title: str | None = None) -> None:
        self.offline = sentence
        self.unreachable = unreachable
        self.add_class("-offline")
        self.running = ()
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

    # ------------------------------------------------------------------ messages

    @on(ModelsListed)
    def show_models(self, message: ModelsListed) -> None:
        if not self._current(message):
            return
        table = self.table
        table.show_models(message.models)  # cheap even for 500 models; keeps the ages current
        if self.select_after_list is not None and table.select(self.select_after_list):
            self.select_after_list = None
        self._listed_once = True
        self._go_online(relist=False)
        self._show_table_title()
        self._show_highlighted()

    @on(ModelsListFailed)
    def show_list_failure(self, message: ModelsListFailed) -> None:
        if self._current(message):
            error = message.error
            self._go_offline(str(error), unreachable=isinstance(error, OllamaUnreachable),
                             title="No answer in time" if isinstance(error, ServerTimeout) else None)

    @on(RunningListed)
    def show_running(self, message: RunningListed) -> None:
        if not self._current(message):
            return
        if self.unreachable:
            self._go_online(relist=True)
        running = tuple(message.running)
        changed = running != self.running
        self.running = running
        self.query_one(RunningPanel).show(running)  # the countdown moves even when nothing else does
        if changed:  # most polls: nothing to redraw beyond that
            self.table.mark_loaded(m.name for m in running)
            self._update_report()
            self._show_table_title()

    @on(RunningListFailed)
    def show_running_failure(self, message: RunningListFailed) -> None:
        if not self._current(message):
            return
        if isinstance(message.error, OllamaUnreachable):
            self._go_offline(str(message.error), unreachable=True)
        else:
            self.query_one(RunningPanel).show_error(str(message.error))

    @on(ModelShown)
    def show_details(self, message: ModelShown) -> None:
        highlighted = self.table.highlighted
        if self._current(message) and highlighted is not None and highlighted.name == message.info.name:
            self.query_one(ModelDetailsPane).show_info(message.info)

    @on(ModelShowFailed)
    def show_details_failure(self, message: ModelShowFailed) -> None:
        if self._current(message):
            self.query_one(ModelDetailsPane).show_message(str(message.error), title=message.name, error=True)

    @on(ServerChecked)
    def show_health(self, message: ServerChecked) -> None:
        if not self._current(message):
            return
        self.health = message.health
        self.report = HealthReport(health=message.health, gpus=message.gpus, models_disk=message.models_disk)
        self._update_report()
        self._show_subtitle()

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
        self.table.set_filter(event.value)
        event.input.set_class(bool(event.value), "-filtered")
        self._show_table_title()
        self._show_highlighted()

    @on(FilterInput.Closed)
    def filter_closed(self, event: FilterInput.Closed) -> None:
        self.query_one(FilterInput).remove_class("-filtering")
        self.table.focus()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_pull":
            return self.pulling is not None  # shown only while a pull runs
        return True

    def action_filter(self) -> None:
        # The class goes on the input, not the screen: restyling the whole screen per key is slow.
        self.query_one(FilterInput).add_class("-filtering").focus()

    def action_sort(self) -> None:
        self.table.cycle_sort()
        self._show_table_title()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self._show_table_title()

    def action_health(self) -> None:
        lower = self.query_one("#lower", ContentSwitcher)
        if lower.current == "health":
            self._switch_lower("details")
        else:
            self._switch_lower("health")
            self.check_server()

    def action_next_host(self) -> None:
        if len(self.hosts) < 2:
            self.say(f"Only one Ollama host ({self.host.name}) is configured; add [hosts.NAME] tables "
                     "to the config to switch between servers.")
            return
        if self._pull_worker is not None and self.pulling is not None:
            # Its end arrives stamped with the old host and is dropped, so say it here.
            self._pull_worker.cancel()
            self.query_one(PullPanel).cancelled(f"Cancelled the pull of {self.pulling} to switch hosts.")
            self.pulling = self.interrupted_pull = None
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
        self.forget_details()
        self.list_models()
        self.check_server()
        self._ps_worker = self.poll_running()

    # ------------------------------------------------------------------ helpers

    def _show_highlighted(self) -> None:
        pane = self.query_one(ModelDetailsPane)
        model = self.table.highlighted
        if model is None:
            if self.table.models:
                pane.show_message(f"No model matches '{self.table.filter_text}'. "
                                  "Esc in the filter clears it.")
            elif self._listed_once:
                pane.show_message("No models on this server yet. Press p to pull one, such as qwen3:8b.")
            return
        key = (model.name, model.digest)
        if key == self.details_key:  # shown, or asked for (an error stays until r asks again)
            return
        self.details_key = key
        if pane.info is None or pane.info.name != model.name:
            pane.show_message(f"Asking for the details of {model.name}…", title=model.name)
        self.show_model(model.name, model.digest)

    def _update_report(self) -> None:
        if self.report is None:
            self._show_notices()
            return
        gpus = self.report.gpus
        notice = cpu_fallback_notice(self.running, nvidia_gpu_present=bool(gpus),
                                     is_local=self.report.health.is_local)
        self.report = replace(self.report, running=self.running, cpu_notice=notice)
        self.query_one(HealthPanel).show_report(self.report)
        self._show_notices()

    def _show_notices(self) -> None:
        notices: list[str] = []
        report = self.report
        if report is not None and self.offline is None:
            if report.health.exposure_warning:
                notices.append("Ollama answers beyond loopback without authentication (h: details).")
            if report.cpu_notice:
                names = ", ".join(m.name for m in report.running if m.on_cpu_only)
                notices.append(f"{names} on the CPU only although there is an NVIDIA GPU (h: why).")
        self.query_one(NoticeBar).show_notices(notices)

    def _show_table_title(self) -> None:
        table = self.table
        total = len(table.models)
        size = format_model_size(sum(m.size for m in table.models))
        parts = [f"{total} models, {size}"]
        if table.filter_text:
            parts.append(f"{len(table.shown)} match '{table.filter_text}'")
        if self.running:
            parts.append(f"{len(self.running)} loaded")
        parts.append(f"sort {table.order.label}")
        self.query_one("#models-box").border_subtitle = Text(" · ".join(parts))

    def _show_subtitle(self) -> None:
        health = self.health
        version = f" · Ollama {health.version}" if health is not None and health.version else ""
        state = " · not reachable" if self.offline is not None else version
        self.sub_title = f"{self.host.name} · {self.host_url}{state}"

