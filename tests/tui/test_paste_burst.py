"""Enter inside a paste typed as keys (no bracketed paste) is a line break, not a send.

The decision is driven with made-up timestamps: nothing here depends on how
fast this machine runs the test.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual import events

from core.config import Settings
from tests.tui.chat_support import chat_app, finished, open_chat, stored
from tests.tui.conftest import wait_for
from tui.widgets.chat.input import ChatInput
from tui.widgets.chat.paste_burst import PasteBurst

MS = 0.001


def test_a_hand_typed_enter_sends_at_once() -> None:
    burst = PasteBurst()
    assert burst.key(0.0, printable=True) is None
    assert burst.enter(0.150) == (None, "send")  # 150 ms after the last letter
    assert burst.enter(10.0) == (None, "send")  # nothing typed at all


def test_enter_inside_a_burst_is_a_new_line() -> None:
    burst = PasteBurst()
    for i, printable in enumerate([True, True, True]):
        assert burst.key(i * 0.01 * MS, printable=printable) is None
    assert burst.enter(0.05 * MS) == (None, "newline")
    assert burst.enter(0.06 * MS) == (None, "newline")  # an empty line in the paste
    assert burst.key(0.07 * MS, printable=True) is None
    assert burst.enter(0.08 * MS) == (None, "newline")  # a trailing line break stays a line break


def test_an_enter_at_a_read_boundary_waits_for_what_follows() -> None:
    burst = PasteBurst()
    burst.key(0.0, printable=True)
    assert burst.enter(20 * MS) == (None, "wait")  # 20 ms: too slow for a burst, too fast for a hand
    assert burst.waiting
    assert burst.key(20.01 * MS, printable=True) == "newline"  # the paste went on
    assert not burst.waiting

    burst.key(1.0, printable=True)
    assert burst.enter(1.0 + 20 * MS) == (None, "wait")
    assert burst.settled() == "send"  # nothing followed
    assert burst.settled() is None

    burst.key(2.0, printable=True)
    assert burst.enter(2.0 + 20 * MS) == (None, "wait")
    assert burst.key(2.5, printable=True) == "send"  # typed later: the Enter was meant
    burst.key(3.0, printable=True)
    assert burst.enter(3.0 + 20 * MS) == (None, "wait")
    assert burst.key(3.0 + 21 * MS, printable=False) == "send"  # an arrow key is not pasted text


@pytest.mark.parametrize(("gap_ms", "verdict"), [(0.01, "newline"), (9, "newline"), (10, "wait"),
                                                  (29, "wait"), (30, "send"), (500, "send")])
def test_the_gaps(gap_ms: float, verdict: str) -> None:
    burst = PasteBurst()
    burst.key(0.0, printable=True)
    assert burst.enter(gap_ms * MS)[1] == verdict


class MadeUpTimes:
    """Key times for the prompt box: `step` seconds apart, whatever the machine's speed."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 100.0

    def __call__(self, event: events.Key) -> float:
        self.now += self.step
        return self.now


def chats(fake: Any) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in fake.requests if r.path == "/api/chat"]


async def test_a_paste_typed_as_keys_sends_nothing(fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        prompt = screen.prompt
        prompt.focus()
        prompt.key_time = MadeUpTimes(0.05 * MS)  # a terminal typing a paste: keys 50 µs apart
        sent: list[str] = []
        original = prompt.post_message

        def watch(message: Any) -> bool:
            if isinstance(message, ChatInput.Submitted):
                sent.append(message.text)
            return original(message)

        prompt.post_message = watch  # type: ignore[method-assign]
        await pilot.press(*"line1", "enter", *"line2", "enter", "enter", *"line3", "enter")
        assert prompt.text == "line1\nline2\n\nline3\n"
        assert sent == [] and chats(fake_ollama) == []

        prompt.key_time = MadeUpTimes(0.5)  # now a hand: half a second a key
        await pilot.press("enter")
        await wait_for(pilot, lambda: chats(fake_ollama) != [])
        await finished(pilot, screen)
        assert sent == ["line1\nline2\n\nline3\n"]  # one prompt, all of it
        assert stored(screen)[0].content == "line1\nline2\n\nline3\n"


async def test_an_enter_at_a_read_boundary_becomes_a_line_when_text_follows(
        fake_ollama: Any, settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot, "llama3.2:latest")
        prompt = screen.prompt
        prompt.focus()
        prompt._burst.settle = 3600.0  # the wait never runs out by itself here: the next key decides
        prompt.key_time = MadeUpTimes(0.02)  # 20 ms apart: each Enter waits for the next key
        await pilot.press(*"ab", "enter", *"cd")
        assert prompt.text == "ab\ncd" and chats(fake_ollama) == []
