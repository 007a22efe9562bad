"""Ollama's state on the dashboard: host, version, loaded models, where they run, when they unload.

The panel polls the server itself (`poll`, every few seconds) and answers
with `Polled`; the screen hands the loaded models' digests to the process
tables, which name the runners by model. A model at 100% CPU gets the
diagnosis from core.planner.cpu_fallback, the same sentence as `llamadeck ps`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from core.config import HostConfig
from core.errors import ConfigError, LlamadeckError
from core.hardware.processes import stop_process
from core.hardware.types import MachineInfo
from core.ollama.blobs import blob_names
from core.ollama.format import until
from core.ollama.host import endpoint_for
from core.ollama.types import RunningModel
from core.planner.cpu_fallback import cpu_fallback_diagnosis
from core.units import format_bytes
from tui.hosts import watch_host
from tui.widgets.live_text import LiveText

if TYPE_CHECKING:
    from core.ollama.client import OllamaClient  # start-up: loaded by the first poll

POLL_S = 5.0


def is_loopback(host: HostConfig) -> bool:
    """Whether the server runs on this machine (its GPUs and models folder are ours); False for a bad URL."""
    try:
        return endpoint_for(host).is_loopback
    except ConfigError:
        return False  # the poll says what is wrong with the URL


class OllamaPanel(LiveText):
    class Polled(Message):
        """One answer from the server (or why there was none)."""

        def __init__(self, version: str | None, running: tuple[RunningModel, ...],
                     names: dict[str, str], error: str | None) -> None:
            super().__init__()
            self.version, self.running, self.names, self.error = version, running, names, error

    class Stopped(Message):
        """A runner was asked to stop: `error` is None on success."""

        def __init__(self, what: str, error: str | None) -> None:
            super().__init__()
            self.what, self.error = what, error

    def __init__(self, client_for: Callable[[HostConfig], OllamaClient], host: HostConfig,
                 models_dir: Path | None, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("Asking Ollama…", id=id, classes=classes)
        self.client_for, self.host, self.models_dir = client_for, host, models_dir
        self.is_local = is_loopback(host)
        self.last: OllamaPanel.Polled | None = None
        self._client: OllamaClient | None = None
        self._client_error = ""  # why there is no client (a URL the config cannot use, not Ollama)
        self._retired: list[OllamaClient] = []  # clients of earlier hosts, closed on unmount

    def on_mount(self) -> None:
        self.border_title = f"Ollama · {self.host.name}"
        # The Ollama client (the `ollama` package and httpx, ~0.2 s and ~20 MiB) is loaded after the
        # dashboard's first frame, not before it: the dashboard is what `llamadeck` opens on.
        self.call_after_refresh(self._start)

    async def _start(self) -> None:
        await asyncio.to_thread(import_module, "core.ollama.client")
        self._connect()
        watch_host(self, self.follow_host)  # the app's host, now and after `o` on any screen
        self.poll()
        self.set_interval(POLL_S, self.poll)

    async def on_unmount(self) -> None:
        for client in (*self._retired, *([self._client] if self._client is not None else [])):
            await client.aclose()

    def follow_host(self, host: HostConfig) -> None:
        if host != self.host:
            self.host, self.is_local = host, is_loopback(host)
            self.border_title = f"Ollama · {host.name}"
            self.show("Asking Ollama…")
            self._connect()
            self.poll()

    def _connect(self) -> None:
        """A client for the host, made here in the app's loop (its connections belong to that loop)."""
        if self._client is not None:
            self._retired.append(self._client)
        self._client, self._client_error = None, ""
        if self.host.kind != "ollama":
            self._client_error = f"{self.host.name} is not an Ollama server."
            return
        try:
            self._client = self.client_for(self.host)
        except LlamadeckError as exc:  # a URL the config cannot use: the sentence says how to fix it
            self._client_error = str(exc)

    @work(exclusive=True, group="ollama-poll")
    async def poll(self) -> None:
        client = self._client
        if client is None:
            self.post_message(self.Polled(None, (), {}, self._client_error))
            return
        try:
            version = await client.version()
            running = tuple(await client.running())
        except LlamadeckError as exc:
            self.post_message(self.Polled(None, (), {}, str(exc)))
            return
        folder = self.models_dir if self.is_local else None
        names = await asyncio.to_thread(blob_names, running, folder)
        self.post_message(self.Polled(version, running, names, None))

    @work(exclusive=True, group="ollama-stop")
    async def stop(self, pid: int, model: str) -> None:
        """Unload `model` as `ollama stop` does (keep_alive 0), or SIGTERM `pid` when no model is given."""
        try:
            if model:
                if self._client is None:
                    raise LlamadeckError(self._client_error)
                await self._client.unload(model)
            else:
                await asyncio.to_thread(stop_process, pid)
        except LlamadeckError as exc:
            self.post_message(self.Stopped(model or f"pid {pid}", str(exc)))
            return
        self.post_message(self.Stopped(model or f"pid {pid}", None))
        self.poll()

    def show_state(self, polled: Polled, info: MachineInfo | None) -> None:
        self.last = polled
        self.set_class(polled.error is not None, "-error")
        if polled.error is not None:
            self.show(polled.error)  # the sentence names the address
            return
        url = self.host.url
        lines = [f"{url} · Ollama {polled.version} · {len(polled.running)} loaded"]
        for m in polled.running:
            ctx = f"ctx {m.context_length}" if m.context_length else ""
            where = f"{format_bytes(m.size)}  {m.processor}  {ctx}"
            lines.append(f"  {m.name}  {where}  until {until(m.expires_at)}")
        if info is not None:
            why = cpu_fallback_diagnosis(polled.running, info.gpus, is_local=self.is_local,
                                         no_gpu_reason=info.no_gpu_reason)
            if why:
                lines.append(f"! {why}")
        self.show("\n".join(lines))
