"""Shared chat pieces: which past messages a request sends, timing, error bodies, backend choice."""

from __future__ import annotations

import pytest

from core.chat.backend_for import backend_for
from core.chat.backends import ReplyMeter, error_text, request_messages
from core.chat.types import ChatMessage, ContentDelta, ContentWasThinking, StoredMessage, ThinkingDelta
from core.config import HostConfig
from core.errors import ChatError


def msg(i: int, role: str, content: str, status: str = "complete") -> StoredMessage:
    return StoredMessage(id=i, session_id=1, role=role, content=content, thinking="t", status=status,
                         created_at=0.0, updated_at=0.0)


HISTORY = [
    msg(1, "user", "q1"), msg(2, "assistant", "a1"),
    msg(3, "user", "q2"), msg(4, "assistant", "a2 (cut)", "stopped"),
    msg(5, "user", "q3"), msg(6, "assistant", "", "error"),  # broke before a word
    msg(7, "user", "q4"),
]


def test_everything_is_sent_without_a_limit_but_empty_broken_replies() -> None:
    sent = request_messages("Be brief.", HISTORY)
    assert sent == [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "q1"), ChatMessage("assistant", "a1"),
        ChatMessage("user", "q2"), ChatMessage("assistant", "a2 (cut)"),
        ChatMessage("user", "q3"), ChatMessage("user", "q4"),
    ]
    assert all(m.thinking == "" for m in sent)  # reasoning is never sent back


@pytest.mark.parametrize(
    ("limit", "contents"),
    [
        (1, ["q4"]),
        (2, ["q3", "q4"]),
        (3, ["q3", "q4"]),  # would start with a reply whose prompt is cut off
        (4, ["q2", "a2 (cut)", "q3", "q4"]),
        (100, ["q1", "a1", "q2", "a2 (cut)", "q3", "q4"]),
    ],
)
def test_history_limit_keeps_the_last_turns(limit: int, contents: list[str]) -> None:
    sent = request_messages("", HISTORY, limit)
    assert [m.content for m in sent] == contents  # no system message when there is no system prompt


class Tick:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def test_meter_times_the_first_token_of_either_kind() -> None:
    meter = ReplyMeter(Tick(100.0, 100.7, 101.5))
    assert meter.content("") == [] and meter.ttft is None  # empty pieces are not tokens
    assert meter.thinking("hmm") == [ThinkingDelta("hmm")]
    assert meter.ttft == pytest.approx(0.7)
    assert meter.content("Hi") == [ContentDelta("Hi")]
    assert meter.ttft == pytest.approx(0.7)
    assert meter.elapsed() == pytest.approx(1.5)


def test_meter_splits_inline_reasoning_until_the_server_sends_its_own() -> None:
    meter = ReplyMeter(Tick(0.0, 0.1))
    # one chunk holding both: the reasoning is moved before it was ever shown as answer
    assert meter.content("so</think>A") == [ContentWasThinking("so"), ContentDelta("A")]
    meter2 = ReplyMeter(Tick(0.0, 0.1, 0.2))
    meter2.thinking("native")
    assert meter2.content("the tag </think> is text") == [ContentDelta("the tag </think> is text")]


def test_meter_starts_inside_thinking_when_told() -> None:
    meter = ReplyMeter(Tick(0.0, 0.1), starts_in_thinking=True)
    assert meter.content("plan</think>\n\nDone") == [ThinkingDelta("plan"), ContentDelta("Done")]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"error": "model 'x' not found"}, "model 'x' not found"),  # Ollama
        ({"error": {"code": 400, "message": "context too long", "type": "invalid_request_error"}},
         "context too long"),  # llama-server
        ({"object": "error", "message": "The model `x` does not exist.", "code": 404},
         "The model `x` does not exist."),  # vLLM
        ({"detail": [{"loc": ["body"], "msg": "field required"}]}, "field required"),  # FastAPI
        ({"detail": "Not Found"}, "Not Found"),
        ("plain text", "plain text"),
        ({}, None),
        (None, None),
    ],
)
def test_error_text_from_every_server_shape(body: object, text: str | None) -> None:
    assert error_text(body) == text


def test_unknown_kind_is_a_sentence() -> None:
    with pytest.raises(ChatError, match="chat works with"):
        backend_for(HostConfig(name="x", url="http://x", kind="grpc"))
