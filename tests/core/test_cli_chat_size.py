"""`llamadeck chat` refuses a prompt longer than the model's context, unless --force."""

from __future__ import annotations

import pytest

from cli.main import main
from core.chat.history import HistoryStore
from tests.fakes.fake_ollama import FakeOllama

MODEL = "qwen3:8b"  # trained context 40,960 in the fake; vocabulary 151,936
BIG = " ".join(["The quick brown fox jumps over the lazy dog."] * 1000)  # ~11,000 tokens


def paths(fake: FakeOllama) -> list[str]:
    return [r.path for r in fake.requests]


def test_a_prompt_over_num_ctx_is_refused_and_nothing_is_sent_or_saved(
        fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["chat", MODEL, BIG, "--host", fake_ollama.url, "--num-ctx", "4096"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith("llamadeck: This prompt is about 11,258 tokens (44,999 characters). qwen3:8b runs "
                          "with a context of 4,096 tokens, so it will not see all of it")
    assert err.rstrip().endswith("Nothing was sent; pass --force to send it anyway, or --num-ctx for a "
                                 "larger context.")
    assert "/api/chat" not in paths(fake_ollama)
    with HistoryStore.open() as store:
        assert store.sessions() == []


def test_force_sends_it(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", MODEL, BIG, "--host", fake_ollama.url, "--num-ctx", "4096", "--force"]) == 0
    chats = [r for r in fake_ollama.requests if r.path == "/api/chat"]
    assert chats[-1].body["messages"][-1]["content"] == BIG


def test_without_num_ctx_the_loaded_context_counts_then_the_trained_one(
        fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    fake_ollama.set_running(MODEL, size=5_000, size_vram=5_000, context_length=8192)
    assert main(["chat", MODEL, BIG, "--host", fake_ollama.url]) == 1
    assert "runs with a context of 8,192 tokens" in capsys.readouterr().err
    fake_ollama.running.clear()
    assert main(["chat", MODEL, BIG, "--host", fake_ollama.url]) == 0  # 11k tokens fit 40,960
    fake_ollama.running.clear()  # the chat loaded it (with the fake's default context): unload it
    huge = BIG * 5  # ~56,000 tokens
    assert main(["chat", MODEL, huge, "--host", fake_ollama.url]) == 1
    assert "runs with a context of 40,960 tokens" in capsys.readouterr().err


def test_the_conversation_so_far_counts(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    half = " ".join(["The quick brown fox jumps over the lazy dog."] * 300)  # ~3,400 tokens
    assert main(["chat", MODEL, half, "--host", fake_ollama.url, "--num-ctx", "4096"]) == 0
    capsys.readouterr()
    assert main(["chat", MODEL, half, "--host", fake_ollama.url, "--continue", "1"]) == 1
    assert "with what is sent along with it, about" in capsys.readouterr().err


def test_a_short_prompt_asks_the_server_nothing_more(fake_ollama: FakeOllama,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", MODEL, "hi", "--host", fake_ollama.url]) == 0
    assert paths(fake_ollama) == ["/api/chat"]
