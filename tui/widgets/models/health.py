"""The server health view: is Ollama there, who can reach it, where its models live, does it use the GPU.

It answers the questions behind the classic failures: "connection refused"
(reachable?), a server open to the whole network (where it listens, and
whether the connection carries a token), a full disk (the models folder and
its free space) and a model silently running on the CPU (a loaded model with
nothing in VRAM on a machine whose NVIDIA GPU the hardware probe sees).
The warnings are whole sentences from core.ollama.health.

The panel gathers what it shows itself (`check`: the server's health, and
for a local server this machine's NVIDIA GPUs and models disk) and answers
with `Checked`; the screen adds the last poll and the CPU notice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.hardware.probe import HardwareProbe
from core.hardware.types import DiskInfo, GpuInfo
from core.ollama.client import OllamaClient
from core.ollama.types import RunningModel, ServerHealth
from core.planner.cpu_fallback import cpu_fallback_diagnosis
from core.units import format_bytes, plural
from tui.widgets.disk_free import is_low
from tui.widgets.models.host_answer import HostAnswer

MODELS_DISK_LABEL = "Ollama models"


@dataclass(frozen=True)
class HealthReport:
    """Everything the view shows, gathered by the screen (server, hardware probe, last poll)."""

    health: ServerHealth
    gpus: tuple[GpuInfo, ...] = ()  # the GPUs this machine has, NVIDIA and AMD (for a local server)
    models_disk: DiskInfo | None = None
    running: tuple[RunningModel, ...] = ()
    cpu_notice: str | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(w for w in (self.health.exposure_warning, self.cpu_notice) if w)


def with_running(report: HealthReport, running: tuple[RunningModel, ...]) -> HealthReport:
    """The report after a poll: what is loaded, and whether it runs on the CPU although a GPU is there."""
    notice = cpu_fallback_diagnosis(running, report.gpus, is_local=report.health.is_local)
    return replace(report, running=running, cpu_notice=notice)


def notices(report: HealthReport | None) -> list[str]:
    """The one-line warnings over the browser; `h` opens the view that explains them."""
    found: list[str] = []
    if report is not None:
        if report.health.exposure_warning:
            found.append("Ollama answers beyond loopback without authentication (h: details).")
        if report.cpu_notice:
            names = ", ".join(m.name for m in report.running if m.on_cpu_only)
            vendor = "an NVIDIA" if any(g.vendor == "nvidia" for g in report.gpus) else "an AMD"
            found.append(f"{names} on the CPU only although there is {vendor} GPU (h: why).")
    return found


def _listens(health: ServerHealth) -> Text:
    if not health.is_local:
        return Text("on the remote host (not visible from here)", style="dim")
    if not health.listen_addresses:
        return Text("unknown (the listening sockets could not be read)", style="dim")
    text = Text(", ".join(health.listen_addresses))
    if health.exposure_warning is None:
        text.append("  loopback only", style="green")
    else:
        text.append("  beyond loopback", style="bold yellow")
    return text


def _models_dir(report: HealthReport) -> Text:
    if not report.health.is_local:
        return Text("on the remote host (not visible from here)", style="dim")
    disk = report.models_disk
    if disk is None:
        return Text("reading…", style="dim")
    text = Text(disk.path)
    if not disk.exists:
        text.append("  not found here; set paths.ollama_models_dir if Ollama runs as a service",
                    style="yellow")
    if disk.free is not None:
        text.append(f"  {format_bytes(disk.free)} free of {format_bytes(disk.total)}",
                    style="bold yellow" if is_low(disk) else "")
        if is_low(disk):
            text.append(" LOW", style="bold yellow")
    return text


def _gpu(report: HealthReport) -> Text:
    if not report.health.is_local:
        return Text("the server's GPUs are not visible from here; see Processor under Running", style="dim")
    if not report.gpus:
        return Text("no GPU seen on this machine", style="dim")
    names = ", ".join(f"{g.name} ({format_bytes(g.memory_total)})" for g in report.gpus)
    text = Text(names)
    on_cpu = [m for m in report.running if m.on_cpu_only]
    if on_cpu:
        text.append(f"  ! {plural(len(on_cpu), 'loaded model')} on the CPU only", style="bold red")
    elif report.running:
        text.append("  loaded models use it", style="green")
    return text


def health_renderable(report: HealthReport) -> RenderableType:
    h = report.health
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("Server", Text(f"{h.host_name}  {h.url}"))
    if h.reachable:
        table.add_row("Status", Text.assemble(("reachable", "green"), f"  Ollama {h.version}"))
    else:
        table.add_row("Status", Text(h.error or "not reachable", style="bold red"))
    table.add_row("Listens", _listens(h))
    table.add_row("Models", _models_dir(report))
    table.add_row("GPU", _gpu(report))
    loaded = Text("nothing", style="dim")
    if report.running:
        loaded = Text(", ".join(f"{m.name} {m.processor}" for m in report.running))
    table.add_row("Loaded", loaded)
    # The diagnoses first: they are why a user opens this view, and a short terminal shows them.
    parts: list[RenderableType] = []
    for warning in report.warnings:
        parts += [Text("! " + warning, style="bold yellow"), Text("")]
    parts.append(table)
    return Group(*parts)


class HealthPanel(VerticalScroll):
    class Checked(HostAnswer):
        """Health of the server plus what this machine knows: its NVIDIA GPUs and the models folder's disk."""

        def __init__(self, panel: HealthPanel, generation: int, health: ServerHealth,
                     gpus: tuple[GpuInfo, ...], models_disk: DiskInfo | None) -> None:
            super().__init__(panel, generation)
            self.health = health
            self.gpus = gpus
            self.models_disk = models_disk

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.report: HealthReport | None = None

    def compose(self) -> ComposeResult:
        yield Static("Checking the server…", id="health-body", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Server health"

    def show_report(self, report: HealthReport) -> None:
        self.report = report
        self.set_class(bool(report.warnings) or not report.health.reachable, "-warn")
        self.query_one("#health-body", Static).update(health_renderable(report))

    def cancel(self) -> None:
        self.workers.cancel_group(self, "health")

    @work(exclusive=True, group="health")
    async def check(self, client: OllamaClient, generation: int, probe: HardwareProbe) -> None:
        health = await client.health()
        gpus: tuple[GpuInfo, ...] = ()
        disk: DiskInfo | None = None
        if health.is_local:
            try:
                info = await asyncio.to_thread(probe.machine_info)
                disks = await asyncio.to_thread(probe.disks)
            except Exception as exc:  # the probe promises not to raise; a broken one still gets said
                self.notify(f"Reading this machine's GPUs and disks failed ({type(exc).__name__}: {exc}).",
                            severity="warning", markup=False)
            else:
                gpus = tuple(info.gpus)  # NVIDIA and AMD: the diagnosis names either's causes
                disk = next((d for d in disks if d.label == MODELS_DISK_LABEL), None)
        self.post_message(self.Checked(self, generation, health, gpus, disk))

