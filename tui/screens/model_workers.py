"""The model browser's conversations with Ollama, each a worker that answers with a message.

Kept apart from the screen's layout and keys: this half only talks to
`core.ollama.client.OllamaClient` (and the hardware probe, for the health view) and
posts what it learned. Every worker stamps its message with the host
generation it started under, and the screen drops stale answers.

Polling is a worker too, on a 2 s timer; a tick is skipped while the last
`/api/ps` is still out, so a slow server never piles up requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual import work
from textual.notifications import SeverityLevel
from textual.screen import Screen

from core.config import HostConfig
from core.errors import ModelNotFound, OllamaError
from core.hardware.probe import HardwareProbe
from core.hardware.types import DiskInfo, GpuInfo
from core.ollama.client import OllamaClient
from core.ollama.types import ShowInfo
from core.units import format_bytes_decimal
from tui.screens.model_messages import (
    ActionFailed,
    ActionFinished,
    HostMessage,
    ModelShowFailed,
    ModelShown,
    ModelsListed,
    ModelsListFailed,
    PullEnded,
    PullProgressed,
    RunningListed,
    RunningListFailed,
    ServerChecked,
)
from tui.widgets.model_health import nvidia_gpus
from tui.widgets.model_pull import RESUME_HINT

SHOW_DEBOUNCE_S = 0.12  # arrowing through 500 models asks /api/show only where the cursor rests
MODELS_DISK_LABEL = "Ollama models"

Call = Callable[[OllamaClient], Awaitable[None]]


class ModelWorkers(Screen[None]):
    """The workers of ModelsScreen; the screen sets `client`, `generation` and `probe`."""

    hosts: tuple[HostConfig, ...]
    host_index: int
    client: OllamaClient | None
    generation: int
    probe: HardwareProbe

    def __init__(self) -> None:
        super().__init__()
        self._shown: dict[tuple[int, str, str], ShowInfo] = {}
        self.details_key: tuple[str, str] | None = None  # (name, digest) the details pane shows or awaits

    @property
    def host(self) -> HostConfig:
        return self.hosts[self.host_index]

    @property
    def host_url(self) -> str:
        """The address as the client resolved it (OLLAMA_HOST rules), else as configured."""
        return self.client.url if self.client is not None else self.host.url

    def say(self, text: str, *, title: str = "", severity: SeverityLevel = "information",
            timeout: float | None = None) -> None:
        """A toast with plain text: sentences hold addresses like [::1]:11434 that are not markup."""
        self.notify(text, title=title, severity=severity, timeout=timeout, markup=False)

    def _current(self, message: HostMessage) -> bool:
        """Is this answer about the host and connection the screen shows now?"""
        return message.generation == self.generation

    @work(exclusive=True, group="list")
    async def list_models(self) -> None:
        gen, client = self.generation, self.client
        if client is None:
            return
        try:
            models = await client.list_models()
        except OllamaError as exc:
            self.post_message(ModelsListFailed(gen, exc))
        else:
            self.post_message(ModelsListed(gen, models))

    @work(exclusive=True, group="ps")
    async def poll_running(self) -> None:
        gen, client = self.generation, self.client
        if client is None:
            return
        try:
            running = await client.running()
        except OllamaError as exc:
            self.post_message(RunningListFailed(gen, exc))
        else:
            self.post_message(RunningListed(gen, running))

    @work(exclusive=True, group="show")
    async def show_model(self, name: str, digest: str) -> None:
        """Details of the highlighted model once the cursor rests on it; cached by digest."""
        gen, client = self.generation, self.client
        if client is None:
            return
        cached = self._shown.get((gen, name, digest))
        if cached is None:
            await asyncio.sleep(SHOW_DEBOUNCE_S)  # a newer highlight cancels this one here
            try:
                cached = await client.show(name)
            except OllamaError as exc:
                self.post_message(ModelShowFailed(gen, name, exc))
                return
            self._shown[(gen, name, digest)] = cached
        self.post_message(ModelShown(gen, cached))

    @work(exclusive=True, group="health")
    async def check_server(self) -> None:
        gen, client = self.generation, self.client
        if client is None:
            return
        health = await client.health()
        gpus: tuple[GpuInfo, ...] = ()
        disk: DiskInfo | None = None
        if health.is_local:
            try:
                info = await asyncio.to_thread(self.probe.machine_info)
                disks = await asyncio.to_thread(self.probe.disks)
            except Exception as exc:  # the probe promises not to raise; a broken one still gets said
                self.say(f"Reading this machine's GPUs and disks failed ({type(exc).__name__}: {exc}).",
                            severity="warning")
            else:
                gpus = nvidia_gpus(info.gpus)
                disk = next((d for d in disks if d.label == MODELS_DISK_LABEL), None)
        self.post_message(ServerChecked(gen, health, gpus, disk))

    @work(exclusive=True, group="pull")
    async def pull_model(self, name: str) -> None:
        """Pull with progress; cancelling the worker closes the stream and Ollama keeps the bytes."""
        gen, client = self.generation, self.client
        if client is None:
            return
        first_seen: dict[str, tuple[int, int]] = {}  # digest -> (completed, total) on its first line
        done = total = 0
        try:
            async for progress in client.pull(name):
                if progress.digest and progress.total and progress.digest not in first_seen:
                    first_seen[progress.digest] = (progress.completed or 0, progress.total)
                kept = sum(c for c, _ in first_seen.values())
                fresh = any(c < t for c, t in first_seen.values())
                done, total = progress.completed_bytes, progress.total_bytes
                self.post_message(PullProgressed(gen, name, progress, kept if fresh else 0))
        except asyncio.CancelledError:
            where = f" at {format_bytes_decimal(done)} of {format_bytes_decimal(total)}" if total else ""
            self.post_message(PullEnded(gen, name, "cancelled", f"Cancelled the pull of {name}{where}. "
                                        + RESUME_HINT, resumable=True))
            raise
        except ModelNotFound as exc:
            self.post_message(PullEnded(gen, name, "failed", str(exc), resumable=False))
        except OllamaError as exc:
            self.post_message(PullEnded(gen, name, "failed", f"{exc.message} {RESUME_HINT}", resumable=True))
        else:
            size = f" ({format_bytes_decimal(total)})" if total else ""
            self.post_message(PullEnded(gen, name, "done", f"Pulled {name}{size}.", resumable=False))

    @work(group="actions")
    async def act_on_model(self, call: Call, done: str, *, relist: bool = False,
                           repoll: bool = False) -> None:
        """One delete / copy / rename / load / unload; `done` is the past-tense sentence for success."""
        gen, client = self.generation, self.client
        if client is None:
            return
        try:
            await call(client)
        except OllamaError as exc:
            self.post_message(ActionFailed(gen, str(exc)))
            if relist:  # a rename may have half happened; show what the server has now
                self.post_message(ActionFinished(gen, "", relist=True, repoll=repoll))
        else:
            self.post_message(ActionFinished(gen, done, relist=relist, repoll=repoll))

    def forget_details(self) -> None:
        """Ask `/api/show` again next time (after a retry, or when models changed)."""
        self._shown.clear()
        self.details_key = None
