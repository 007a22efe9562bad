"""Chat with an OpenAI-compatible server (llama.cpp's llama-server, vLLM) over streaming SSE.

`POST /v1/chat/completions` with `stream: true` answers server-sent events:
`data: {chunk}` blocks, `: ping` comments, and `data: [DONE]` at the end. Each
chunk's `choices[0].delta` carries `content` and, when the server parses
reasoning, `reasoning_content` (vLLM newer: `reasoning`). llama-server adds a
`timings` object to its last chunk (prompt_n, prompt_ms, predicted_n,
predicted_ms, cache_n: tools/server/server-common.cpp `server_slot_stats`), and
with `stream_options.include_usage` a last chunk with `usage`. An error after
the stream started arrives as `data: {"error": {...}}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import httpx

from core.chat.backends import BackendEvent, Clock, ReplyMeter, error_text
from core.chat.types import ChatMessage, ChatOptions, ChatStats, StreamDone
from core.config import HostConfig
from core.error_log import log_server_answer
from core.errors import (
    ConfigError,
    ModelNotFound,
    OllamaError,
    OllamaUnreachable,
    ServerTimeout,
    StreamError,
)
from core.ollama.host import shown_value
from core.redact import redact, redact_error, remember_host
from core.server_text import LIMIT, looks_like_html, short_text

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=10.0)


def completions_url(base: str) -> str:
    """`http://h:8080` and `http://h:8080/v1` both mean `http://h:8080/v1/chat/completions`."""
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


def request_headers(host: HostConfig) -> dict[str, str]:
    headers = dict(host.headers)
    if host.token:
        headers["Authorization"] = f"Bearer {host.token}"
    return headers


def request_body(model: str, messages: Sequence[ChatMessage], options: ChatOptions) -> dict[str, Any]:
    """The JSON body; Ollama-named options translated, server-fixed ones (num_ctx, keep_alive) left out."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    for name in ("temperature", "top_p", "top_k", "seed", "repeat_penalty"):
        value = getattr(options, name)
        if value is not None:
            body[name] = value
    if options.num_predict is not None and options.num_predict >= 0:
        body["max_tokens"] = options.num_predict
    if options.stop:
        body["stop"] = list(options.stop)
    if options.think is not None:
        # Both llama-server and vLLM pass chat_template_kwargs to the template
        # (Qwen3-style `enable_thinking`); a level goes as reasoning_effort.
        body["chat_template_kwargs"] = {"enable_thinking": options.think is not False}
        if isinstance(options.think, str):
            body["reasoning_effort"] = options.think
    return body


async def sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` payloads of a server-sent event stream, one per event.

    Comments (`: ping`) and other fields are skipped; several `data:` lines of
    one event are joined with newlines, as the SSE spec says.
    """
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def stats_from(final: dict[str, Any], usage: dict[str, Any] | None, finish_reason: str | None,
               meter: ReplyMeter) -> ChatStats:
    """Stats from llama-server's `timings` when sent; else `usage` counts with our own clock."""
    wall = meter.elapsed()
    timings = final.get("timings")
    if isinstance(timings, dict):
        def num(key: str) -> float | None:
            value = timings.get(key)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

        prompt_ms, predicted_ms = num("prompt_ms"), num("predicted_ms")
        prompt_n, predicted_n, cache_n = num("prompt_n"), num("predicted_n"), num("cache_n")
        return ChatStats(
            ttft_s=meter.ttft, wall_s=wall,
            prompt_tokens=int(prompt_n) if prompt_n is not None else None,
            prompt_s=prompt_ms / 1000 if prompt_ms is not None else None,
            cached_tokens=int(cache_n) if cache_n is not None else None,
            output_tokens=int(predicted_n) if predicted_n is not None else None,
            output_s=predicted_ms / 1000 if predicted_ms is not None else None,
            done_reason=finish_reason,
        )
    prompt_tokens = output_tokens = cached = None
    if usage:
        prompt_tokens = usage.get("prompt_tokens")
        output_tokens = usage.get("completion_tokens")
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
            cached = details["cached_tokens"]
            if isinstance(prompt_tokens, int):
                prompt_tokens -= cached
    # Without server timings the decode time is what we saw: first token to last byte.
    decode = wall - meter.ttft if meter.ttft is not None and output_tokens else None
    return ChatStats(
        ttft_s=meter.ttft, wall_s=wall,
        prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
        cached_tokens=cached,
        output_tokens=output_tokens if isinstance(output_tokens, int) else None,
        output_s=decode if decode and decode > 0 else None,
        done_reason=finish_reason,
    )


class OpenAIChatBackend:
    """Streaming chat completions over httpx."""

    def __init__(self, host: HostConfig, *, clock: Clock = time.monotonic,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.host = host
        self.url = completions_url(host.url)
        try:
            parsed = httpx.URL(self.url)
        except (httpx.InvalidURL, UnicodeError, ValueError):
            parsed = None
        if (parsed is None or parsed.scheme not in ("http", "https") or not parsed.host
                or not 0 <= (parsed.port or 0) <= 65535):
            raise ConfigError(f"Host '{host.name}' has the url {shown_value(host.url)}, which is not an "
                              "http(s) address llamadeck can connect to; fix it in the config or in --host.")
        remember_host(host)  # its token and headers are masked wherever a server echoes them
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=timeout, verify=host.verify_tls, transport=transport,
                                         headers=request_headers(host))

    async def aclose(self) -> None:
        await self._client.aclose()

    def _where(self) -> str:
        return f"{self.url.removesuffix('/v1/chat/completions')} ({self.host.name})"

    async def stream(self, model: str, messages: Sequence[ChatMessage], options: ChatOptions,
                     *, starts_in_thinking: bool = False) -> AsyncIterator[BackendEvent]:
        try:
            # aclosing: leaving early (Esc, Ctrl-C) closes the inner stream and its connection now.
            async with aclosing(self._stream(model, messages, options,
                                             starts_in_thinking=starts_in_thinking)) as events:
                async for event in events:
                    yield event
        except (OllamaError, ConfigError) as err:
            raise redact_error(err) from err.__cause__

    async def _stream(self, model: str, messages: Sequence[ChatMessage], options: ChatOptions,
                      *, starts_in_thinking: bool) -> AsyncGenerator[BackendEvent, None]:
        body = request_body(model, messages, options)
        meter = ReplyMeter(self._clock, starts_in_thinking=starts_in_thinking)
        finish_reason: str | None = None
        usage: dict[str, Any] | None = None
        final: dict[str, Any] = {}
        done = False
        try:
            async with self._client.stream("POST", self.url, json=body) as resp:
                if resp.status_code >= 400:
                    raise self._refusal(resp.status_code, await resp.aread(), model)
                async for data in sse_data(resp.aiter_lines()):
                    if data.strip() == "[DONE]":
                        done = True
                        break
                    chunk = self._parse(data)
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") or {}
                        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                        if isinstance(reasoning, str):
                            for event in meter.thinking(reasoning):
                                yield event
                        if isinstance(delta.get("content"), str):
                            for event in meter.content(delta["content"]):
                                yield event
                        if choice.get("finish_reason"):
                            finish_reason = str(choice["finish_reason"])
                    if isinstance(chunk.get("usage"), dict):
                        usage = chunk["usage"]
                    if "timings" in chunk:
                        final = chunk
        except httpx.ConnectError as exc:
            raise OllamaUnreachable(
                f"Nothing answers at {self._where()}: {exc}.",
                hint="Start llama-server (or vLLM) there, or fix the host's url in the config.",
            ) from exc
        except httpx.TimeoutException as exc:
            raise ServerTimeout(f"Timed out: {self._where()} stopped answering ({type(exc).__name__}).",
                                hint="Retry; if it keeps happening, check the server's log.") from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise StreamError(f"The connection to {self._where()} broke mid-reply ({reason}).",
                              hint="Retry to ask again.") from exc
        if not done and finish_reason is None:
            raise StreamError(f"The reply from {self._where()} ended before it was complete.",
                              hint="Retry to ask again.")
        for event in meter.finish():
            yield event
        yield StreamDone(stats_from(final, usage, finish_reason, meter))

    def _parse(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            raise StreamError(f"{self._where()} sent a line that is not JSON: {data[:80]!r}.",
                              hint="Retry; if it repeats, the server is not OpenAI-compatible.") from None
        if not isinstance(chunk, dict):
            raise StreamError(f"{self._where()} sent {data[:80]!r} where a JSON object belongs.")
        if "error" in chunk:
            raise StreamError(f"{self._where()} reported an error mid-reply: "
                              f"{error_text(chunk) or 'no details'}.", hint="Retry to ask again.")
        return chunk

    def _refusal(self, status: int, raw: bytes, model: str) -> Exception:
        text = raw.decode("utf-8", errors="replace")
        try:
            message = error_text(json.loads(text)) or text.strip()
        except json.JSONDecodeError:
            message = text.strip()
        where = self._where()
        if len(message) > LIMIT or looks_like_html(message):
            log_server_answer(where, status, text)  # the whole answer; the sentence quotes one line of it
        message = redact(short_text(message)).rstrip(".") or f"HTTP {status}"
        if status == 404 and "model" in message.lower():
            return ModelNotFound(f"{where} has no model {model!r}: {message}.",
                                 hint="Pick a model the server serves.")
        if status == 404:
            return OllamaError(f"{where} has no chat completions endpoint at {self.url} ({message}).",
                               hint="Check that the host is an OpenAI-compatible server and its url.")
        if status in (401, 403):
            return OllamaError(f"{where} refused the request ({status}): {message}.",
                               hint="Check the host's token in the config.")
        if status >= 500:
            return StreamError(f"{where} failed to answer ({status}): {message}.",
                               hint="Retry; a server still loading its model answers 503 for a while.")
        return OllamaError(f"{where} rejected the request ({status}): {message}.")
