"""The home screen: live GPU, CPU, RAM and disk gauges while models load and run.

The probe is read from one long-lived thread worker (NVML and psutil block,
and a lost GPU can make NVML calls slow) running sampler.Sampler;
each reading comes back as a `SampleTaken` message that replaces any older
one still queued. The layout rules are in layout.py. Widgets are
built once, when the static facts arrive, and then updated in place: a tick
changes a few one-line widgets and never recomposes or relayouts the screen.
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.worker import get_current_worker

from core.config import Settings
from core.errors import LlamadeckError
from core.hardware.probe import HardwareProbe, measure_ram_bandwidth
from core.hardware.processes import ProcessRecord, label_runners
from core.hardware.types import BandwidthResult, GpuProcess, MachineInfo, SystemSample
from core.ollama.host import select_host
from core.units import format_bytes, format_interval, format_rate
from tui.screens.confirm import ConfirmDialog
from tui.screens.dashboard.layout import DashboardBody, breakpoint_classes, history_rows
from tui.screens.dashboard.runners import Runner, find_runners, gpu_records, next_runner, stop_question
from tui.screens.dashboard.sampler import (
    BandwidthMeasured,
    DisksRead,
    MachineProbed,
    ProcessesRead,
    SampleFailed,
    Sampler,
    SampleTaken,
    next_refresh,
)
from tui.services import Services
from tui.widgets.dashboard.gpu_panel import GpuPanel
from tui.widgets.dashboard.gpu_process_table import GpuProcessTable
from tui.widgets.dashboard.machine_facts import MachineFacts
from tui.widgets.dashboard.ollama_panel import OllamaPanel
from tui.widgets.dashboard.system_panel import SystemPanel
from tui.widgets.dashboard.top_processes import TopProcesses
from tui.widgets.disk_free import DiskFree
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice_bar import NoticeBar
from tui.widgets.title_bar import TitleBar

HISTORY_S = 180.0
FACTS_WAIT_S = 0.1  # how long the first frame waits for the hardware facts
NOT_ANSWERING = "Not answering: see the notice above."
NO_PROCS = "No process holds GPU memory."
NO_PROCS_UNREAD = "No process holds memory on the GPUs that answer."
OLLAMA_MIN_ROWS = 30  # with a GPU, shorter terminals keep every gauge and the holders instead


class DashboardScreen(Screen[None]):
    """Live hardware gauges; the screen the others hang off."""

    AUTO_FOCUS = ""  # nothing: see DashboardBody
    # Classes the screen gets from its size; dashboard.tcss lays out by them.
    # (Textual declares these as instance variables, hence no ClassVar.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-normal")]  # noqa: RUF012
    # None by height: the panels size their history from it in code (see
    # `history_rows`), which changes two panels instead of restyling the screen.
    VERTICAL_BREAKPOINTS = []  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "slower", "Slower", key_display="+",
                tooltip="Sample less often (up to 10 s)"),
        Binding("minus", "faster", "Faster", key_display="-",
                tooltip="Sample more often (down to 0.25 s)"),
        Binding("p", "toggle_pause", "Pause", tooltip="Freeze the readings; press again to resume"),
        Binding("b", "measure_bandwidth", "RAM bw", tooltip="Measure RAM bandwidth (about a second)"),
        Binding("x", "stop_runner", "Stop runner",
                tooltip="Stop the marked runner (▶): `ollama stop` for a model, else SIGTERM; asks first"),
        Binding("s", "next_runner", "Next runner", show=False, tooltip="Mark the next model runner (▶)"),
        *(Binding(key, f"scroll_body('{action}')", text, show=False) for key, action, text in (
            ("up", "scroll_up", "Scroll up"), ("down", "scroll_down", "Scroll down"),
            ("pageup", "page_up", "Page up"), ("pagedown", "page_down", "Page down"),
            ("home", "scroll_home", "Scroll to the top"), ("end", "scroll_end", "Scroll to the bottom"))),
    ]

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        self.settings = settings
        self.probe: HardwareProbe = services.hardware
        self.title = "Dashboard"
        self.sampler = Sampler(self.probe, settings.refresh_seconds)
        self.info: MachineInfo | None = None
        self.last_sample: SystemSample | None = None
        self.bandwidth: BandwidthResult | None = None
        self._measuring = False
        self._panels: dict[int, GpuPanel] = {}
        self._sample_notices: tuple[str, ...] = ()
        self._failure: str | None = None
        # Built here, not looked up per tick: a query walks the DOM every time.
        self.facts = MachineFacts("Probing the hardware…", id="facts")
        self.notices = NoticeBar(id="notices")
        self.system = SystemPanel(window_s=HISTORY_S)
        self.processes = GpuProcessTable(empty_text=NO_PROCS, id="procs", classes="panel")
        self.disks = DiskFree(id="disks")
        self.top = TopProcesses(id="top-procs", classes="panel")
        # The app's host once mounted (tui.hosts); the configured default until then.
        self.ollama = OllamaPanel(services.ollama, select_host(settings), settings.ollama_models_dir,
                                  id="ollama", classes="panel")
        self._records: tuple[ProcessRecord, ...] = ()  # the top processes, CPU-only machines
        self._gpu_procs: list[GpuProcess] = []
        self._names: dict[str, str] = {}  # blob digest -> Ollama model, from the last poll
        self._marked: int | None = None  # the runner pid the stop key acts on
        # The GPU count is a class on #gauges (and no GPU one on #procs), not
        # on the screen: a class on the screen restyles everything on it.
        self.gauges = Horizontal(id="gauges")

    @property
    def interval(self) -> float:
        return self.sampler.interval

    @property
    def paused(self) -> bool:
        return self.sampler.paused

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # The breakpoint classes go on before any child is styled; set after,
        # on the first resize, they would restyle the whole screen once more.
        self.update_classes(breakpoint_classes(
            self.app.size, self.HORIZONTAL_BREAKPOINTS, self.VERTICAL_BREAKPOINTS))
        # The app started the probe when it was built; it needs a few ms, so
        # with a short wait here the GPU panels are part of the first frame.
        # A slow driver gets a "Probing" frame, and its panels when it answers.
        info = self.probe.known_machine_info(wait=FACTS_WAIT_S)
        if info is not None:
            self._use_machine(info)
        else:
            self.system.history_rows = history_rows(self.app.size.height, 0)[1]
        yield TitleBar()
        with DashboardBody(id="dash-body"):
            yield self.facts
            yield self.notices
            with self.gauges:
                with Vertical(id="gpus"):
                    yield from self._panels.values()
                yield self.system
            yield self.processes
            yield self.ollama
            yield self.top
            yield self.disks
        yield KeyBar()

    def on_mount(self) -> None:
        self.processes.border_title = "GPU memory"
        self.top.border_title = "Processes · most RAM and CPU"
        self._show_interval()
        if self.info is None:
            self.probe_machine()
        else:
            self.run_sampler()

    def on_resize(self, event: events.Resize) -> None:
        gpu_rows, system_rows = history_rows(event.size.height, len(self._panels))
        self.system.set_history_rows(system_rows)
        for panel in self._panels.values():
            panel.set_history_rows(gpu_rows)
        self.ollama.set_class(bool(self._panels) and event.size.height < OLLAMA_MIN_ROWS, "-no-room")

    def on_unmount(self) -> None:
        self.sampler.stop()

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="probe")
    def probe_machine(self) -> None:
        self.post_message(MachineProbed(self.probe.machine_info()))

    @work(thread=True, exclusive=True, group="sample")
    def run_sampler(self) -> None:
        """One thread for the screen's whole life (see sampler.py)."""
        worker = get_current_worker()
        self.sampler.run(lambda: worker.is_cancelled, self.post_message)

    @work(thread=True, exclusive=True, group="bandwidth")
    def measure_bandwidth(self) -> None:
        try:
            result = measure_ram_bandwidth()
        except LlamadeckError as exc:
            self.post_message(BandwidthMeasured(None, str(exc)))
        except MemoryError:
            self.post_message(BandwidthMeasured(None, "Not enough free RAM for the 256 MiB test buffer."))
        else:
            self.post_message(BandwidthMeasured(result))
            try:
                self.probe.remember_bandwidth(result)  # the planner's speeds use it from now on
            except LlamadeckError as exc:
                self.app.call_from_thread(self.notify, str(exc), severity="warning", timeout=8)

    # ------------------------------------------------------------------ messages

    @on(MachineProbed)
    async def show_machine(self, message: MachineProbed) -> None:
        if self.info is None:
            await self._take_machine(message.info)

    async def _take_machine(self, info: MachineInfo) -> None:
        """The static facts came after the screen was up: add the GPU panels, start sampling."""
        self._use_machine(info)
        await self.query_one("#gpus", Vertical).mount_all(self._panels.values())
        self.run_sampler()

    def _use_machine(self, info: MachineInfo) -> None:
        """Show the static facts and build one panel per GPU (the caller puts them on screen)."""
        self.info = info
        self.sampler.disks_read_at = time.monotonic()
        self.sub_title = self._subtitle()
        self.facts.show_machine(info)
        self.disks.show_disks(info.disks)
        # Classes first, panels after: the panels are then styled once, as they mount.
        self.gauges.update_classes({"-cpu-only": not info.gpus, "-multi-gpu": len(info.gpus) > 1})
        self.processes.set_class(not info.gpus, "-cpu-only")
        self.top.set_class(bool(info.gpus), "-has-gpu")
        height = self.size.height or self.app.size.height
        self.ollama.set_class(bool(info.gpus) and height < OLLAMA_MIN_ROWS, "-no-room")
        self.sampler.with_processes = not info.gpus
        gpu_rows, system_rows = history_rows(self.size.height or self.app.size.height, len(info.gpus))
        self.system.set_history_rows(system_rows)
        self._panels = {
            gpu.index: GpuPanel(gpu, window_s=HISTORY_S, history_rows=gpu_rows) for gpu in info.gpus
        }
        self._show_notices()

    @on(SampleTaken)
    def show_sample(self, message: SampleTaken) -> None:
        sample = message.sample
        self.last_sample = sample
        self._failure = None
        self.system.show(sample)
        processes: list[GpuProcess] = []
        for gpu in sample.gpus:
            panel = self._panels.get(gpu.index)
            if panel is not None:
                # The notice bar carries the full sentence; the panel just points at it.
                brief = NOT_ANSWERING if gpu.error is not None and gpu.error in sample.notices else None
                panel.show(gpu, sample.timestamp, error_text=brief)
            processes.extend(gpu.processes)
        unread = any(gpu.error is not None for gpu in sample.gpus)
        self._gpu_procs = processes
        self.processes.marked = self._marked
        self.processes.show(processes, empty_text=NO_PROCS_UNREAD if unread else NO_PROCS)
        self._show_runners()
        self._sample_notices = sample.notices
        self._show_notices()

    @on(ProcessesRead)
    def show_processes(self, message: ProcessesRead) -> None:
        self._records = message.processes
        self._show_runners()

    @on(OllamaPanel.Polled)
    def show_ollama(self, message: OllamaPanel.Polled) -> None:
        self._names = message.names
        self.ollama.show_state(message, self.info)
        self._show_runners()

    @on(OllamaPanel.Stopped)
    def show_stopped(self, message: OllamaPanel.Stopped) -> None:
        if message.error is None:
            self.notify(f"Stopped {message.what}.", markup=False)
        else:
            self.notify(message.error, severity="error", timeout=8, markup=False)

    @on(SampleFailed)
    def show_failure(self, message: SampleFailed) -> None:
        self._failure = message.reason
        self._show_notices()

    @on(DisksRead)
    def show_disks(self, message: DisksRead) -> None:
        self.disks.show_disks(message.disks)

    @on(BandwidthMeasured)
    def show_bandwidth(self, message: BandwidthMeasured) -> None:
        self._measuring = False
        if message.result is None:
            self.notify(message.error or "Measuring RAM bandwidth failed.", severity="error", timeout=8)
        else:
            self.bandwidth = message.result
            result = message.result
            self.notify(
                f"RAM bandwidth {format_rate(result.bytes_per_second)} "
                f"({result.method}, {format_bytes(result.buffer_bytes)} buffer, {result.seconds:.1f} s).",
                title="Measured",
            )
        self._show_facts()

    # ------------------------------------------------------------------ actions

    def action_scroll_body(self, action: str) -> None:
        getattr(self.query_one(DashboardBody), f"action_{action}")()

    def action_slower(self) -> None:
        self.set_interval_seconds(next_refresh(self.interval, +1))

    def action_faster(self) -> None:
        self.set_interval_seconds(next_refresh(self.interval, -1))

    def set_interval_seconds(self, seconds: float) -> None:
        """Change the sampling interval now (clamped to 0.25-10 s)."""
        self.sampler.set_interval(seconds)
        self._show_interval()

    def action_toggle_pause(self) -> None:
        self.sampler.toggle_pause()
        self.set_class(self.paused, "-paused")
        self._show_interval()

    def action_measure_bandwidth(self) -> None:
        if self._measuring:
            self.notify("Already measuring RAM bandwidth.")
            return
        self._measuring = True
        self._show_facts()
        self.measure_bandwidth()

    def _runners(self) -> list[Runner]:
        cpu_only = self.info is not None and not self.info.gpus
        records = self._records if cpu_only else gpu_records(self._gpu_procs)
        return find_runners(records, self._names)

    def action_next_runner(self) -> None:
        self._marked = next_runner(self._runners(), self._marked)
        self._show_runners()

    def action_stop_runner(self) -> None:
        runners = self._runners()
        runner = next((r for r in runners if r.pid == self._marked), runners[0] if runners else None)
        if runner is None:
            self.notify("No model runner (ollama runner, llama-server) is running.", markup=False)
            return
        title, question = stop_question(runner, self.ollama.host.name)

        def answered(yes: bool | None) -> None:
            if yes:
                self.ollama.stop(runner.pid, runner.model if runner.via_api else "")

        self.app.push_screen(ConfirmDialog(title, question, confirm="Stop"), answered)

    # ------------------------------------------------------------------ helpers

    def _show_runners(self) -> None:
        """Both process tables, runners named by model and the marked one flagged."""
        runners = self._runners()
        if self._marked not in {r.pid for r in runners}:
            self._marked = runners[0].pid if runners else None
        self.top.show_processes(label_runners(self._records, self._names), self._marked)
        if self.processes.marked != self._marked:
            self.processes.marked = self._marked
            self.processes.show(self._gpu_procs)

    def _show_interval(self) -> None:
        self.sub_title = self._subtitle()

    def _subtitle(self) -> str:
        host = self.info.hostname if self.info is not None else ""
        every = "paused" if self.paused else f"every {format_interval(self.interval)}"
        return f"{host} · {every}" if host else every

    def _show_facts(self) -> None:
        if self.info is not None:
            self.facts.show_machine(self.info, bandwidth=self.bandwidth, measuring=self._measuring)

    def _show_notices(self) -> None:
        static: tuple[str, ...] = ()
        if self.info is not None:
            # With no GPU the facts line says why in one line; the long sentences are in `llamadeck hw`.
            hidden = set(self.info.gpu_notices) if not self.info.gpus else set()
            static = tuple(n for n in self.info.notices if n not in hidden)
        failure = (self._failure,) if self._failure else ()
        self.notices.show_notices((*static, *self._sample_notices, *failure))
