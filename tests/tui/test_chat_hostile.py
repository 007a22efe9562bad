"""The chat screen against servers that are not Ollama or do not answer: a short sentence, no secrets.

A server that never answers is a fake that holds the request until the test
ends; the time waited is shown from an injected clock, and every wait is on
what the screen shows, never on a sleep.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core import paths
from core.chat.ollama import OllamaChatBackend
from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from core.ollama.client import OllamaClient
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.not_ollama import nginx_page, not_ollama
from tests.tui.chat_support import finished, open_chat, press_now, send
from tests.tui.conftest import screen_text, wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.chat.screen import ChatScreen
from tui.services import Services
from tui.widgets.chat.message import ReplyView
from tui.widgets.live_text import LiveText
from tui.widgets.notice_bar import NoticeBar

TOKEN = "sk-live-0a1b2c3d4e5f"
WAITING = "waiting for the server to answer (loading the model?) "


def app_at(settings: Settings, url: str, *, chat_backend: Any = None, ollama: Any = None,
           **host: Any) -> LlamadeckApp:
    these = replace(settings, hosts=(HostConfig(name="box", url=url, **host),))
    probe = HardwareProbe.from_settings(these, nvml=FakeNvml([FakeGpu()]))
    services = Services(hardware=probe)
    if chat_backend is not None:
        services.chat_backend = chat_backend
    if ollama is not None:
        services.ollama = ollama
    return make_app(these, services)


def notices(screen: ChatScreen) -> str:
    return " ".join(screen.query_one(NoticeBar).notices)


def everything_shown(app: LlamadeckApp, screen: ChatScreen) -> str:
    toasts = " ".join(f"{n.title} {n.message}" for n in app._notifications)
    return f"{screen_text(app)} {notices(screen)} {toasts}"


async def test_an_html_error_page_is_a_short_sentence(settings: Settings) -> None:
    with not_ollama(status=404, reason="Not Found") as server:
        app = app_at(settings, server.url)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_chat(pilot, "llama3.2")
            await send(pilot, screen, "hello?")
            await wait_for(pilot, lambda: "while chatting" in notices(screen))
            said = notices(screen)
            assert said.startswith(f"Something other than Ollama answered at {server.url} while chatting "
                                   "with llama3.2: HTTP 404 Not Found with a web page.")
            assert str(paths.log_dir() / "server-answers.log") in said
            shown = everything_shown(app, screen)
            assert "<" not in shown and "nginx" not in shown
            assert screen.prompt.text == "hello?"  # nothing is lost


async def test_a_token_echoed_by_the_server_is_masked_everywhere(settings: Settings) -> None:
    body = '{"error": "upstream rejected {headers}"}'
    with not_ollama(status=500, reason="Internal Server Error", body=body, content_type="application/json",
                    echo_headers=True, echo_separator=", ") as server:
        app = app_at(settings, server.url, token=TOKEN)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_chat(pilot, "llama3.2")
            await send(pilot, screen, "hello?")
            await wait_for(pilot, lambda: "while chatting" in notices(screen))
            assert "authorization: Bearer ****" in notices(screen)
            assert TOKEN not in everything_shown(app, screen)
    for log in paths.log_dir().glob("*"):
        assert TOKEN not in log.read_text(encoding="utf-8")


async def test_a_token_in_a_page_of_an_html_proxy_is_masked_in_its_log(settings: Settings) -> None:
    page = nginx_page(403, "Forbidden").replace("<hr>", "<pre>{headers}</pre><hr>")
    with not_ollama(status=403, reason="Forbidden", body=page, echo_headers=True) as server:
        app = app_at(settings, server.url, token=TOKEN)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_chat(pilot, "llama3.2")
            await send(pilot, screen, "hello?")
            await wait_for(pilot, lambda: "403" in notices(screen))
            assert TOKEN not in everything_shown(app, screen)
    log = (paths.log_dir() / "server-answers.log").read_text(encoding="utf-8")
    assert "authorization: Bearer ****" in log and TOKEN not in log


# --------------------------------------------------------------------------- a server that never answers


def waiting_view(screen: ChatScreen) -> ReplyView | None:
    views = list(screen.log_view.query_children(ReplyView))
    return views[-1] if views and "waiting for the server" in str(views[-1].border_subtitle) else None


async def test_a_silent_server_shows_the_time_waited_and_esc_ends_the_wait(settings: Settings) -> None:
    with not_ollama(hold=True) as server:
        app = app_at(settings, server.url)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_chat(pilot, "llama3.2")
            await send(pilot, screen, "hello?", wait=False)
            await wait_for(pilot, lambda: waiting_view(screen) is not None)
            view = waiting_view(screen)
            assert view is not None
            assert str(view.border_subtitle).startswith(WAITING)
            start = view._waited_from
            view.clock = lambda: start + 75  # type: ignore[method-assign]  # a minute and a quarter later
            await wait_for(pilot, lambda: "(loading the model?) 1 min 15 s" in screen_text(app))
            assert server.holding.is_set()
            await press_now(pilot, "escape")
            await finished(pilot, screen)
            assert view.status == "stopped" and view.border_subtitle == ""
            assert "Stopped" in screen_text(app)
            assert app.is_running


async def test_a_timeout_is_called_a_timeout(settings: Settings) -> None:
    def backend(host: HostConfig) -> OllamaChatBackend:
        return OllamaChatBackend(host, client=OllamaClient(host, stream_timeout=0.3))

    with not_ollama(hold=True) as server:
        app = app_at(settings, server.url, chat_backend=backend)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_chat(pilot, "llama3.2")
            await send(pilot, screen, "hello?")
            await wait_for(pilot, lambda: "Timed out" in notices(screen))
            said = notices(screen)
            assert said.startswith(f"Timed out: Ollama at {server.url} sent nothing for 0.3 s while chatting")
            assert "answered with an error" not in screen_text(app)
            assert screen.prompt.text == "hello?"


async def test_the_models_screen_calls_a_timeout_a_timeout(settings: Settings) -> None:
    with not_ollama(hold=True) as server:
        app = app_at(settings, server.url, ollama=lambda host: OllamaClient(host, timeout=0.3))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: app.current_mode == "models" and app.screen.has_class("-offline"))
            box = app.screen.query_one("#offline", LiveText)
            assert box.border_title == "The server did not answer in time"
            assert box.text.startswith("Timed out: Ollama at ")
