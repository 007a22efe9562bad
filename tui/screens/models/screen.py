"""The model browser: what an Ollama server has, what it has loaded, and the actions on both.

One screen replaces `ollama list`, `ollama ps`, `ollama pull`, `ollama rm`
and `ollama cp`, on the local server or any configured host (`o` switches).
The table is the centre; below it the loaded models (polled every 2 s) and
one pane that shows the highlighted model's details, the server's health,
or a pull in progress. Everything is reachable from the keyboard at 80x24.

The screen holds the keys and the host switch; ModelBrowser (its body)
owns the connection to the host and wires the widgets that talk to it, and
ModelActions runs the dialogs and calls of delete, copy, rename, load and
unload. Each key asks the browser for the highlighted model (which refuses,
with the server's sentence, while the server is unreachable) and hands it on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import ScreenResume, ScreenSuspend
from textual.screen import Screen

from core.config import HostConfig, Settings
from core.ollama.host import select_host
from core.ollama.types import RunningModel
from tui.hosts import set_current_host, watch_host
from tui.screens.models.browser import ModelBrowser
from tui.screens.models.pull_dialog import PullDialog
from tui.services import Services
from tui.widgets.key_bar import KeyBar
from tui.widgets.models.gguf_files import GgufFiles
from tui.widgets.models.health import HealthReport
from tui.widgets.models.table import ModelTable
from tui.widgets.title_bar import TitleBar

# Grouped so the footer fits 80 columns ("/sS Find  pdcmlLuf Model  hor Server");
# `?` lists every key with its own description.
FIND = Binding.Group("Find", compact=True)
ACT = Binding.Group("Model", compact=True)
SERVER = Binding.Group("Server", compact=True)


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
        Binding("slash", "filter", "Filter", key_display="/", group=FIND,
                tooltip="As you type: words in name, family, quant or size; Esc clears"),
        Binding("s", "sort", "Sort by next column", group=FIND, show=False,
                tooltip="Clicking a header sorts too"),
        Binding("S", "reverse_sort", "Reverse the order", group=FIND, show=False),
        Binding("p", "pull", "Pull", group=ACT, tooltip="Pulling an interrupted one again resumes"),
        Binding("space", "mark", "Mark for a bulk delete or copy", group=ACT, key_display="space",
                show=False,
                tooltip="d and c then act on every marked model; Esc clears the marks"),
        Binding("d,delete", "delete", "Delete", group=ACT, key_display="d",
                tooltip="Asks first; the marked models if any"),
        Binding("c", "copy", "Copy to a new name", group=ACT, show=False, tooltip="The marked models if any"),
        Binding("m", "rename", "Rename", group=ACT, show=False, tooltip="Copy, then delete the old name"),
        Binding("l", "load", "Load", group=ACT, tooltip="Into memory, with Ollama's default keep-alive"),
        Binding("L", "load_forever", "Load and keep loaded", group=ACT, show=False, tooltip="keep_alive -1"),
        Binding("u", "unload", "Unload from memory", group=ACT, show=False, tooltip="keep_alive 0"),
        Binding("enter", "chat", "Chat with this model", group=ACT, show=False),
        Binding("f", "plan", "Plan", group=ACT, tooltip="Open the planner with this model: will it fit?"),
        Binding("i", "convert", "Import from Hugging Face", group=ACT, show=False,
                tooltip="Convert a checkpoint to GGUF and import it into this server (the jobs screen)"),
        Binding("x", "cancel_pull", "Stop the pull", group=ACT, tooltip="Pulling again resumes"),
        Binding("h", "health", "Server health", group=SERVER, show=False,
                tooltip="Reachable, who can reach it, models disk, GPU or CPU"),
        Binding("o", "next_host", "Next Ollama host", group=SERVER, show=False),
        Binding("r", "retry", "Refresh / retry now", group=SERVER, show=False),
        Binding("escape", "back", "Close the health view / clear the marks", show=False),
        Binding("g", "gguf", "GGUF files", group=FIND,
                tooltip="The .gguf files in paths.gguf_dirs and the Hugging Face cache; g again: Ollama's"),
    ]
    # Keys about an Ollama model: off while the GGUF files are shown (those have their own d, f, i).
    OLLAMA_ONLY = frozenset({"mark", "delete", "copy", "rename", "load", "load_forever", "unload", "chat",
                             "plan", "convert", "filter", "sort", "reverse_sort", "health"})

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.hosts = ollama_hosts(settings)
        self.host_index = 0
        # Made here: check_action (pulling) and the tests and benchmarks ask it before it is mounted.
        self.browser = ModelBrowser(services.ollama, services.hardware, self.host,
                                    more_hosts=len(self.hosts) > 1, id="models-body")
        self.title = "Models"
        self._pending_pull: str | None = None  # a hand-off's pull, started once the browser is up

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield self.browser
        yield GgufFiles(self.settings.gguf_dirs, self.settings.hf_cache_dir, id="gguf-files")
        yield KeyBar()

    def on_mount(self) -> None:
        watch_host(self, self._follow_host)  # `o` on any screen, a hand-off, a chat resumed elsewhere
        if self._pending_pull is not None:
            name, self._pending_pull = self._pending_pull, None
            self.call_after_refresh(self.pull_model, name)

    def pull_model(self, name: str) -> None:
        """A hand-off (Discover's `hf.co/...` names): pull `name` with the pull panel; x cancels it."""
        if not self.is_mounted:
            self._pending_pull = name
            return
        if self.pulling is not None:
            self.browser.switch_lower("pull")
            self.browser.say(f"Already pulling {self.pulling}; x cancels it, then pull {name} again.",
                             severity="warning")
            return
        self.browser.start_pull(name)

    def _follow_host(self, host: HostConfig) -> None:
        """The app's host changed: show its models (an OpenAI-compatible host has none to show here)."""
        if host.kind != "ollama" or host == self.host:
            return
        names = [h.name for h in self.hosts]
        if host.name not in names:
            self.hosts, names = (*self.hosts, host), [*names, host.name]
        self.host_index = names.index(host.name)
        self.remove_class("-offline")
        self.browser.switch_host(self.host)

    # ------------------------------------------------------------------ what tests, benchmarks and keys read

    @property
    def host(self) -> HostConfig:
        return self.hosts[self.host_index]

    @property
    def table(self) -> ModelTable:
        return self.browser.table

    @property
    def offline(self) -> str | None:
        """The sentence shown in place of the panes while the server cannot be used, else None."""
        return self.browser.offline

    @property
    def report(self) -> HealthReport | None:
        return self.browser.report

    @property
    def running(self) -> tuple[RunningModel, ...]:
        return self.browser.running

    @property
    def pulling(self) -> str | None:
        """The model being pulled, if any."""
        return self.browser.pull.pulling

    @property
    def interrupted_pull(self) -> str | None:
        """The model whose pull was cancelled or broke: `p` offers it again."""
        return self.browser.pull.interrupted

    @property
    def polls(self) -> int:
        return self.browser.running_panel.polls

    def set_polling(self, enabled: bool) -> None:
        """Stop or restart the 2 s `/api/ps` poll (the screen does it by itself when hidden)."""
        self.browser.running_panel.set_polling(enabled)

    def on_screen_suspend(self, event: ScreenSuspend) -> None:
        self.set_polling(False)

    def on_screen_resume(self, event: ScreenResume) -> None:
        self.browser.running_panel.resume()

    @on(ModelBrowser.CameBack, "#models-body")
    def show_panes(self) -> None:
        self.remove_class("-offline")

    @on(ModelBrowser.StatusChanged, "#models-body")
    def show_status(self, message: ModelBrowser.StatusChanged) -> None:
        """The subtitle says the host, and whether it answers; offline, its sentence replaces the panes."""
        if isinstance(message, ModelBrowser.CameBack):
            return
        browser = self.browser
        if browser.offline is not None:
            self.add_class("-offline")
        health = browser.health
        version = f" · Ollama {health.version}" if health is not None and health.version else ""
        state = " · not reachable" if browser.offline is not None else version
        self.sub_title = f"{browser.host.name} · {browser.host_url}{state}"

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_pull":
            return self.pulling is not None  # shown only while a pull runs
        return not (action in self.OLLAMA_ONLY and self.has_class("-gguf"))

    def action_filter(self) -> None:
        self.browser.box.open_filter()

    def action_sort(self) -> None:
        self.browser.box.cycle_sort()

    def action_reverse_sort(self) -> None:
        self.browser.box.reverse_sort()

    def action_health(self) -> None:
        self.browser.toggle_health()

    def action_gguf(self) -> None:
        """`g`: the GGUF files on disk in place of the Ollama models, and back."""
        files = self.query_one(GgufFiles)
        self.toggle_class("-gguf")
        if self.has_class("-gguf"):
            files.client, files.model_names = self.browser.client, [m.name for m in self.table.models]
            if not files.scanned:
                files.scan()
            self.call_after_refresh(files.table.focus)  # once it is displayed: a hidden widget takes no focus
        else:
            self.call_after_refresh(self.table.focus)
        self.refresh_bindings()

    @on(GgufFiles.Imported)
    def list_imported(self, message: GgufFiles.Imported) -> None:
        self.browser.select_after_list = message.name
        self.browser.list_models()

    def action_back(self) -> None:
        """Esc: out of the GGUF files or the health view first, then the marks go."""
        if self.has_class("-gguf"):
            self.action_gguf()
        elif self.browser.has_class("-health"):
            self.browser.switch_lower("details")
        else:
            self.browser.box.clear_marks()

    def action_mark(self) -> None:
        if self.browser.target():
            self.browser.box.toggle_mark()

    def action_next_host(self) -> None:
        if len(self.hosts) < 2:
            self.browser.say(f"Only one Ollama host ({self.host.name}) is configured; add [hosts.NAME] "
                             "tables to the config to switch between servers.")
            return
        self.host_index = (self.host_index + 1) % len(self.hosts)
        self.remove_class("-offline")
        self.browser.switch_host(self.host)
        set_current_host(self, self.host)  # every screen follows
        self.browser.say(f"Switched to {self.host.name} ({self.browser.host_url}).")

    def action_retry(self) -> None:
        self.browser.retry()

    def action_pull(self) -> None:
        browser = self.browser
        if self.pulling is not None:
            browser.switch_lower("pull")
            browser.say(f"Already pulling {self.pulling}; x cancels it.")
            return
        if browser.refuse_offline():
            return
        self.app.push_screen(PullDialog(self.host.name, resume=self.interrupted_pull), browser.start_pull)

    def action_cancel_pull(self) -> None:
        self.browser.pull.stop()

    def action_delete(self) -> None:
        if marked := self.browser.box.marked:
            if not self.browser.refuse_offline():
                self.browser.actions.delete_many(marked, self.table.loaded)
        elif model := self.browser.target():
            self.browser.actions.delete(model, loaded=model.name in self.table.loaded)

    def action_copy(self) -> None:
        if marked := self.browser.box.marked:
            if not self.browser.refuse_offline():
                self.browser.actions.copy_many(marked, [m.name for m in self.table.models])
        elif model := self.browser.target():
            self.browser.actions.copy(model.name, [m.name for m in self.table.models], rename=False)

    def action_rename(self) -> None:
        if model := self.browser.target():
            self.browser.actions.copy(model.name, [m.name for m in self.table.models], rename=True)

    def action_load(self) -> None:
        if model := self.browser.target():
            self.browser.actions.load(model.name, None, "with Ollama's default keep-alive")

    def action_load_forever(self) -> None:
        if model := self.browser.target():
            self.browser.actions.load(model.name, -1, "to stay until unloaded")

    def action_unload(self) -> None:
        if model := self.browser.target():
            self.browser.actions.unload(model.name, loaded=model.name in self.table.loaded)

    def action_chat(self) -> None:
        if model := self.browser.target():
            self.browser.actions.hand_off("chat", model.name)

    def action_plan(self) -> None:
        if model := self.browser.target():
            self.browser.actions.hand_off("planner", model.name)

    def action_convert(self) -> None:
        self.browser.actions.convert()
