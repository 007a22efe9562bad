"""A streamed chat through the OpenAI-compatible backend against the real llama-server.

The server serves the tiny GGUF (random weights, a real chat template), so the
words are noise but the protocol is the real one: SSE chunks, `[DONE]`, the
`timings` object in the last chunk, and `usage`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from core.chat.backend_for import backend_for
from core.chat.history import HistoryStore
from core.chat.session import ChatSession
from core.chat.types import ChatMessage, ChatOptions, ContentDelta, StreamDone
from core.config import HostConfig
from core.errors import ModelNotFound, OllamaError
from tests.support.llama_server import llama_server as running_llama_server
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def llama_server(tiny_gguf_f16: Path, llamacpp_tools: LlamaCppTools,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real llama-server on a free port; its log is kept for the failure message."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with running_llama_server(llamacpp_tools, tiny_gguf_f16, ["-c", "1024", "-np", "1", "-t", "2"], log,
                              timeout=60) as url:
        yield url


async def test_streamed_chat_with_timings(llama_server: str) -> None:
    host = HostConfig(name="llama-server", url=llama_server, kind="openai")
    backend = backend_for(host)
    store = HistoryStore.open()
    try:
        session = ChatSession.start(store, backend, model="tiny", system_prompt="You are terse.",
                                    options=ChatOptions(seed=1, temperature=0.8, num_predict=24))
        events = []
        reply = session.send("Hello, tiny model! 你好")
        async with reply:
            async for event in reply:
                events.append(event)

        deltas = [e for e in events if isinstance(e, ContentDelta)]
        assert len(deltas) >= 2, events  # streamed, not one blob
        assert isinstance(events[-1], StreamDone)
        stats = events[-1].stats
        assert reply.status == "complete" and reply.content == "".join(d.text for d in deltas)
        # llama-server's own counters, from the `timings` of the last chunk
        assert stats.prompt_tokens is not None and stats.prompt_tokens > 5
        assert stats.prompt_s is not None and stats.prompt_s > 0
        assert stats.output_tokens is not None and 2 <= stats.output_tokens <= 24
        assert stats.output_s is not None and stats.output_s > 0
        assert stats.output_tps is not None and stats.output_tps > 0
        assert stats.ttft_s is not None and 0 < stats.ttft_s <= stats.wall_s  # type: ignore[operator]
        assert stats.done_reason in ("length", "stop")

        saved = store.messages(session.id)
        assert [m.role for m in saved] == ["user", "assistant"]
        assert saved[1].status == "complete" and saved[1].content == reply.content
        assert saved[1].stats == stats

        # A second turn sends the first as history; the server reuses its cache.
        again = session.send("And again?")
        async with again:
            async for _ in again:
                pass
        assert again.status == "complete" and again.stats is not None
        assert again.stats.cached_tokens is not None and again.stats.cached_tokens > 0
    finally:
        await backend.aclose()
        store.close()


async def test_a_bad_request_is_a_sentence_not_a_traceback(llama_server: str) -> None:
    backend = backend_for(HostConfig(name="llama-server", url=llama_server, kind="openai"))
    try:
        with pytest.raises(OllamaError) as caught:
            # 5000 tokens of prompt in a 1024-token context: llama-server refuses with 400
            async for _ in backend.stream("tiny", [ChatMessage("user", "word " * 5000)], ChatOptions()):
                pass
        assert not isinstance(caught.value, ModelNotFound)
        assert "llama-server" in str(caught.value) and "(400)" in str(caught.value)
    finally:
        await backend.aclose()


def test_cli_streams_from_llama_server(llama_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["chat", "tiny", "Say something", "--host", f"{llama_server}/v1", "--verbose",
                 "--num-predict", "8", "--seed", "1"])
    out, err = capsys.readouterr()
    assert code == 0 and out.strip()
    lines = err.splitlines()
    assert any(line.startswith("prompt eval rate:") and line.endswith("tokens/s") for line in lines)
    assert "eval count:           8 token(s)" in lines
    with HistoryStore.open() as store:
        (session,) = store.sessions()
        assert session.host == f"{llama_server}/v1" and session.model == "tiny"
        assert store.messages(session.id)[1].status == "complete"
