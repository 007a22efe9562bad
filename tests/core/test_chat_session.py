"""A conversation against the fake Ollama: saved as it streams, stopped, broken, retried, never lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.chat.history import HistoryStore
from core.chat.ollama import OllamaChatBackend
from core.chat.session import ChatSession, ReplyStream
from core.chat.types import ChatEvent, ChatOptions, ContentDelta, StreamDone, StreamFailed
from core.config import HostConfig
from core.errors import ChatError
from tests.fakes.fake_ollama import FakeOllama


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store() -> HistoryStore:
    s = HistoryStore.open()
    yield s  # type: ignore[misc]
    s.close()


@pytest.fixture
async def backend(fake_ollama: FakeOllama) -> AsyncIterator[OllamaChatBackend]:
    b = OllamaChatBackend(HostConfig(name="fake", url=fake_ollama.url))
    yield b
    await b.aclose()


async def drain(reply: ReplyStream) -> list[ChatEvent]:
    async with reply:
        return [event async for event in reply]


async def test_prompt_is_saved_when_sent_and_reply_when_done(store: HistoryStore,
                                                             backend: OllamaChatBackend) -> None:
    session = ChatSession.start(store, backend, model="qwen3:8b", system_prompt="Be kind.")
    reply = session.send("你好，请介绍一下你自己")
    saved = store.messages(session.id)  # before a single event was read
    assert [(m.role, m.content, m.status) for m in saved] == [
        ("user", "你好，请介绍一下你自己", "complete"), ("assistant", "", "streaming")]
    assert store.session(session.id).title == "你好，请介绍一下你自己"

    events = await drain(reply)
    assert isinstance(events[-1], StreamDone)
    final = store.message(reply.message_id)
    assert (final.status, final.content, final.thinking) == ("complete", "Hello! How can I help?",
                                                             "The user greets me.")
    assert final.stats == events[-1].stats and final.model == "qwen3:8b"
    assert reply.content == final.content and reply.status == "complete"


async def test_reply_is_written_while_it_streams(store: HistoryStore, backend: OllamaChatBackend,
                                                 fake_ollama: FakeOllama) -> None:
    fake_ollama.set_script(chunks=[f"w{i} " for i in range(12)], thinking=[])
    clock = ManualClock()
    session = ChatSession.start(store, backend, model="llama3.2", clock=clock, save_every=2.0)
    reply = session.send("count")
    seen_in_db = []
    async with reply:
        async for event in reply:
            if isinstance(event, ContentDelta):
                seen_in_db.append(store.message(reply.message_id).content)
                clock.t += 0.5  # four chunks every two seconds
    # A save once 2 s have passed (every 4th chunk), nothing in between: throttled, not per token.
    assert seen_in_db[:5] == ["", "", "", "", "w0 w1 w2 w3 w4 "]
    assert seen_in_db[7] == "w0 w1 w2 w3 w4 "
    assert seen_in_db[8] == "w0 w1 w2 w3 w4 w5 w6 w7 w8 "
    assert store.message(reply.message_id).status == "complete"


async def test_cancelling_the_consumer_keeps_the_partial_as_stopped(store: HistoryStore,
                                                                    backend: OllamaChatBackend,
                                                                    fake_ollama: FakeOllama) -> None:
    fake_ollama.set_script(chunks=[f"w{i} " for i in range(500)], thinking=[], hold_after=20)
    session = ChatSession.start(store, backend, model="llama3.2")
    reply = session.send("go on forever")
    five = asyncio.Event()

    async def worker() -> None:  # what the chat screen's @work(exclusive=True) worker does
        async with reply:
            count = 0
            async for event in reply:
                if isinstance(event, ContentDelta):
                    count += 1
                    if count == 5:
                        five.set()
                await asyncio.sleep(0)  # the screen awaits its Markdown stream here

    task = asyncio.create_task(worker())
    await five.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    saved = store.message(reply.message_id)
    assert saved.status == "stopped" and reply.status == "stopped"
    assert saved.content == reply.content and saved.content.startswith("w0 w1 w2 w3 w4 ")
    assert len(saved.content.split()) < 500
    for _ in range(150):  # the connection is closed, so the server stops generating
        if not fake_ollama._conns:
            break
        await asyncio.sleep(0.02)
    assert not fake_ollama._conns


async def test_leaving_the_block_early_is_a_stop(store: HistoryStore, backend: OllamaChatBackend,
                                                 fake_ollama: FakeOllama) -> None:
    fake_ollama.set_script(chunks=["a", "b", "c", "d"], thinking=[])
    session = ChatSession.start(store, backend, model="llama3.2")
    reply = session.send("x")
    async with reply:
        async for event in reply:
            if isinstance(event, ContentDelta) and event.text == "b":
                break
    saved = store.message(reply.message_id)
    assert (saved.status, saved.content) == ("stopped", "ab")


async def test_dropped_stream_keeps_partial_and_retry_replaces_it(store: HistoryStore,
                                                                  backend: OllamaChatBackend,
                                                                  fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/chat", drop_after=5, times=1)
    session = ChatSession.start(store, backend, model="qwen3:8b")
    reply = session.send("hi")
    events = await drain(reply)
    failed = events[-1]
    assert isinstance(failed, StreamFailed) and failed.retryable and not failed.prompt_withdrawn
    assert "dropped" in failed.message
    broken = store.message(reply.message_id)
    assert (broken.status, broken.thinking, broken.content) == ("error", "The user greets me.", "Hello!")
    assert broken.error == failed.message

    again = session.retry()
    assert isinstance((await drain(again))[-1], StreamDone)
    msgs = store.messages(session.id)
    assert [(m.role, m.status) for m in msgs] == [("user", "complete"), ("assistant", "complete")]
    assert msgs[1].content == "Hello! How can I help?"
    assert sum(1 for r in fake_ollama.requests if r.path == "/api/chat") == 2
    assert fake_ollama.requests[-1].body["messages"] == [{"role": "user", "content": "hi"}]


async def test_server_down_withdraws_the_prompt(store: HistoryStore, backend: OllamaChatBackend,
                                                fake_ollama: FakeOllama) -> None:
    session = ChatSession.start(store, backend, model="llama3.2")
    await drain(session.send("first"))
    with fake_ollama.refusing():
        events = await drain(session.send("second, while the server is down"))
    failed = events[-1]
    assert isinstance(failed, StreamFailed) and failed.retryable and failed.prompt_withdrawn
    assert "not running" in failed.message
    assert [m.content for m in store.messages(session.id)] == ["first", "Hello! How can I help?"]
    # the UI sends the same prompt again once the server is back
    assert isinstance((await drain(session.send("second, while the server is down")))[-1], StreamDone)
    assert len(store.messages(session.id)) == 4


async def test_unknown_model_is_not_retryable(store: HistoryStore, backend: OllamaChatBackend) -> None:
    session = ChatSession.start(store, backend, model="nope:1b")
    failed = (await drain(session.send("hi")))[-1]
    assert isinstance(failed, StreamFailed) and not failed.retryable and failed.prompt_withdrawn
    assert "nope:1b" in failed.message and store.messages(session.id) == []


async def test_retry_of_a_failure_before_any_text_keeps_the_prompt(store: HistoryStore,
                                                                    backend: OllamaChatBackend,
                                                                    fake_ollama: FakeOllama) -> None:
    session = ChatSession.start(store, backend, model="llama3.2")
    fake_ollama.add_fault(path="/api/chat", drop_after=5, times=1)
    await drain(session.send("hi"))
    fake_ollama.add_fault(path="/api/chat", drop_after=0, times=1)
    failed = (await drain(session.retry()))[-1]
    assert isinstance(failed, StreamFailed) and not failed.prompt_withdrawn
    assert [m.role for m in store.messages(session.id)] == ["user"]  # the prompt stays, ready to retry
    assert isinstance((await drain(session.retry()))[-1], StreamDone)


async def test_edit_last_prompt_and_resend(store: HistoryStore, backend: OllamaChatBackend,
                                           fake_ollama: FakeOllama) -> None:
    session = ChatSession.start(store, backend, model="llama3.2")
    await drain(session.send("frist try"))
    await drain(session.edit_last("first try"))
    msgs = store.messages(session.id)
    assert [(m.role, m.content) for m in msgs] == [("user", "first try"),
                                                   ("assistant", "Hello! How can I help?")]
    assert fake_ollama.requests[-1].body["messages"][-1]["content"] == "first try"


async def test_history_limit_and_system_prompt(store: HistoryStore, backend: OllamaChatBackend,
                                               fake_ollama: FakeOllama) -> None:
    session = ChatSession.start(store, backend, model="llama3.2", system_prompt="Terse.",
                                options=ChatOptions(history_limit=3))
    for prompt in ("one", "two", "three"):
        await drain(session.send(prompt))
    sent = fake_ollama.requests[-1].body["messages"]
    assert [m["content"] for m in sent] == ["Terse.", "two", "Hello! How can I help?", "three"]
    session.configure(options=ChatOptions(history_limit=1), system_prompt="")
    await drain(session.send("four"))
    assert fake_ollama.requests[-1].body["messages"] == [{"role": "user", "content": "four"}]
    assert store.session(session.id).options.history_limit == 1


async def test_late_reasoning_is_stored_as_reasoning(store: HistoryStore, backend: OllamaChatBackend,
                                                     fake_ollama: FakeOllama) -> None:
    fake_ollama.set_script("deepseek-r1:7b", chunks=["Okay, ", "the user", "</think>", "\n\nHi!"])
    session = ChatSession.start(store, backend, model="deepseek-r1:7b")
    reply = session.send("hi")
    await drain(reply)
    saved = store.message(reply.message_id)
    assert (saved.thinking, saved.content) == ("Okay, the user", "Hi!")


async def test_a_megabyte_paste_goes_through(store: HistoryStore, backend: OllamaChatBackend,
                                             fake_ollama: FakeOllama) -> None:
    paste = ("日志 line with some words\n" * 40_000)[:1_000_000]
    session = ChatSession.start(store, backend, model="llama3.2")
    assert isinstance((await drain(session.send(paste)))[-1], StreamDone)
    assert store.messages(session.id)[0].content == paste
    assert fake_ollama.requests[-1].body["messages"][-1]["content"] == paste
    assert len(store.session(session.id).title) <= 61


async def test_empty_prompt_and_nothing_to_retry(store: HistoryStore, backend: OllamaChatBackend) -> None:
    session = ChatSession.start(store, backend, model="llama3.2")
    with pytest.raises(ChatError, match="empty"):
        session.send("  \n ")
    with pytest.raises(ChatError, match="no message to answer"):
        session.retry()


async def test_resume_continues_a_stored_conversation(store: HistoryStore, backend: OllamaChatBackend,
                                                      fake_ollama: FakeOllama) -> None:
    first = ChatSession.start(store, backend, model="llama3.2")
    await drain(first.send("remember 7"))
    later = ChatSession.resume(store, backend, first.id)
    await drain(later.send("what number?"))
    sent = fake_ollama.requests[-1].body["messages"]
    assert [m["content"] for m in sent] == ["remember 7", "Hello! How can I help?", "what number?"]
