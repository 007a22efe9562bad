"""Streaming Markdown in segments, and the chat log folding what is far from view."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from core.chat.types import ContentDelta
from tests.tui.conftest import screen_text, wait_for
from tui.widgets.chat.log import ChatLog
from tui.widgets.chat.markdown import StreamingMarkdown
from tui.widgets.chat.markdown_cuts import FenceTracker, split_markdown
from tui.widgets.chat.message import ReplyView

CHAT_CSS = Path(__file__).resolve().parents[2] / "tui" / "styles" / "chat.tcss"
DOC = (
    "# Title\n\nA paragraph with `code` and 中文 😀.\n\n"
    "```python\ndef f(x):\n\n    return x\n```\n\n"
    "- item one\n\n  continued item text\n- item two\n\n"
    "~~~\nfenced with tildes\n\n~~~\n\n"
    "Last paragraph.\n"
)


def long_doc(sections: int) -> str:
    parts = []
    for i in range(sections):
        parts.append(f"## Section {i}\n\nSome words for section {i}, 模型 {i}.\n\n"
                     f"```\ncode {i}\n\nmore code {i}\n```\n\n- a {i}\n- b {i}\n\n")
    return "".join(parts)


def _points_in_fences(text: str, points: list[int]) -> list[int]:
    inside, bad = False, []
    offset = 0
    for line in text.splitlines(keepends=True):
        if offset in points and inside:
            bad.append(offset)
        if line.lstrip(" ").startswith(("```", "~~~")):
            inside = not inside
        offset += len(line)
    return bad


def test_split_points_are_outside_fences_and_after_blank_lines() -> None:
    points = FenceTracker().feed(DOC)
    assert points, "there are places to split"
    assert _points_in_fences(DOC, points) == []
    for p in points:
        if p:
            assert DOC[p - 2:p] == "\n\n" and not DOC[p].isspace()
    # "  continued item text" continues a list item: never a split point.
    assert DOC.index("  continued") not in points


def test_split_points_do_not_depend_on_how_the_text_is_chunked() -> None:
    text = long_doc(30)
    whole = FenceTracker().feed(text)
    rnd = random.Random(7)
    tracker, found, pos = FenceTracker(), [], 0
    while pos < len(text):
        n = rnd.randint(1, 9)
        found += [pos + p for p in tracker.feed(text[pos:pos + n])]
        pos += n
    assert found == whole


def test_finished_markdown_is_cut_into_pieces_that_join_back() -> None:
    text = long_doc(40)
    pieces = split_markdown(text, segment_chars=300)
    assert "".join(pieces) == text
    assert len(pieces) > 5
    assert all(len(p) >= 300 for p in pieces[:-1])
    for piece in pieces[1:]:
        start = text.index(piece)
        assert text[start - 2:start] == "\n\n" and not piece[0].isspace()


class Harness(App[None]):
    def __init__(self, markdown: StreamingMarkdown) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with ChatLog():
            yield self.markdown


class LogApp(App[None]):
    """An empty chat log with the chat screen's styles, for replies mounted by the test."""

    CSS_PATH = CHAT_CSS

    def compose(self) -> ComposeResult:
        yield ChatLog()


@pytest.mark.parametrize("live_rows", [10_000, 4], ids=["drawn as it comes", "bursts fold"])
async def test_streamed_in_pieces_every_character_lands_once(live_rows: int) -> None:
    text = long_doc(25)
    markdown = StreamingMarkdown(segment_chars=400, flush_every=0.005, live_rows=live_rows)
    folded_heads: list[str] = []
    fold_into_run = markdown._fold_into_run

    async def spy(head: str) -> None:
        folded_heads.append(head)
        await fold_into_run(head)

    markdown._fold_into_run = spy  # type: ignore[method-assign]
    started: list[str] = []
    start_segment = markdown._start_segment

    async def count(piece: str) -> None:
        started.append(piece)
        await start_segment(piece)

    markdown._start_segment = count  # type: ignore[method-assign]
    app = Harness(markdown)
    async with app.run_test(size=(80, 24)) as pilot:
        rnd = random.Random(3)
        pos = 0
        while pos < len(text):
            n = rnd.randint(1, 12)
            markdown.write(text[pos:pos + n])
            pos += n
            if rnd.random() < 0.2:
                await asyncio.sleep(0.003)  # let flushes interleave (pilot.pause would wait for quiet)
        await markdown.finish()
        assert markdown.text == text

        def whole() -> bool:  # once the log has put back the runs it cut (a run and its pieces swap places)
            return "".join(s.text for s in markdown.segments) == text

        await wait_for(pilot, whole)
        segments = markdown.segments
        if live_rows > 100:  # cut into several segments (folded neighbours far from view merge again)
            assert len(started) > 3
        else:  # flushes of more than 4 rows: their heads (and the segment they continue) folded undrawn
            assert folded_heads
        # Each segment's widget took exactly its share: nothing lost, nothing drawn twice.
        assert "".join(s.text for s in segments) == text
        assert all(not s.busy for s in segments)


async def test_a_long_reply_folds_what_is_far_and_unfolds_it_on_the_way_back() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(ChatLog)
        reply = ReplyView("test-model")
        await log.mount(reply)
        reply.answer.segment_chars = 300
        reply.answer.live_rows = 10_000  # drawn as it comes, however fast: the log does the folding here
        log.anchor()
        text = long_doc(60)
        for i in range(0, len(text), 40):
            reply.feed(ContentDelta(text[i:i + 40]))
            if i % 400 == 0:
                await asyncio.sleep(0.01)
        await reply.finish("complete")
        await wait_for(pilot, lambda: log.folds_done > 0)
        folded = [s for s in reply.answer.segments if s.folded]
        assert folded, "segments far above the bottom are folded"
        assert all(not s.children for s in folded)  # their blocks are gone from the DOM
        assert not reply.answer.segments[-1].folded
        assert "Section 59" in screen_text(app)
        height = log.virtual_size.height
        log.scroll_home(animate=False)
        await wait_for(pilot, lambda: not reply.answer.segments[0].folded)
        await pilot.pause(0.2)
        assert "Section 0" in screen_text(app)
        assert log.virtual_size.height == height  # folding kept every height: nothing jumped
        # Now the bottom is far away and gets folded in turn.
        await wait_for(pilot, lambda: reply.answer.segments[-1].folded)


async def test_a_burst_draws_only_what_is_seen_and_the_rest_when_scrolled_to() -> None:
    """Text arriving far faster than it can be read starts folded; whatever is on screen is drawn."""

    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(ChatLog)
        reply = ReplyView("test-model")
        await log.mount(reply)
        log.anchor()
        text = long_doc(150)  # about 20,000 characters, written in five big bursts
        step = len(text) // 5 + 1
        for i in range(0, len(text), step):
            reply.feed(ContentDelta(text[i:i + step]))
            await asyncio.sleep(0.05)
        await reply.finish("complete")
        assert reply.content == text

        def drawn_in_view() -> bool:
            view = log.content_region
            seen = [s for s in reply.answer.segments if s.region.height and s.region.overlaps(view)]
            return bool(seen) and all(not s.folded and s.children for s in seen)

        await wait_for(pilot, drawn_in_view, timeout=30)  # generous: a loaded CI box draws slowly
        assert "Section 149" in screen_text(app)
        segments = reply.answer.segments
        assert any(s.folded for s in segments), "most of the burst was never drawn"
        # The end was drawn without cutting every run into pieces: a handful of segments.
        assert len(segments) < len(split_markdown(text)) // 2
        assert sum(len(s.children) for s in segments) < 400  # far fewer blocks than 150 sections make
        # Scrolled to the middle, the text there is drawn (from its source) and shows.
        log.scroll_to(y=log.max_scroll_y // 2, animate=False)

        def middle_shows() -> bool:  # drawn, and the compositor has painted it (a frame later)
            shown = screen_text(app)
            return drawn_in_view() and ("Section" in shown or "code" in shown)

        await wait_for(pilot, middle_shows, timeout=30)  # generous: a loaded CI box draws slowly
        log.scroll_home(animate=False)
        await wait_for(pilot, lambda: drawn_in_view() and "Section 0" in screen_text(app), timeout=30)
