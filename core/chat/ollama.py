"""Chat with Ollama: `/api/chat` streamed through the official client.

Connection, credentials and error sentences come from `core.ollama.client.OllamaClient`;
this module only shapes the request (options by Ollama's names, `think` as a
bool or level, `keep_alive`) and reads the stream: `message.thinking` is
reasoning, `message.content` may still hold inline `<think>` (older reasoning
models), and the last line carries the server's nanosecond counters.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any, cast

from core.chat.backends import BackendEvent, Clock, ReplyMeter
from core.chat.types import ChatMessage, ChatOptions, ChatStats, StreamDone
from core.config import HostConfig
from core.errors import StreamError
from core.ollama.client import OllamaClient
from core.ollama.package import ollama


def _seconds(ns: int | None) -> float | None:
    return ns / 1e9 if isinstance(ns, int) and ns > 0 else None


def stats_from(final: ollama.ChatResponse, meter: ReplyMeter) -> ChatStats:
    """The last line's counters (nanoseconds) in seconds, with our time to first token."""
    return ChatStats(
        ttft_s=meter.ttft,
        wall_s=meter.elapsed(),
        total_s=_seconds(final.total_duration),
        load_s=_seconds(final.load_duration),
        prompt_tokens=final.prompt_eval_count,
        prompt_s=_seconds(final.prompt_eval_duration),
        output_tokens=final.eval_count,
        output_s=_seconds(final.eval_duration),
        done_reason=final.done_reason,
    )


def chat_kwargs(model: str, messages: Sequence[ChatMessage], options: ChatOptions) -> dict[str, Any]:
    """The arguments of `AsyncClient.chat`; unset options are left to the server and the Modelfile."""
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": True,
    }
    sampling = options.sampling()
    if sampling:
        kwargs["options"] = sampling
    if options.keep_alive is not None:
        kwargs["keep_alive"] = options.keep_alive
    if options.think is not None:
        kwargs["think"] = options.think
    return kwargs


class OllamaChatBackend:
    """Streams replies from one Ollama host."""

    def __init__(self, host: HostConfig, *, clock: Clock = time.monotonic,
                 client: OllamaClient | None = None) -> None:
        self.host = host
        self._clock = clock
        self._client = client or OllamaClient(host)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def stream(self, model: str, messages: Sequence[ChatMessage], options: ChatOptions,
                     *, starts_in_thinking: bool = False) -> AsyncIterator[BackendEvent]:
        meter = ReplyMeter(self._clock, starts_in_thinking=starts_in_thinking)
        final: ollama.ChatResponse | None = None
        async with self._client.translate_errors(f"chatting with {model}", model=model, waits=True):
            parts = await self._client.raw.chat(**chat_kwargs(model, messages, options))
            # aclosing: leaving early (Esc, Ctrl-C) must close the HTTP stream now, not at garbage
            # collection, so Ollama stops generating.
            async with aclosing(cast(AsyncGenerator[ollama.ChatResponse, None], parts)) as lines:
                async for part in lines:
                    message = part.message
                    if message.thinking:
                        for event in meter.thinking(message.thinking):
                            yield event
                    if message.content:
                        for event in meter.content(message.content):
                            yield event
                    if part.done:
                        final = part
                        break
        if final is None:
            raise StreamError(f"Ollama at {self._client.url} ended the reply from {model} early.",
                              hint="Check that Ollama is still running, then retry.")
        for event in meter.finish():
            yield event
        yield StreamDone(stats_from(final, meter))
