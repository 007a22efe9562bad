"""Splitting a model's reasoning from its answer while the reply streams.

Reasoning models that predate Ollama's `message.thinking` field (the
DeepSeek-R1 distills, QwQ) write it inline: `<think>...</think>` and then the
answer. A tag can arrive cut in two (`<thi` + `nk>`), so the splitter holds
back a tail that could still become a tag and decides once the next chunk
comes. Some chat templates put `<think>` into the prompt, so the reply shows
only the closing tag: told so (`starts_inside=True`), the splitter starts in
reasoning; not told, it notices the lone `</think>` and reports, once, that
what looked like answer was reasoning (`ContentWasThinking`).

Only the first reasoning block is recognised, and `<think>` only before any
answer text: an answer that talks *about* the tags is left alone.
"""

from __future__ import annotations

import re
from enum import Enum

from core.chat.types import ContentDelta, ContentWasThinking, ThinkingDelta

OPEN = "<think>"
CLOSE = "</think>"
_NEWLINES = "\r\n"

SplitEvent = ContentDelta | ThinkingDelta | ContentWasThinking


class _State(Enum):
    START = "start"  # nothing but whitespace yet: a tag may still open (or close) reasoning
    THINKING = "thinking"  # inside a reasoning block
    UNTAGGED = "untagged"  # answer text, no tag seen: a lone </think> would make it reasoning
    ANSWER = "answer"  # settled: everything else is answer


_PASS_THROUGH = (_State.UNTAGGED, _State.ANSWER)  # states where text without "<" is answer as it is


def _held_tail(text: str, *tags: str) -> int:
    """Length of the longest end of `text` that is a proper start of one of `tags`.

    Every tag starts with "<", so only the last few "<" can start such an end;
    this runs once per streamed chunk, and most chunks have none.
    """
    start = max(0, len(text) - max(len(tag) for tag in tags) + 1)
    at = text.find("<", start)
    while at >= 0:  # the first candidate that fits is the longest
        tail = text[at:]
        if any(len(tail) < len(tag) and tag.startswith(tail) for tag in tags):
            return len(text) - at
        at = text.find("<", at + 1)
    return 0


class ThinkSplitter:
    """Incremental `<think>` splitter: feed content chunks, get answer and reasoning pieces."""

    def __init__(self, *, starts_inside: bool = False) -> None:
        self._state = _State.THINKING if starts_inside else _State.START
        self._pending = ""  # text held back because it may be the start of a tag
        self._block_start = starts_inside  # the reasoning block has shown nothing yet
        self._answer_start = False  # right after </think>: newlines before the answer are dropped
        self._lone_close_allowed = not starts_inside
        self._untagged: list[str] = []  # answer emitted while a lone </think> could still reclassify it

    def native_thinking_seen(self) -> None:
        """The server sends reasoning in its own field, so a lone `</think>` is just text."""
        self._lone_close_allowed = False
        if self._state is _State.UNTAGGED:
            self._state = _State.ANSWER
            self._untagged.clear()

    def feed(self, text: str) -> list[SplitEvent]:
        out: list[SplitEvent] = []
        if not text:
            return out
        if not self._pending and "<" not in text:
            # Nearly every chunk: no tag can start in it, so it is text of the current kind as it is.
            if self._state in _PASS_THROUGH:
                self._content(text, out)
                return out
            if self._state is _State.THINKING and not self._block_start:
                self._reasoning(text, out)
                return out
        buf = self._pending + text
        self._pending = ""
        while buf:
            if self._state is _State.START:
                buf = self._start(buf, out)
            elif self._state is _State.THINKING:
                buf = self._thinking(buf, out)
            elif self._state is _State.UNTAGGED:
                buf = self._untagged_answer(buf, out)
            else:
                self._content(buf, out)
                buf = ""
        return out

    def flush(self) -> list[SplitEvent]:
        """The stream ended: whatever was held back is plain text of the current kind."""
        rest, self._pending = self._pending, ""
        out: list[SplitEvent] = []
        if not rest:
            return out
        if self._state is _State.THINKING:
            self._reasoning(rest, out)
        else:
            self._content(rest, out)
        return out

    # -- states ---------------------------------------------------------------

    def _start(self, buf: str, out: list[SplitEvent]) -> str:
        body = buf.lstrip()
        if body.startswith(OPEN):
            self._state = _State.THINKING
            self._block_start = True
            return body[len(OPEN):]
        if self._lone_close_allowed and body.startswith(CLOSE):
            self._state = _State.ANSWER
            self._answer_start = True
            return body[len(CLOSE):]
        if not body or OPEN.startswith(body) or (self._lone_close_allowed and CLOSE.startswith(body)):
            self._pending = buf  # whitespace, or a tag still arriving
            return ""
        self._state = _State.UNTAGGED if self._lone_close_allowed else _State.ANSWER
        return buf

    def _thinking(self, buf: str, out: list[SplitEvent]) -> str:
        if self._block_start:
            body = buf.lstrip()
            if body.startswith(OPEN):  # the template did not open the block after all
                buf = body[len(OPEN):]
            elif body and OPEN.startswith(body):
                self._pending = buf
                return ""
        idx = buf.find(CLOSE)
        if idx >= 0:
            self._reasoning(buf[:idx], out)
            self._state = _State.ANSWER
            self._answer_start = True
            return buf[idx + len(CLOSE):]
        hold = _held_tail(buf, CLOSE)
        self._reasoning(buf[: len(buf) - hold], out)
        self._pending = buf[len(buf) - hold:]
        return ""

    def _untagged_answer(self, buf: str, out: list[SplitEvent]) -> str:
        idx = buf.find(CLOSE)
        opened = buf.find(OPEN)
        if opened >= 0 and (idx < 0 or opened < idx):  # the answer quotes the tags: not reasoning
            self._state = _State.ANSWER
            self._untagged.clear()
            return buf
        if idx >= 0:
            moved = "".join(self._untagged) + buf[:idx]
            self._untagged.clear()
            out.append(ContentWasThinking(moved))
            self._state = _State.ANSWER
            self._answer_start = True
            return buf[idx + len(CLOSE):]
        hold = _held_tail(buf, CLOSE, OPEN)
        emitted = buf[: len(buf) - hold]
        self._pending = buf[len(buf) - hold:]
        if emitted:
            self._untagged.append(emitted)
            out.append(ContentDelta(emitted))
        return ""

    # -- emitters -------------------------------------------------------------

    def _reasoning(self, text: str, out: list[SplitEvent]) -> None:
        if self._block_start:
            text = text.lstrip(_NEWLINES)
            if not text:
                return
            self._block_start = False
        if text:
            out.append(ThinkingDelta(text))

    def _content(self, text: str, out: list[SplitEvent]) -> None:
        if self._answer_start:
            text = text.lstrip(_NEWLINES)
            if not text:
                return
            self._answer_start = False
        if self._state is _State.UNTAGGED:
            self._untagged.append(text)
        out.append(ContentDelta(text))


_TEMPLATE_TAIL = re.compile(
    r"<think>(?:\\n|\s)*"  # the tag, then newlines (literal or escaped)
    r"(?:['\"]\s*-?\}\}(?:\\n|\s)*)?"  # ... perhaps inside a Jinja string: {{'<think>\n'}}
    r"(?:(?:\{%-?[^%]*-?%\}|\{\{-?\s*end\s*-?\}\}|\{\{-?\s*-?\}\})(?:\\n|\s)*)*$"  # closing template tags
)


def template_opens_thinking(template: str | None) -> bool:
    """True when a chat template ends its generation prompt inside `<think>`.

    Works for Jinja (GGUF `tokenizer.chat_template`) and Go (Ollama's template)
    forms: the last literal text before the closing control tags is `<think>`.
    """
    if not template:
        return False
    return _TEMPLATE_TAIL.search(template.rstrip()) is not None
