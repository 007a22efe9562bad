"""The app with a hostile address, and the app's guard against its own bugs.

Every screen (keys 1-6) opens and stays up with a closed port, a port out of
range (from the config and from OLLAMA_HOST) and random bytes as the host; the
screens that talk to Ollama say why in a sentence. An unexpected exception
anywhere ends the app with one sentence naming a crash file and exit status
70, never Textual's traceback with local variables, and the crash file holds
no configured secret.
"""

from __future__ import annotations

import random
import socket
from dataclasses import replace
from pathlib import Path

import pytest

import cli.main as cli
from core import paths
from core.config import HostConfig, Settings, load_settings
from core.error_log import EXIT_CRASH
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.tui.conftest import first_sample, screen_text, wait_for
from tui.app import LlamadeckApp, make_app
from tui.services import Services
from tui.widgets.live_text import LiveText
from tui.widgets.notice_bar import NoticeBar

TOKEN = "sk-live-7f3a9c2e1b"


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def random_host(seed: int) -> str:
    rng = random.Random(seed)
    raw = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(3, 40)))
    return raw.decode("utf-8", "surrogateescape")


def app_for(settings: Settings, **services: object) -> LlamadeckApp:
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
    return make_app(settings, Services(hardware=probe, **services))  # type: ignore[arg-type]


def with_host(settings: Settings, url: str, **fields: object) -> Settings:
    return replace(settings, hosts=(HostConfig(name="local", url=url, **fields),),  # type: ignore[arg-type]
                   default_host="local")


HOSTS = {
    "closed port": lambda: closed_port(),
    "bad port": lambda: "127.0.0.1:99999",
    "random bytes #3": lambda: random_host(3),
    "random bytes #11": lambda: random_host(11),
}
EXPECTED = {
    "closed port": "Ollama is not running at",
    "bad port": "has the port '99999', which is not a number from 0 to 65535",
    "random bytes #3": "is not a host name or IP address",
    "random bytes #11": "is not a host name or IP address",
}


def chat_notices(app: LlamadeckApp) -> str:
    return " ".join(app.screen.query_one(NoticeBar).notices)


@pytest.mark.parametrize("kind", list(HOSTS))
async def test_every_screen_opens_with_a_hostile_configured_host(settings: Settings, kind: str) -> None:
    url = HOSTS[kind]()
    app = app_for(with_host(settings, url))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "models" and app.screen.has_class("-offline"))
        await wait_for(pilot, lambda: EXPECTED[kind] in app.screen.offline)  # type: ignore[attr-defined]
        await pilot.press("3")
        await wait_for(pilot, lambda: app.current_mode == "planner")
        await pilot.press("4")
        await wait_for(pilot, lambda: app.current_mode == "chat")
        await wait_for(pilot, lambda: EXPECTED[kind] in chat_notices(app))
        await pilot.press("escape", "5")
        await wait_for(pilot, lambda: app.current_mode == "jobs")
        await pilot.press("6")
        await wait_for(pilot, lambda: app.current_mode == "discover")
        await pilot.press("1")
        await wait_for(pilot, lambda: app.current_mode == "dashboard")
        assert app.is_running and app.return_code is None
        assert app.crash is None and not app._exit_renderables


async def test_a_bad_port_in_ollama_host_is_said_on_the_models_screen(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:99999")
    loaded = load_settings()
    app = app_for(replace(settings, hosts=loaded.hosts, default_host=loaded.default_host))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.screen.has_class("-offline"))
        offline = app.screen.offline  # type: ignore[attr-defined]
        assert offline.startswith("OLLAMA_HOST='127.0.0.1:99999' has the port '99999'")
        assert "Ollama itself would quietly use port 11434 instead" in offline
        assert app.screen.query_one("#offline", LiveText).border_title == "This address cannot be used"
        assert "OLLAMA_HOST" in screen_text(app)


async def test_sending_to_an_unusable_host_says_why_and_keeps_the_prompt(settings: Settings) -> None:
    app = app_for(with_host(settings, "127.0.0.1:99999"))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)
        app.open_chat("llama3.2")
        await wait_for(pilot, lambda: app.current_mode == "chat" and app.screen.store is not None)  # type: ignore[attr-defined]
        screen = app.screen
        screen.prompt.load_text("hello?")  # type: ignore[attr-defined]
        screen.prompt.focus()  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("has the port '99999'" in str(n.message)
                                          for n in app._notifications))
        assert screen.prompt.text == "hello?"  # type: ignore[attr-defined]
        assert app.is_running


# --------------------------------------------------------------------------- the guard


def crash_files() -> list[Path]:
    return sorted(paths.log_dir().glob("crash-*.log"))


async def test_an_unexpected_error_ends_the_app_with_a_sentence_and_a_crash_file(settings: Settings) -> None:
    """A bug (here: the client factory raising a plain RuntimeError that quotes a token) on pressing 2."""

    def broken_client(host: HostConfig) -> object:
        raise RuntimeError(f"unexpected state, header was Bearer {TOKEN}")

    app = app_for(with_host(settings, "http://gpu-box:11434", token=TOKEN), ollama=broken_client)
    with pytest.raises(RuntimeError, match="unexpected state"):  # Pilot hands the test the original error
        async with app.run_test(size=(80, 24)) as pilot:
            await first_sample(pilot)
            await pilot.press("2")
            await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == EXIT_CRASH
    assert app.crash is not None
    [crash] = crash_files()
    assert app.crash.startswith("llamadeck stopped on an unexpected error (RuntimeError: unexpected state")
    assert f"The details are in {crash}" in app.crash
    assert TOKEN not in app.crash and "****" in app.crash
    assert not app._exit_renderables  # Textual prints no traceback with local variables at exit
    logged = crash.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged and "RuntimeError" in logged
    assert TOKEN not in logged
    assert crash.stat().st_mode & 0o077 == 0


async def test_a_worker_error_is_caught_by_the_same_guard(settings: Settings) -> None:
    app = app_for(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_sample(pilot)

        async def broken() -> None:
            raise KeyError("no such row")

        app.run_worker(broken(), group="test")
        await wait_for(pilot, lambda: not app.is_running)
        app._exception = None  # taken: the assertions below are about what the user sees
    assert app.return_code == EXIT_CRASH
    assert app.crash is not None and "KeyError: 'no such row'" in app.crash
    assert len(crash_files()) == 1


def test_the_cli_prints_the_apps_sentence_and_returns_its_exit_status(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The app ending on a crash used to leave `llamadeck` with exit status 0."""

    class Crashed:
        return_code = EXIT_CRASH
        crash = "llamadeck stopped on an unexpected error (KeyError: 'x'). The details are in /x/crash.log."

        def run(self) -> None:
            pass

    monkeypatch.setattr("tui.app.make_app", lambda settings, services: Crashed())
    assert cli.run_tui(settings) == EXIT_CRASH
    assert capsys.readouterr().err == f"llamadeck: {Crashed.crash}\n"


def test_the_cli_guard_turns_a_bug_into_a_sentence(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")

    def broken(args: object, settings: object) -> int:
        raise ZeroDivisionError("token hf_abcdefghijklmnop divided by zero")

    monkeypatch.setattr("cli.ls.main", broken)
    code = cli.main(["ls"])
    err = capsys.readouterr().err
    assert code == EXIT_CRASH
    [line] = err.splitlines()
    [crash] = crash_files()
    assert line == ("llamadeck: llamadeck stopped on an unexpected error (ZeroDivisionError: token **** "
                    f"divided by zero). The details are in {crash}; please attach that file to a bug report.")
    logged = crash.read_text(encoding="utf-8")
    assert "ZeroDivisionError" in logged and "hf_abcdefghijklmnop" not in logged


def test_a_reader_that_leaves_is_not_a_crash(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`llamadeck ls | head -1`: the pipe closes early; that is no bug to report."""

    def closed_pipe(args: object, settings: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("cli.ls.main", closed_pipe)
    assert cli.main(["ls"]) == 141
    assert capsys.readouterr().err == ""
    assert crash_files() == []
