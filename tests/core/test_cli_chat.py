"""`llamadeck chat` against the fake Ollama, in process and as a real process that gets killed."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import main
from core.chat.history import HistoryStore
from tests.fakes.fake_ollama import FakeOllama


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["chat", *args])
    out, err = capsys.readouterr()
    return code, out, err


def stored() -> list[tuple[str, list[tuple[str, str, str]]]]:
    with HistoryStore.open() as store:
        return [(s.title, [(m.role, m.content, m.status) for m in store.messages(s.id)])
                for s in store.sessions()]


def test_streams_answer_to_stdout_thinking_and_stats_to_stderr(capsys: pytest.CaptureFixture[str],
                                                               fake_ollama: FakeOllama) -> None:
    code, out, err = run_cli(capsys, "qwen3:8b", "hello there", "--host", fake_ollama.url, "--verbose")
    assert code == 0
    assert out == "Hello! How can I help?\n"
    assert "Thinking...\nThe user greets me.\n...done thinking.\n" in err
    for line in ("total duration:       153ms", "load duration:        50ms",
                 "prompt eval count:    2 token(s)",
                 "prompt eval rate:     1000.00 tokens/s", "eval count:           10 token(s)",
                 "eval duration:        100ms", "eval rate:            100.00 tokens/s"):
        assert line in err.splitlines()
    assert stored() == [("hello there", [("user", "hello there", "complete"),
                                         ("assistant", "Hello! How can I help?", "complete")])]


def test_hide_thinking_and_no_stats_without_verbose(capsys: pytest.CaptureFixture[str],
                                                    fake_ollama: FakeOllama) -> None:
    code, out, err = run_cli(capsys, "qwen3:8b", "hi", "--host", fake_ollama.url, "--hide-thinking")
    assert (code, out, err) == (0, "Hello! How can I help?\n", "")
    with HistoryStore.open() as store:  # hidden, not lost
        assert store.messages(store.sessions()[0].id)[1].thinking == "The user greets me."


def test_options_think_level_and_system_prompt_reach_the_server(capsys: pytest.CaptureFixture[str],
                                                                fake_ollama: FakeOllama) -> None:
    code, _, _ = run_cli(capsys, "qwen3:8b", "hi", "--host", fake_ollama.url, "--think", "high",
                         "--system", "Be terse.", "--temperature", "0.1", "--num-ctx", "2048", "--seed", "3",
                         "--stop", "###", "--stop", "END", "--keep-alive", "0")
    assert code == 0
    body = fake_ollama.requests[-1].body
    assert body["think"] == "high" and body["keep_alive"] == 0
    assert body["options"] == {"temperature": 0.1, "num_ctx": 2048, "seed": 3, "stop": ["###", "END"]}
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert fake_ollama.running == {}  # keep_alive 0 unloaded it after the reply


def test_prompt_from_stdin_and_json_output(capsys: pytest.CaptureFixture[str], fake_ollama: FakeOllama,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("请总结这段文字：\n第一行\n第二行\n"))
    code, out, err = run_cli(capsys, "qwen3:8b", "-", "--host", fake_ollama.url, "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["status"] == "complete" and result["content"] == "Hello! How can I help?"
    assert result["thinking"] == "The user greets me." and result["stats"]["output_tokens"] == 10
    assert fake_ollama.requests[-1].body["messages"][-1]["content"] == "请总结这段文字：\n第一行\n第二行\n"
    assert stored()[0][0] == "请总结这段文字："


def test_continue_adds_to_a_conversation(capsys: pytest.CaptureFixture[str], fake_ollama: FakeOllama) -> None:
    run_cli(capsys, "llama3.2", "first", "--host", fake_ollama.url)
    code, _, _ = run_cli(capsys, "llama3.2", "second", "--host", fake_ollama.url, "--continue", "1")
    assert code == 0
    assert [m["content"] for m in fake_ollama.requests[-1].body["messages"]] == [
        "first", "Hello! How can I help?", "second"]
    assert len(stored()) == 1 and len(stored()[0][1]) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope:1b", "hi"], "Model 'nope:1b' is not on Ollama at"),
        (["llama3.2", "hi", "--host", "nosuchhost"], "There is no host named 'nosuchhost' in the config"),
        (["llama3.2", "   "], "The prompt is empty"),
        (["llama3.2", "hi", "--think"], "does not support thinking"),
    ],
)
def test_errors_are_one_sentence_and_exit_1(capsys: pytest.CaptureFixture[str], fake_ollama: FakeOllama,
                                            args: list[str], message: str) -> None:
    if "--host" not in args:
        args = [*args, "--host", fake_ollama.url]
    code, out, err = run_cli(capsys, *args)
    assert code == 1 and out == ""
    assert err.startswith("llamadeck: ") and message in err and "Traceback" not in err
    assert stored() == []  # nothing was said: no empty conversation left behind


def test_server_down(capsys: pytest.CaptureFixture[str], fake_ollama: FakeOllama) -> None:
    with fake_ollama.refusing():
        code, out, err = run_cli(capsys, "llama3.2", "hi", "--host", fake_ollama.url)
    assert code == 1 and out == ""
    assert err == f"llamadeck: Ollama is not running at {fake_ollama.url} - start it with `ollama serve` " \
                  "or `systemctl start ollama`.\n"


def test_dropped_stream_keeps_the_partial(capsys: pytest.CaptureFixture[str],
                                          fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/chat", drop_after=5, times=1)
    code, out, err = run_cli(capsys, "llama3.2", "hi", "--host", fake_ollama.url)
    assert code == 1 and out == "Hello! How can I\n"
    assert "dropped" in err and "the partial reply is saved in conversation 1" in err
    assert stored()[0][1][1] == ("assistant", "Hello! How can I", "error")


def test_openai_host_by_url_shape(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.chat import resolve_host
    from core.config import load_settings

    settings = load_settings()
    assert resolve_host(settings, "http://127.0.0.1:8080/v1").kind == "openai"
    assert resolve_host(settings, "127.0.0.1:8080", "openai").url == "http://127.0.0.1:8080"
    box = resolve_host(settings, "box.lan")
    assert (box.kind, box.url) == ("ollama", "box.lan")  # read with OLLAMA_HOST rules when connecting
    assert resolve_host(settings, None).name == "local"


# --------------------------------------------------------------------------- real processes


def _start(fake: FakeOllama, repo_root: Path, prompt: str, *, hold_after: int) -> subprocess.Popen[bytes]:
    """A real `llamadeck chat` whose reply stops after `hold_after` words until the test says so."""
    fake.set_script(chunks=[f"word{i} " for i in range(600)], thinking=[], hold_after=hold_after)
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "chat", "llama3.2", prompt, "--host", fake.url],
        cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
    )


def _read_until(proc: subprocess.Popen[bytes], wanted: bytes, got: bytes = b"") -> bytes:
    """Everything the process printed, read until `wanted` is in it (the fake holds the rest back)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 60  # a generous bound for a loaded machine, not a timing assumption
    while wanted not in got:
        if time.monotonic() > deadline:
            raise AssertionError(f"the chat never printed {wanted!r}: {got!r}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            piece = os.read(proc.stdout.fileno(), 4096)
            if not piece:
                raise AssertionError(f"the chat ended before printing {wanted!r}: {got!r}")
            got += piece
    return got


def _assistant_saved(containing: str) -> str:
    """The saved partial reply, once it holds `containing` (the CLI saves as it streams)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sessions = stored()
        if sessions and len(sessions[0][1]) == 2 and containing in sessions[0][1][1][1]:
            return sessions[0][1][1][1]
        time.sleep(0.05)
    raise AssertionError(f"the partial reply with {containing!r} was never saved: {stored()!r}")


def test_killed_mid_reply_the_conversation_survives(fake_ollama: FakeOllama, repo_root: Path) -> None:
    proc = _start(fake_ollama, repo_root, "tell me a long story", hold_after=10)
    script = fake_ollama.script_for("llama3.2")
    try:
        printed = _read_until(proc, b"word9 ")
        # The CLI saves a streaming reply every 2 s of its own clock, on the next
        # chunk: wait at least that long (longer does no harm), then let one more through.
        time.sleep(2.2)
        script.let_through(1)
        printed = _read_until(proc, b"word10 ", printed)
        saved = _assistant_saved("word10 ")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert printed.decode().startswith("word0 word1 ")
    sessions = stored()
    assert len(sessions) == 1
    title, messages = sessions[0]
    assert title == "tell me a long story"
    (role_u, prompt, _), (role_a, partial, status) = messages
    assert (role_u, prompt, role_a, status) == ("user", "tell me a long story", "assistant", "interrupted")
    assert partial == saved and printed.decode() == partial  # everything printed was saved


def test_ctrl_c_stops_and_keeps_exactly_what_was_printed(fake_ollama: FakeOllama, repo_root: Path) -> None:
    # The reply never ends on its own: the fake holds it after 20 words until the test ends.
    proc = _start(fake_ollama, repo_root, "count slowly", hold_after=20)
    try:
        printed = _read_until(proc, b"word19 ")
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert b"stopped; the partial reply is saved in conversation 1" in err and b"Traceback" not in err
    shown = (printed + rest).decode()
    (_, messages), = stored()
    assert messages[1][2] == "stopped"
    assert messages[1][1] == shown.rstrip("\n") and shown.split() == [f"word{i}" for i in range(20)]


async def test_ctrl_c_stops_the_reply_even_when_a_read_swallows_the_cancel(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancel lost in the HTTP stack must not leave the CLI waiting: the connection is closed under it."""
    import asyncio

    from cli import chat as cli_chat

    monkeypatch.setattr(cli_chat, "STOP_GRACE", 0.05)  # a lower bound only: the read never ends by itself
    closed = asyncio.Event()

    async def stubborn_read() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await closed.wait()  # the cancel is swallowed; only the closed connection ends the read
            raise ConnectionError("connection closed") from None

    class Backend:
        async def aclose(self) -> None:
            closed.set()

    class Reply:
        status = "streaming"

        async def aclose(self) -> None:
            self.status = "stopped"

    reply = Reply()
    consumer = asyncio.create_task(stubborn_read())
    main = asyncio.create_task(cli_chat._until_done(consumer, Backend(), reply))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    main.cancel()  # what asyncio.run does on Ctrl-C
    assert await asyncio.wait_for(main, 30) is None
    assert closed.is_set() and consumer.done() and reply.status == "stopped"
