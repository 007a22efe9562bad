"""Every CLI command against a hostile address: one sentence on stderr, exit 1, never a traceback.

The addresses: a closed port on this machine (a bad host), a port out of range
(which Ollama itself would quietly replace with 11434: here it is refused,
naming where it came from), and strings of random bytes (fixed seeds) as
OLLAMA_HOST and as --host. Commands that need no server (hw, plan of a
catalog model) still work with any OLLAMA_HOST.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import cli.main as cli
from core import paths

REPO = Path(__file__).resolve().parents[2]
PLAN_OFFLINE = ["plan", "llama3.1:8b", "--gpu", "4090"]


def closed_port() -> str:
    """An address on this machine where nothing listens (bound, then closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def random_host(seed: int) -> str:
    """Random bytes as they reach us from the environment or argv (undecodable bytes surrogate-escaped)."""
    rng = random.Random(seed)
    raw = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(3, 40)))
    return raw.decode("utf-8", "surrogateescape")


BAD_PORT = "127.0.0.1:99999"
SEEDS = [1, 7, 42]
# Each command that talks to a server, with what it needs besides --host.
SERVER_COMMANDS = [["ls"], ["ps"], ["pull", "llama3.2"], ["rm", "llama3.2"], ["chat", "llama3.2", "hi"],
                   ["plan", "ollama:llama3.2"]]


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("llamadeck: ")]
    assert "Traceback" not in err and 'File "' not in err, err
    assert lines, err
    sentence = lines[-1]
    assert sentence.endswith("."), sentence
    return sentence


def hostile() -> list[tuple[str, str]]:
    return [("bad port", BAD_PORT), *[(f"random bytes #{s}", random_host(s)) for s in SEEDS]]


@pytest.mark.parametrize("command", SERVER_COMMANDS, ids=lambda c: c[0] if c[0] != "plan" else "plan-ollama")
@pytest.mark.parametrize(("kind", "host"), hostile(), ids=[k for k, _ in hostile()])
def test_a_hostile_host_flag_is_one_sentence(capsys: pytest.CaptureFixture[str], command: list[str],
                                             kind: str, host: str) -> None:
    code, out, err = run(capsys, [*command, "--host", host])
    sentence = one_sentence(err)
    assert code == 1 and out == ""
    if kind == "bad port":
        assert "--host '127.0.0.1:99999' has the port '99999', which is not a number from 0 to 65535" \
            in sentence
        assert "11434" in sentence  # says what Ollama would silently have done
    else:  # chat takes a bare word as a host's name, so it may say there is no such host instead
        assert "--host" in sentence or "There is no host named" in sentence


@pytest.mark.parametrize("command", SERVER_COMMANDS, ids=lambda c: c[0] if c[0] != "plan" else "plan-ollama")
@pytest.mark.parametrize(("kind", "host"), hostile(), ids=[k for k, _ in hostile()])
def test_a_hostile_ollama_host_is_one_sentence(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch, command: list[str], kind: str,
                                               host: str) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    code, out, err = run(capsys, command)
    sentence = one_sentence(err)
    assert code == 1 and out == ""
    assert "OLLAMA_HOST" in sentence
    if kind == "bad port":
        assert "fix or unset OLLAMA_HOST" in sentence


@pytest.mark.parametrize("command", SERVER_COMMANDS, ids=lambda c: c[0] if c[0] != "plan" else "plan-ollama")
def test_nothing_listening_is_one_sentence(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    address = closed_port()
    code, _, err = run(capsys, [*command, "--host", address])
    sentence = one_sentence(err)
    assert code == 1
    assert f"Ollama is not running at http://{address}" in sentence


@pytest.mark.parametrize(("kind", "host"), [("closed port", ""), *hostile()],
                         ids=["closed port", *[k for k, _ in hostile()]])
@pytest.mark.parametrize("command", [["hw", "--json"], PLAN_OFFLINE], ids=["hw", "plan-catalog"])
def test_commands_that_need_no_server_ignore_a_hostile_ollama_host(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str], kind: str,
        host: str) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host or closed_port())
    code, out, err = run(capsys, command)
    assert code == 0, err
    assert out and "Traceback" not in err


@pytest.mark.parametrize(("kind", "host"), [("closed port", ""), *hostile()],
                         ids=["closed port", *[k for k, _ in hostile()]])
def test_convert_fails_its_checks_on_a_hostile_host(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    kind: str, host: str) -> None:
    source = tmp_path / "model"
    source.mkdir()
    (source / "config.json").write_text("{}", encoding="utf-8")
    code, _, err = run(capsys, ["convert", str(source), "--host", host or closed_port()])
    assert code == 1 and "Traceback" not in err
    assert not list(paths.log_dir().glob("crash-*.log"))  # a failed check, not a crash


def run_cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("value", [BAD_PORT, "garbage!!@@::"])
def test_a_bad_ollama_host_does_not_crash_the_first_import_of_the_ollama_package(value: str) -> None:
    """`import ollama` builds a default client from OLLAMA_HOST and raised ValueError for port 99999.

    A fresh process, so the package is imported for the first time under the bad value.
    """
    env = {**os.environ, "OLLAMA_HOST": value}
    plan = run_cli(*PLAN_OFFLINE, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "Traceback" not in plan.stderr
    ls = run_cli("ls", env=env)
    assert ls.returncode == 1
    assert "Traceback" not in ls.stderr
    assert ls.stderr.startswith("llamadeck: OLLAMA_HOST=")
    assert os.environ.get("OLLAMA_HOST") != value  # the test's own environment untouched


# --------------------------------------------------------------------------- a server that is not Ollama

TOKEN = "sk-live-5d4c3b2a1f0e"
API_KEY = "key-77aa88bb99cc"


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (500, "Internal Server Error")])
@pytest.mark.parametrize("command", [["chat", "llama3.2", "hi"], ["ls"], ["pull", "llama3.2"]],
                         ids=lambda c: c[0])
def test_an_html_error_page_is_one_short_sentence(capsys: pytest.CaptureFixture[str], command: list[str],
                                                  status: int, reason: str) -> None:
    from tests.fakes.not_ollama import not_ollama

    with not_ollama(status=status, reason=reason) as server:
        code, _, err = run(capsys, [*command, "--host", server.url])
    sentence = one_sentence(err)
    assert code == 1
    assert "<" not in err and "nginx" not in err and len(sentence) < 400
    assert f"Something other than Ollama answered at {server.url}" in sentence
    assert f"HTTP {status} {reason} with a web page" in sentence
    log = paths.log_dir() / "server-answers.log"
    assert f"the whole page is in {log}" in sentence
    assert "<center>nginx/1.25.3</center>" in log.read_text(encoding="utf-8")


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[hosts.box]\nurl = "{url}"\ntoken = "{TOKEN}"\n'
                      f'headers = {{ "X-Api-Key" = "{API_KEY}" }}\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("command", [["chat", "llama3.2", "hi"], ["ls"], ["ps"], ["pull", "llama3.2"],
                                     ["rm", "llama3.2"]], ids=lambda c: c[0])
@pytest.mark.parametrize("status", [400, 401, 500])
def test_a_token_echoed_in_an_error_is_masked(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              command: list[str], status: int) -> None:
    from tests.fakes.not_ollama import not_ollama

    body = '{"error": "rejected request with {headers}"}'
    with not_ollama(status=status, reason="Whatever", body=body, content_type="application/json",
                    echo_headers=True, echo_separator=", ") as server:
        code, out, err = run(capsys, ["--config", str(write_config(tmp_path, server.url)), *command])
    assert code == 1
    assert TOKEN not in err + out and API_KEY not in err + out
    if status != 401:  # a 401 is said without quoting the server
        assert "authorization: Bearer ****" in err and "x-api-key: ****" in err
    for log in paths.log_dir().glob("*"):
        assert TOKEN not in log.read_text(encoding="utf-8")


def test_a_token_in_an_html_page_never_reaches_the_log(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    from tests.fakes.not_ollama import nginx_page, not_ollama

    body = nginx_page(403, "Forbidden").replace("<hr>", "<pre>{headers}</pre><hr>")
    with not_ollama(status=403, reason="Forbidden", body=body, echo_headers=True) as server:
        code, _, err = run(capsys, ["--config", str(write_config(tmp_path, server.url)), "ls"])
    assert code == 1 and TOKEN not in err
    log = (paths.log_dir() / "server-answers.log").read_text(encoding="utf-8")
    assert "authorization: Bearer ****" in log and TOKEN not in log and API_KEY not in log


@pytest.mark.parametrize("status", [404, 502])
def test_an_openai_compatible_url_answering_a_web_page_is_one_short_sentence(
        capsys: pytest.CaptureFixture[str], status: int) -> None:
    from tests.fakes.not_ollama import not_ollama

    with not_ollama(status=status, reason="Whatever") as server:
        code, _, err = run(capsys, ["chat", "some-model", "hi", "--host", f"{server.url}/v1"])
    sentence = one_sentence(err)
    assert code == 1 and "<" not in err and "padding" not in err and len(sentence) < 400
    assert f"{status} Whatever" in sentence  # the page's title, not the page
