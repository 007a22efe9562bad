"""The OpenAI-compatible backend's pieces: URL, request body, SSE parsing, stats from `timings`.

The streaming itself runs against the real llama-server in tests/e2e.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.chat.backend_for import backend_for
from core.chat.backends import ReplyMeter
from core.chat.openai import (
    OpenAIChatBackend,
    completions_url,
    request_body,
    request_headers,
    sse_data,
    stats_from,
)
from core.chat.types import ChatMessage, ChatOptions
from core.config import HostConfig
from core.errors import OllamaUnreachable


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/chat/completions"),
        ("http://box:8000/v1", "http://box:8000/v1/chat/completions"),
        ("https://api.lan/proxy/v1/", "https://api.lan/proxy/v1/chat/completions"),
        ("http://h/v1/chat/completions", "http://h/v1/chat/completions"),
    ],
)
def test_completions_url(base: str, url: str) -> None:
    assert completions_url(base) == url


def test_request_body_translates_ollama_options() -> None:
    opts = ChatOptions(temperature=0.2, top_p=0.9, top_k=40, seed=7, repeat_penalty=1.1, num_predict=64,
                       num_ctx=8192, keep_alive="10m", stop=("</s>",), think="high")
    body = request_body("m", [ChatMessage("system", "S"), ChatMessage("user", "你好")], opts)
    assert body == {
        "model": "m",
        "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "你好"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7, "repeat_penalty": 1.1,
        "max_tokens": 64, "stop": ["</s>"],
        "chat_template_kwargs": {"enable_thinking": True}, "reasoning_effort": "high",
    }
    off = request_body("m", [], ChatOptions(think=False, num_predict=-1))
    assert off["chat_template_kwargs"] == {"enable_thinking": False}
    assert "max_tokens" not in off and "reasoning_effort" not in off  # -1 = no limit, as in Ollama
    assert "chat_template_kwargs" not in request_body("m", [], ChatOptions())


def test_token_and_headers_go_on_every_request() -> None:
    host = HostConfig(name="box", url="http://box", kind="openai", headers=(("X-Team", "lab"),),
                      token="s3cret")
    assert request_headers(host) == {"X-Team": "lab", "Authorization": "Bearer s3cret"}
    assert "s3cret" not in repr(host)


async def _lines(items: list[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_sse_events_pings_and_multiline_data() -> None:
    raw = [
        'data: {"a": 1}', "",
        ":", "",  # llama-server's keep-alive ping
        ": comment", "event: message", "data:{\"b\": 2}", "",
        "data: line one", "data: line two", "",
        "data: [DONE]", "",
        "data: trailing without blank line",
    ]
    got = [d async for d in sse_data(_lines(raw))]
    assert got == ['{"a": 1}', '{"b": 2}', "line one\nline two", "[DONE]", "trailing without blank line"]


class Tick:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def test_stats_from_llama_server_timings() -> None:
    meter = ReplyMeter(Tick(10.0, 10.4, 12.0))  # start, first token, end
    meter.content("Hi")
    final = {  # the shape of llama-server's last chunk (tools/server/server-common.cpp)
        "choices": [], "usage": {"completion_tokens": 48, "prompt_tokens": 44, "total_tokens": 92},
        "timings": {"cache_n": 236, "prompt_n": 44, "prompt_ms": 30.958, "prompt_per_token_ms": 0.7,
                    "prompt_per_second": 1421.3, "predicted_n": 48, "predicted_ms": 661.064,
                    "predicted_per_token_ms": 13.77, "predicted_per_second": 72.6},
    }
    stats = stats_from(final, final["usage"], "stop", meter)  # type: ignore[arg-type]
    assert stats.ttft_s == pytest.approx(0.4) and stats.wall_s == pytest.approx(2.0)
    assert (stats.prompt_tokens, stats.cached_tokens, stats.output_tokens) == (44, 236, 48)
    assert stats.prompt_s == pytest.approx(0.030958) and stats.output_s == pytest.approx(0.661064)
    assert stats.output_tps == pytest.approx(48 / 0.661064)
    assert stats.context_tokens == 44 + 236 + 48
    assert stats.done_reason == "stop" and stats.load_s is None and stats.total_s is None


def test_stats_from_usage_only_uses_our_clock_for_decode() -> None:
    meter = ReplyMeter(Tick(0.0, 1.0, 3.0))
    meter.content("x")
    usage = {"prompt_tokens": 30, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 10}}
    stats = stats_from({}, usage, "length", meter)
    assert (stats.prompt_tokens, stats.cached_tokens, stats.output_tokens) == (20, 10, 100)
    assert stats.output_s == pytest.approx(2.0) and stats.prompt_s is None
    assert stats.done_reason == "length"


def test_backend_for_picks_by_kind() -> None:
    assert isinstance(backend_for(HostConfig(name="l", url="http://127.0.0.1:8080", kind="openai")),
                      OpenAIChatBackend)


async def test_nothing_listening_is_unreachable_with_a_sentence(unused_port: int) -> None:
    backend = OpenAIChatBackend(HostConfig(name="box", url=f"http://127.0.0.1:{unused_port}", kind="openai"))
    try:
        with pytest.raises(OllamaUnreachable, match=r"Nothing answers at http://127\.0\.0\.1:\d+ \(box\)"):
            async for _ in backend.stream("m", [ChatMessage("user", "hi")], ChatOptions()):
                pass
    finally:
        await backend.aclose()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
