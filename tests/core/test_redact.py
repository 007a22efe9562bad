"""Secrets masked in text we show or log; a server's error page cut to one plain line; the logs."""

from __future__ import annotations

import pytest

from core import paths
from core.config import HostConfig, Settings
from core.error_log import crash_sentence, log_server_answer
from core.errors import OllamaError
from core.redact import MASK, forget_all, host_secrets, redact, redact_error, remember_settings
from core.server_text import short_text
from tests.fakes.not_ollama import nginx_page

TOKEN = "sk-proj-4f9a8b7c6d5e"


@pytest.fixture(autouse=True)
def _no_remembered_secrets() -> None:
    forget_all()


def box(**fields: object) -> HostConfig:
    return HostConfig(name="box", url="http://box:11434", **fields)  # type: ignore[arg-type]


def test_a_hosts_token_and_header_values_are_secrets() -> None:
    host = box(token=TOKEN, headers=(("Authorization", "Basic dXNlcjpwYXNz"), ("X-Api-Key", "key-123456"),
                                     ("X-Team", "lab")))
    # "lab" is too short to be worth masking everywhere it appears
    assert host_secrets(host) == {TOKEN, "Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "key-123456"}


def test_remembered_and_environment_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_QwErTyUiOpAsDfGh")
    remember_settings(Settings(hosts=(box(token=TOKEN),)))
    text = f"401 from proxy; authorization: Bearer {TOKEN}; x-hf: hf_QwErTyUiOpAsDfGh"
    assert redact(text) == f"401 from proxy; authorization: Bearer {MASK}; x-hf: {MASK}"


def test_the_longest_secret_goes_first() -> None:
    remember_settings(Settings(hosts=(box(headers=(("Authorization", f"Bearer {TOKEN}"),)),)))
    assert redact(f"got 'Bearer {TOKEN}' and '{TOKEN}'") == f"got '{MASK}' and '{MASK}'"


def test_an_error_is_masked_in_its_message_hint_and_args() -> None:
    remember_settings(Settings(hosts=(box(token=TOKEN),)))
    err = redact_error(OllamaError(f"refused: Bearer {TOKEN}", hint=f"token {TOKEN} is wrong"))
    assert TOKEN not in str(err) and TOKEN not in err.message and TOKEN not in (err.hint or "")
    assert str(err) == f"refused: Bearer {MASK} token {MASK} is wrong"


@pytest.mark.parametrize(("body", "line"), [
    (nginx_page(502, "Bad Gateway"), "502 Bad Gateway"),
    ("<!DOCTYPE html><html><body><h1>Oops &amp; sorry</h1><p>Details</p></body></html>", "Oops & sorry"),
    ("<html><head><style>h1{}</style><script>x()</script></head><body>\n\n<p>Down for maintenance</p>",
     "Down for maintenance"),
    ("plain error text\nsecond line", "plain error text"),
    ("", ""),
])
def test_an_error_page_becomes_one_plain_line(body: str, line: str) -> None:
    assert short_text(body) == line


def test_a_long_line_is_cut() -> None:
    cut = short_text("word " * 200, limit=40)
    assert len(cut) == 40 and cut.endswith("…")


def test_the_server_answer_log_is_private_and_masked() -> None:
    remember_settings(Settings(hosts=(box(token=TOKEN),)))
    path = log_server_answer("http://box:11434", 500, f"echo: Bearer {TOKEN}\n" + "x" * 100)
    assert path == paths.log_dir() / "server-answers.log"
    text = path.read_text(encoding="utf-8")
    assert "answered 500" in text and f"Bearer {MASK}" in text and TOKEN not in text
    assert path.stat().st_mode & 0o077 == 0


def test_a_crash_sentence_names_its_file_and_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-key-998877")
    try:
        raise ValueError("bad header ollama-key-998877\nsecond line")
    except ValueError as exc:
        sentence = crash_sentence(exc, "a test")
    [crash] = paths.log_dir().glob("crash-*.log")
    assert sentence == ("llamadeck stopped on an unexpected error "
                        f"(ValueError: bad header {MASK} second line). The details are in {crash}; "
                        "please attach that file to a bug report.")
    logged = crash.read_text(encoding="utf-8")
    assert "in a test" in logged and "Traceback" in logged and "ollama-key-998877" not in logged


def test_a_hub_error_quoting_hf_token_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import ModelFactsError, PipelineError
    from core.facts.hf_hub import hub_error

    monkeypatch.setenv("HF_TOKEN", "hf_ZxCvBnMaSdFgHjKl")
    exc = ConnectionError("proxy refused: authorization: Bearer hf_ZxCvBnMaSdFgHjKl")
    url = "https://huggingface.co"
    for err in (hub_error(PipelineError, "org/model", exc, url=url, downloading=True),
                hub_error(ModelFactsError, "org/model", exc, url=url, downloading=False)):
        assert "hf_ZxCvBnMaSdFgHjKl" not in str(err)
        assert f"authorization: Bearer {MASK}" in str(err)
