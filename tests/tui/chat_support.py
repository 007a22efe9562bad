"""Helpers for the chat screen's Pilot tests: the real app, the real history, the fake Ollama."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.pilot import Pilot

from core.chat.history import HistoryStore
from core.chat.types import StoredMessage
from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.tui.conftest import wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.chat.screen import ChatScreen
from tui.services import Services
from tui.widgets.chat.message import ReplyView


def chat_app(fake_ollama: Any, settings: Settings, **services: Any) -> LlamadeckApp:
    """The real app talking to the fake Ollama (its only host), a fake RTX 4090 for the planner."""
    these = replace(settings, hosts=(HostConfig(name="fake", url=fake_ollama.url),))
    probe = HardwareProbe.from_settings(these, nvml=FakeNvml([FakeGpu()]))
    return make_app(these, Services(hardware=probe, **services))


def two_hosts_app(fake_ollama: Any, settings: Settings) -> LlamadeckApp:
    """The app with two hosts, "fake" (the default) and "spare", both the fake Ollama."""
    these = replace(settings, hosts=(HostConfig(name="fake", url=fake_ollama.url),
                                     HostConfig(name="spare", url=fake_ollama.url)))
    probe = HardwareProbe.from_settings(these, nvml=FakeNvml([FakeGpu()]))
    return make_app(these, Services(hardware=probe))


async def open_chat(pilot: Pilot[Any], model: str | None = None) -> ChatScreen:
    """Press 4 and wait until the history is open and a model is picked."""
    app = pilot.app
    assert isinstance(app, LlamadeckApp)
    if model is None:
        await pilot.press("4")
    else:
        app.open_chat(model)
    await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen.store is not None
                   and app.screen.model is not None)
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    if model is not None:
        await wait_for(pilot, lambda: screen.model == model)
    return screen


async def type_prompt(pilot: Pilot[Any], screen: ChatScreen, text: str) -> None:
    screen.prompt.focus()
    screen.prompt.load_text(text)
    await pilot.pause()


async def press_now(pilot: Pilot[Any], key: str) -> None:
    """Press a key without waiting for the app to go idle.

    `pilot.press` waits until the process is idle, which a streaming reply
    never is: Enter would return only after the whole reply, Esc too late.
    """
    pilot.app.simulate_key(key)
    await pilot.pause(0.02)


async def send(pilot: Pilot[Any], screen: ChatScreen, text: str, *, wait: bool = True) -> None:
    """Type `text`, press Enter and (with `wait`) let the reply finish."""
    await type_prompt(pilot, screen, text)
    await press_now(pilot, "enter")
    if wait:
        await finished(pilot, screen)


def busy(screen: ChatScreen, group: str = "chat") -> bool:
    return any(w.group == group and not w.is_finished for w in screen.app.workers)


async def finished(pilot: Pilot[Any], screen: ChatScreen, timeout: float = 10.0) -> None:
    """The reply (or its failure) has been dealt with completely."""
    await wait_for(pilot, lambda: not busy(screen), timeout=timeout)


def replies(screen: ChatScreen) -> list[ReplyView]:
    return list(screen.log_view.query_children(ReplyView))


def stored(screen: ChatScreen) -> list[StoredMessage]:
    assert screen.session is not None and screen.store is not None
    return screen.store.messages(screen.session.id)


def reopen_history(path: Any = None) -> HistoryStore:
    """The history as another process would see it."""
    return HistoryStore.open(path)
