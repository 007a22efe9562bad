"""The thin App: screens, navigation and theme. No domain logic lives here."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import Screen

from core.config import HostConfig, Settings
from core.error_log import EXIT_CRASH, crash_sentence
from core.ollama.host import select_host
from core.redact import redact, remember_settings
from tui import no_color
from tui.key_routing import KeyRouter
from tui.screens.dashboard.screen import DashboardScreen
from tui.screens.help import HelpScreen
from tui.services import Services
from tui.widgets.key_bar import SCREENS

if TYPE_CHECKING:
    from textual.command import Provider  # start-up: textual.command loads with the palette

    from core.pipeline.types import JobSpec
    from core.planner.source import PlannedModel
    from tui.screens.chat.screen import ChatScreen
    from tui.screens.discover.screen import DiscoverScreen
    from tui.screens.jobs.screen import JobsScreen
    from tui.screens.models.screen import ModelsScreen
    from tui.screens.planner.screen import PlannerScreen

# Screens other than the home screen are imported when first opened: they
# bring the Ollama client, the planner and the pipeline, which the dashboard
# does not need, and start-up time is what a user feels on every launch.

STYLES = Path(__file__).parent / "styles"


def _actions_provider() -> type[Provider]:
    from tui.palette.actions import ActionsProvider  # start-up: the palette loads when first opened

    return ActionsProvider


def _models_provider() -> type[Provider]:
    from tui.palette.models import ModelsProvider  # start-up: the palette loads when first opened

    return ModelsProvider


class LlamadeckApp(App[None]):
    TITLE = "llamadeck"
    # Textual types CSS_PATH as an instance variable, so it cannot be a ClassVar here.
    # Only the home screen's styles load at start-up; each other screen names its
    # own .tcss in its CSS_PATH, parsed when it first opens.
    CSS_PATH = [STYLES / "app.tcss", STYLES / "dashboard.tcss"]  # noqa: RUF012
    # The app opens straight on the dashboard's mode: no placeholder screen is
    # built, styled and swapped out first (a switch costs a restyle of both).
    DEFAULT_MODE = "dashboard"
    # Every key of every screen, and "go to" a model; Textual's theme and screenshot commands stay.
    COMMANDS = App.COMMANDS | {_actions_provider, _models_provider}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('dashboard')", "Dashboard", tooltip="GPU, CPU and RAM, live",
                group=SCREENS),
        Binding("2", "switch_mode('models')", "Models", tooltip="Ollama's models: pull, load, delete",
                group=SCREENS),
        Binding("3", "switch_mode('planner')", "Planner", tooltip="Will a model fit, and how fast",
                group=SCREENS),
        Binding("4", "switch_mode('chat')", "Chat", tooltip="Talk to a model", group=SCREENS),
        Binding("5", "switch_mode('jobs')", "Jobs", tooltip="Hugging Face -> GGUF -> Ollama", group=SCREENS),
        Binding("6", "switch_mode('discover')", "Discover", tooltip="A GGUF on the Hub that fits this box",
                group=SCREENS),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="This screen's keys, then all"),
        Binding("f1", "help", "Help", show=False, tooltip="Where a text box has the ? key"),
        Binding("o,f2", "switch_host", "Switch host", show=False, key_display="o",
                tooltip="The next configured server, on every screen (F2 where a text box has the keys)"),
        Binding("q", "quit", "Quit"),
    ]

    # The host every screen talks to (tui/hosts.py): screens watch it, `o` and hand-offs change it.
    current_host: var[HostConfig | None] = var(None)

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        if self.no_color:  # warnings in bold reverse video, not in a grey that vanishes (tui/no_color.py)
            no_color.install(self._filters)
        self.settings = settings
        self.services = services
        self.current_host = select_host(settings)
        # The sentence the app ended with after an unexpected error (None while all is well).
        self.crash: str | None = None
        self._keys = KeyRouter()  # keys typed during a screen switch reach the new screen
        remember_settings(settings)  # hosts' tokens and headers are masked in every notification
        # The hardware facts (NVML init can take a while) are read while Textual starts.
        services.hardware.prefetch()
        # Modes hold the services, so they are added per instance; App.__init__
        # has already copied the (empty) class-level MODES.
        modes: dict[str, Callable[[], Screen[None]]] = {
            "models": self._models_screen,
            "planner": self._planner_screen,
            "chat": self._chat_screen,
            "jobs": self._jobs_screen,
            "discover": self._discover_screen,
        }
        self._models: ModelsScreen | None = None
        self._chat: ChatScreen | None = None
        self._planner: PlannerScreen | None = None
        self._jobs: JobsScreen | None = None
        for mode, screen in modes.items():
            self.add_mode(mode, screen)

    def get_default_screen(self) -> Screen[None]:
        """The dashboard, as the first screen of the `dashboard` mode.

        Built here instead of from a mode factory because Textual reparses
        and reapplies all of the CSS when it first opens a mode from its
        factory, and skips that for the default screen (about 20 ms less
        CSS parsing before the first frame). The mode is added now, so `1`
        switches back to this very screen.
        """
        screen = DashboardScreen(self.settings, self.services)
        self.add_mode("dashboard", lambda: screen)
        return screen

    async def on_event(self, event: events.Event) -> None:
        again = self._keys.stale(event, self.screen) if isinstance(event, events.Key) else None
        if again is not None:
            self.post_message(again)
            return
        await super().on_event(event)

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.call_after_refresh(self._started)

    def _started(self) -> None:
        """The first frame is up: garbage collection back on (the CLI paused it for start-up).

        One collection first, so start-up's garbage is not frozen with it;
        then what start-up built, which lives as long as the app, moves to
        the permanent generation and later collections do not walk it.
        """
        if not gc.isenabled():
            gc.collect()
            gc.freeze()
            gc.enable()
        self.run_worker(self._make_history_private, thread=True, group="start-up")

    def _make_history_private(self) -> None:
        """Chats others could read (an older llamadeck left them so) are made private at start-up."""
        from core.chat.history import make_private  # start-up: SQLite code only after the first frame

        notice = make_private()
        if notice:
            self.call_from_thread(self.notify, notice, title="Chat history", severity="warning", timeout=15,
                                  markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """An unexpected error anywhere (a handler, a worker, a timer): a sentence, a crash file, exit 70.

        Textual's own handler prints a Rich traceback with local variables
        (which can hold a prompt or a token) and leaves the exit status at 0
        for whoever runs the app. Here the traceback goes, secrets masked, to
        a crash file, and `self.crash` holds the one sentence naming that file,
        which the CLI prints once the terminal is restored (Textual would wrap
        and crop it at the terminal's width, splitting the file's path). Under
        Pilot the error is still kept in `_exception`, so a test sees it.
        """
        self._return_code = EXIT_CRASH
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        if self.crash is None:
            from textual.worker import WorkerFailed  # only on the crash path

            if isinstance(error, WorkerFailed):  # say what the worker raised, not Textual's wrapper
                self.crash = crash_sentence(error.error, "a worker of the app")
            else:
                self.crash = crash_sentence(error, "the app")
        self._close_messages_no_wait()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every toast, from any screen, with configured secrets masked (a server may echo a token)."""
        super().notify(redact(message), title=redact(title), severity=severity, timeout=timeout,
                       markup=markup)

    def action_switch_host(self) -> None:
        from tui.hosts import switch_sentence  # start-up: loaded when first used

        host, sentence = switch_sentence(self.settings, self.current_host)
        if host is not None:
            self.current_host = host
        self.notify(sentence, title="Host", markup=False, timeout=4)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands less Keys (its panel lists its own internals; ? is the help) and Quit (q is)."""
        for command in super().get_system_commands(screen):
            if command.title not in {"Keys", "Quit"}:
                yield command

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # Hand-offs between screens: the model browser (and later others) open the
    # planner or chat with a model already chosen. The planner and chat screens
    # replace these bodies when they arrive.

    def open_planner(self, model: str, host: str | None = None) -> None:
        """Show the planner with the Ollama model `model` (on host `host`) preselected."""
        from core.planner.source import OLLAMA_PREFIX  # start-up: the planner loads when first used

        self.plan(OLLAMA_PREFIX + model, host)

    def plan(self, spec: str, host: str | None = None) -> None:
        """Show the planner planning `spec` (a catalog name, a .gguf path, ollama:NAME, ...)."""
        self._planner_screen().use_model(spec, host)
        self.switch_mode("planner")

    def plan_model(self, model: PlannedModel) -> None:
        """Show the planner planning a model whose facts are known already (a Hub file's remote header)."""
        self._planner_screen().use_planned(model)
        self.switch_mode("planner")

    def pull_model(self, name: str) -> None:
        """Show the model browser pulling `name` into the current host, with its pull progress."""
        self._models_screen().pull_model(name)
        self.switch_mode("models")

    def queue_job(self, spec: JobSpec) -> None:
        """Show the jobs screen with `spec` queued (it starts when nothing else runs)."""
        self._jobs_screen().queue_job(spec)
        self.switch_mode("jobs")

    def open_chat(self, model: str, host: str | None = None) -> None:
        """Show the chat screen talking to `model` on Ollama host `host`."""
        self._chat_screen().use_model(model, host)
        self.switch_mode("chat")

    def open_pipeline(self, source: str | None = None, quant: str | None = None,
                      host: str | None = None) -> None:
        """Show the jobs screen with the new-job form filled in: `source` to `quant`, into `host`."""
        from tui.screens.jobs.new_job import Prefill  # start-up: screens load when first opened

        self.switch_mode("jobs")
        self._jobs_screen().new_job(Prefill(source, quant, host))

    def _models_screen(self) -> ModelsScreen:
        if self._models is None:
            from tui.screens.models.screen import ModelsScreen  # start-up: screens load when first opened

            self._models = ModelsScreen(self.settings, self.services)
        return self._models

    def _discover_screen(self) -> DiscoverScreen:
        from tui.screens.discover.screen import DiscoverScreen  # start-up: screens load when first opened

        return DiscoverScreen(self.settings, self.services)

    def _jobs_screen(self) -> JobsScreen:
        if self._jobs is None:
            from tui.screens.jobs.screen import JobsScreen  # start-up: loaded when first opened

            self._jobs = JobsScreen(self.settings, self.services)
        return self._jobs

    def _planner_screen(self) -> PlannerScreen:
        if self._planner is None:
            from tui.screens.planner.screen import PlannerScreen  # start-up: loaded when first opened

            self._planner = PlannerScreen(self.settings, self.services)
        return self._planner

    def _chat_screen(self) -> ChatScreen:
        if self._chat is None:
            from tui.screens.chat.screen import ChatScreen  # start-up: loaded when first opened

            self._chat = ChatScreen(self.settings, self.services)
        return self._chat

    def on_unmount(self) -> None:
        self.services.close()


def make_app(settings: Settings, services: Services) -> LlamadeckApp:
    """The one way to build the app: the CLI passes real services, tests pass fakes."""
    return LlamadeckApp(settings, services)
