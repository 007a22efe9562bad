"""The Ollama chat backend against the fake Ollama server: thinking, stats, options, every fault."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from core.chat.backend_for import backend_for
from core.chat.backends import BackendEvent
from core.chat.ollama import OllamaChatBackend
from core.chat.session import is_retryable
from core.chat.types import (
    ChatMessage,
    ChatOptions,
    ContentDelta,
    ContentWasThinking,
    StreamDone,
    ThinkingDelta,
)
from core.config import HostConfig
from core.errors import ModelNotFound, OllamaError, OllamaUnreachable, StreamError
from tests.fakes.fake_ollama import FakeOllama

HELLO = [ChatMessage("user", "hello there")]


@pytest.fixture
async def backend(fake_ollama: FakeOllama) -> AsyncIterator[OllamaChatBackend]:
    b = OllamaChatBackend(HostConfig(name="fake", url=fake_ollama.url))
    yield b
    await b.aclose()


async def collect(stream: AsyncIterator[BackendEvent]) -> list[BackendEvent]:
    return [e async for e in stream]


def text(events: list[BackendEvent], kind: type) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))  # type: ignore[attr-defined]


async def test_thinking_then_answer_then_server_stats(backend: OllamaChatBackend) -> None:
    events = await collect(backend.stream("qwen3:8b", HELLO, ChatOptions()))
    assert text(events, ThinkingDelta) == "The user greets me."
    assert text(events, ContentDelta) == "Hello! How can I help?"
    kinds = [type(e) for e in events]
    assert kinds.index(ContentDelta) > kinds.index(ThinkingDelta)  # reasoning first, as sent
    assert kinds.count(ContentDelta) == 7  # one event per streamed chunk
    done = events[-1]
    assert isinstance(done, StreamDone)
    stats = done.stats
    # The fake's counters: 10 ms per output token, 1 ms per prompt token, 50 ms to load.
    assert stats.output_tokens == 10 and stats.output_s == pytest.approx(0.1)
    assert stats.output_tps == pytest.approx(100.0)
    assert stats.prompt_tokens == 2 and stats.prompt_tps == pytest.approx(1000.0)
    assert stats.load_s == pytest.approx(0.05) and stats.total_s == pytest.approx(0.153)
    assert stats.done_reason == "stop"
    assert stats.ttft_s is not None and stats.wall_s is not None and 0 < stats.ttft_s <= stats.wall_s


async def test_ttft_uses_the_injected_clock(fake_ollama: FakeOllama) -> None:
    ticks = iter([100.0, 100.25, 101.0])
    b = OllamaChatBackend(HostConfig(name="fake", url=fake_ollama.url), clock=lambda: next(ticks))
    try:
        events = await collect(b.stream("llama3.2", HELLO, ChatOptions()))
    finally:
        await b.aclose()
    stats = events[-1].stats  # type: ignore[union-attr]
    assert (stats.ttft_s, stats.wall_s) == (0.25, 1.0)


async def test_options_think_and_keep_alive_reach_the_server(backend: OllamaChatBackend,
                                                             fake_ollama: FakeOllama) -> None:
    opts = ChatOptions(temperature=0.3, top_p=0.8, top_k=20, num_ctx=8192, seed=42, repeat_penalty=1.05,
                       num_predict=128, stop=("<|end|>",), keep_alive="10m", think="high")
    await collect(backend.stream("qwen3:8b", [ChatMessage("system", "S"), *HELLO], opts))
    body = fake_ollama.requests[-1].body
    assert body["model"] == "qwen3:8b" and body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "S"},
                                {"role": "user", "content": "hello there"}]
    assert body["options"] == {"temperature": 0.3, "top_p": 0.8, "top_k": 20, "num_ctx": 8192, "seed": 42,
                               "repeat_penalty": 1.05, "num_predict": 128, "stop": ["<|end|>"]}
    assert body["keep_alive"] == "10m" and body["think"] == "high"
    running = {e.name: e for e in fake_ollama.running.values()}
    assert running["qwen3:8b"].context_length == 8192  # num_ctx really loaded the model that way


async def test_defaults_send_no_options(backend: OllamaChatBackend, fake_ollama: FakeOllama) -> None:
    await collect(backend.stream("llama3.2", HELLO, ChatOptions()))
    body = fake_ollama.requests[-1].body
    assert "options" not in body and "think" not in body and "keep_alive" not in body


async def test_think_off_sends_false(backend: OllamaChatBackend, fake_ollama: FakeOllama) -> None:
    events = await collect(backend.stream("qwen3:8b", HELLO, ChatOptions(think=False)))
    assert fake_ollama.requests[-1].body["think"] is False
    assert text(events, ThinkingDelta) == ""


async def test_inline_think_tags_split_across_chunks(backend: OllamaChatBackend,
                                                     fake_ollama: FakeOllama) -> None:
    fake_ollama.set_script("deepseek-r1:7b",
                           chunks=["<thi", "nk>\nLet me see", ". 嗯</th", "ink>\n\n答案", "是 42。"])
    events = await collect(backend.stream("deepseek-r1:7b", HELLO, ChatOptions()))
    assert text(events, ThinkingDelta) == "Let me see. 嗯"
    assert text(events, ContentDelta) == "答案是 42。"


async def test_template_that_opens_thinking(backend: OllamaChatBackend, fake_ollama: FakeOllama) -> None:
    fake_ollama.set_script("deepseek-r1:7b", chunks=["Hmm, ", "think.", "</think>", "Answer."])
    told = await collect(backend.stream("deepseek-r1:7b", HELLO, ChatOptions(), starts_in_thinking=True))
    assert (text(told, ThinkingDelta), text(told, ContentDelta)) == ("Hmm, think.", "Answer.")
    untold = await collect(backend.stream("deepseek-r1:7b", HELLO, ChatOptions()))
    moved = [e for e in untold if isinstance(e, ContentWasThinking)]
    assert moved == [ContentWasThinking("Hmm, think.")]
    assert untold.index(moved[0]) > 0  # it was first shown as answer, then moved


async def test_server_down_is_unreachable(backend: OllamaChatBackend, fake_ollama: FakeOllama) -> None:
    down = r"Ollama is not running at http://127\.0\.0\.1"
    with fake_ollama.refusing(), pytest.raises(OllamaUnreachable, match=down) as caught:
        await collect(backend.stream("llama3.2", HELLO, ChatOptions()))
    assert is_retryable(caught.value)
    assert (await collect(backend.stream("llama3.2", HELLO, ChatOptions())))[-1]  # back up: works again


async def test_unknown_model(backend: OllamaChatBackend) -> None:
    with pytest.raises(ModelNotFound, match="Model 'nope:1b' is not on Ollama") as caught:
        await collect(backend.stream("nope:1b", HELLO, ChatOptions()))
    assert not is_retryable(caught.value)


async def test_thinking_on_a_model_without_it_is_a_refusal(backend: OllamaChatBackend) -> None:
    with pytest.raises(OllamaError, match="does not support thinking") as caught:
        await collect(backend.stream("llama3.2", HELLO, ChatOptions(think=True)))
    assert not is_retryable(caught.value)


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ({"drop_after": 3}, StreamError, "dropped while chatting with llama3.2"),
        ({"malformed_after": 3}, StreamError, "not JSON"),
        ({"error_line_after": 3, "error": "llama runner process has terminated"}, StreamError,
         "llama runner process has terminated"),
    ],
)
async def test_mid_stream_faults_keep_what_arrived(backend: OllamaChatBackend, fake_ollama: FakeOllama,
                                                   fault: dict[str, object], error: type,
                                                   message: str) -> None:
    fake_ollama.add_fault(path="/api/chat", times=1, **fault)  # type: ignore[arg-type]
    got: list[BackendEvent] = []
    with pytest.raises(error, match=message) as caught:
        async for event in backend.stream("llama3.2", HELLO, ChatOptions()):
            got.append(event)
    assert text(got, ContentDelta) == "Hello! How"  # the three lines before the fault
    assert is_retryable(caught.value)


async def test_http_500_is_a_retryable_failure(backend: OllamaChatBackend, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/chat", status=500, error="model runner crashed", times=1)
    with pytest.raises(OllamaError, match="model runner crashed") as caught:
        await collect(backend.stream("llama3.2", HELLO, ChatOptions()))
    assert is_retryable(caught.value)


async def test_leaving_early_closes_the_connection(backend: OllamaChatBackend,
                                                   fake_ollama: FakeOllama) -> None:
    fake_ollama.set_script(chunks=[f"w{i} " for i in range(200)], hold_after=10)
    stream = backend.stream("llama3.2", HELLO, ChatOptions())
    first = [await anext(stream) for _ in range(3)]
    assert text(first, ContentDelta) == "w0 w1 w2 "
    await stream.aclose()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 3
    while fake_ollama._conns and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not fake_ollama._conns, "the server is still streaming to nobody"


async def test_token_and_headers_are_sent(fake_ollama: FakeOllama) -> None:
    host = HostConfig(name="box", url=fake_ollama.url, token="s3cret", headers=(("X-Team", "lab"),))
    b = backend_for(host)
    try:
        await collect(b.stream("llama3.2", HELLO, ChatOptions()))
    finally:
        await b.aclose()
    headers = {k.lower(): v for k, v in fake_ollama.requests[-1].headers.items()}
    assert headers["authorization"] == "Bearer s3cret" and headers["x-team"] == "lab"
