"""The chat screen against servers that are not Ollama or do not answer: a short sentence, no secrets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core import paths
from core.config import HostConfig, Settings
from core.hardware import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.not_ollama import nginx_page, not_ollama
from tests.tui.chat_support import open_chat, send
from tests.tui.conftest import screen_text, wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.chat import ChatScreen
from tui.services import Services
from tui.widgets.notice_bar import NoticeBar

TOKEN = "sk-live-0a1b2c3d4e5f"


def app_at(settings: Settings, url: str, **host: Any) -> LlamadeckApp:
    these = replace(settings, hosts=(HostConfig(name="box", url=url, **host),))
    probe = HardwareProbe.from_settings(these, nvml=FakeNvml([FakeGpu()]))
    return make_app(these, Services(hardware=probe))


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
