"""A reply streaming at a GPU's pace: finished blocks are drawn once, the live tail shows the rest.

The test drives the flushes itself (a flush interval no timer reaches), so
what happens between two flushes is decided here, not by the clock.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from rich.cells import cell_len
from textual.widget import Widget
from textual.widgets.markdown import MarkdownBlock

from core.chat.types import ContentDelta
from tests.tui.conftest import screen_text, wait_for
from tests.tui.test_chat_markdown import LogApp, long_doc
from tui.widgets.chat import markdown as markdown_module
from tui.widgets.chat.live_tail import ROWS, LiveTail, last_rows
from tui.widgets.chat.log import ChatLog
from tui.widgets.chat.message import ReplyView
from tui.widgets.chat.segment import Segment

NEVER = 10_000.0  # a flush interval no timer reaches: the test flushes


def test_last_rows_counts_wide_characters_twice_and_says_when_text_overflows() -> None:
    rows, more = last_rows("模型" * 10, 10, 3)  # 40 cells at 10 a row
    assert rows == ["模型模型模", "型模型模型", "模型模型模", "型模型模型"][-3:] and more
    assert all(cell_len(row) <= 10 for row in rows)
    rows, more = last_rows("one\ntwo", 80, 3)
    assert rows == ["one", "two"] and not more
    rows, more = last_rows("a\n\nb\nc", 80, 3)
    assert rows == ["", "b", "c"] and more


class RenderCount:
    """How often each block widget's content was rendered (Textual caches the lines otherwise)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: Counter[int] = Counter()
        original = Widget._render_content

        def counted(widget: Widget) -> Any:
            if isinstance(widget, MarkdownBlock):
                self.counts[id(widget)] += 1
            return original(widget)

        monkeypatch.setattr(Widget, "_render_content", counted)

    def of(self, blocks: list[MarkdownBlock]) -> dict[int, int]:
        return {id(block): self.counts[id(block)] for block in blocks}


def _finished_blocks(reply: ReplyView) -> list[MarkdownBlock]:
    """Blocks that take no more text: all but the last block of the segment taking text."""
    blocks: list[MarkdownBlock] = []
    for segment in reply.answer.segments:
        blocks += [b for b in segment.query(MarkdownBlock) if b.is_mounted and b.region.height]
    last = reply.answer.segments[-1]
    tops = [b for b in last.children if isinstance(b, MarkdownBlock)]
    growing = set(tops[-1].query(MarkdownBlock)) | {tops[-1]} if tops else set()
    return [b for b in blocks if b not in growing]


async def test_a_paced_stream_never_renders_a_finished_block_again(monkeypatch: pytest.MonkeyPatch) -> None:
    renders = RenderCount(monkeypatch)
    app = LogApp()
    async with app.run_test(size=(100, 60)) as pilot:
        log = app.query_one(ChatLog)
        reply = ReplyView("test-model")
        reply.answer.flush_every = NEVER
        log.styles.overflow_y = "scroll"  # a scrollbar that comes midway would narrow (and redraw) all
        await log.mount(reply)
        log.anchor()
        text = long_doc(12)
        step = 37  # about the text a GPU sends between two draws
        flushes_since_finished: Counter[int] = Counter()
        for start in range(0, len(text), step):
            reply.feed(ContentDelta(text[start:start + step]))
            await reply.answer.flush()
            await pilot.pause()
            for block in _finished_blocks(reply):
                flushes_since_finished[id(block)] += 1
        await reply.finish("complete")
        await pilot.pause()
        assert reply.content == text
        assert "Section 11" in screen_text(app)
    # Each block is rendered when it first shows, and at most once more: by the flush that finished
    # it (its last words). Flushes after that, however many, never render it again.
    long_lived = [b for b, n in flushes_since_finished.items() if n >= 10]
    assert len(long_lived) > 10  # many blocks stayed on screen through many more flushes
    assert max(renders.counts[b] for b in long_lived) <= 2
    assert min(renders.counts[b] for b in long_lived) >= 1


async def test_the_live_tail_shows_what_is_not_drawn_yet_and_leaves_at_the_end() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(ChatLog)
        reply = ReplyView("test-model")
        reply.answer.flush_every = NEVER
        await log.mount(reply)
        log.anchor()
        reply.feed(ContentDelta("First paragraph, drawn.\n\n"))
        await wait_for(pilot, lambda: reply.answer.idle)  # the first words are drawn at once
        reply.feed(ContentDelta("Words still arriving 中文"))
        tail = reply.answer.query_one(LiveTail)
        await wait_for(pilot, lambda: "Words still arriving 中文" in screen_text(app))
        assert not any("Words still" in s.text for s in reply.answer.segments)  # only in the tail
        assert tail.region.height == ROWS
        await reply.answer.flush()
        await wait_for(pilot, lambda: any("Words still" in s.text for s in reply.answer.segments))
        await reply.finish("complete")
        await pilot.pause()
        assert not reply.answer.query(LiveTail)  # the strip goes with the stream
        assert "Words still arriving 中文" in screen_text(app)
        assert reply.content == "First paragraph, drawn.\n\nWords still arriving 中文"


async def test_more_than_the_tail_can_show_draws_the_markdown_sooner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(markdown_module, "SOONEST_FLUSH", 0.0)
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(ChatLog)
        reply = ReplyView("test-model")
        reply.answer.flush_every = NEVER
        await log.mount(reply)
        reply.feed(ContentDelta("Start.\n\n"))
        await wait_for(pilot, lambda: reply.answer.idle)  # the first words are drawn at once
        reply.feed(ContentDelta("one line\n"))
        await pilot.pause()
        assert reply.answer._pending  # fits the tail: waits for the (never) flush
        for i in range(ROWS + 2):
            reply.feed(ContentDelta(f"line {i}\n"))
        # The tail overflows at its next repaint and asks for a flush: the text reaches the Markdown.
        await wait_for(pilot, lambda: not reply.answer._pending)
        assert any(f"line {ROWS + 1}" in s.text for s in reply.answer.segments)
        await reply.finish("complete")


async def test_an_unlabelled_code_block_is_shown_without_guessing_its_language(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import textual.highlight

    def no_guess(*args: object, **kwargs: object) -> str:
        raise AssertionError("pygments guessed a language")

    monkeypatch.setattr(textual.highlight, "guess_language", no_guess)
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(ChatLog)
        reply = ReplyView("test-model")
        await log.mount(reply)
        reply.feed(ContentDelta("```\nSELECT * FROM models;\n```\n\n```python\nx = 1\n```\n"))
        await reply.finish("complete")
        await wait_for(pilot, lambda: "SELECT * FROM models;" in screen_text(app))
        assert "x = 1" in screen_text(app)
        assert all(isinstance(s, Segment) for s in reply.answer.segments)
