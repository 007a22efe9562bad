"""Where a Markdown text can be cut in two, and how tall it will be: pure text work, no widgets.

A reply is drawn as a column of Markdown segments (markdown). A cut
must leave both halves meaning what they meant together, so it only falls
at the start of a line that follows a blank line, outside a code fence, and
that is not indented (an indented line after a blank one may continue a list
item). The height estimate sizes a segment that is not drawn yet; it is
corrected when the segment is drawn.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

SEGMENT_CHARS = 1500  # a segment this long starts a new one at the next safe cut

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class FenceTracker:
    """Follows fenced code blocks through text that arrives in pieces, and finds safe split points.

    A split point is the start of a line that follows a blank line, lies outside
    a code fence and does not begin with whitespace: cutting the Markdown there
    leaves both halves meaning what they meant together (an indented line after a
    blank one may continue a list item, so it is not a split point).
    """

    def __init__(self) -> None:
        self._fence: str | None = None  # the opening run of backticks or tildes
        self._partial = ""  # the unfinished last line seen so far
        self._blank_before = True  # the line before the current one was blank

    @property
    def in_fence(self) -> bool:
        return self._fence is not None

    def feed(self, text: str) -> list[int]:
        """Consume `text`; return the offsets in it where a new segment may start."""
        points: list[int] = []
        pos = 0
        start_offset = -len(self._partial)  # where the current (partial) line began, relative to text
        buf = self._partial + text
        while True:
            newline = buf.find("\n", pos)
            line_start = pos
            if newline < 0:
                self._partial = buf[pos:]
                # A line whose first character is known can already be judged.
                if self._partial and line_start + start_offset >= 0 and self._can_start(self._partial):
                    points.append(line_start + start_offset)
                    self._blank_before = False  # judged once
                return points
            line = buf[pos:newline]
            offset = line_start + start_offset
            if offset >= 0 and self._can_start(line):
                points.append(offset)
            self._close_line(line)
            pos = newline + 1

    def _can_start(self, line: str) -> bool:
        return self._fence is None and self._blank_before and bool(line) and not line[0].isspace()

    def _close_line(self, line: str) -> None:
        match = _FENCE.match(line)
        if self._fence is None:
            if match:
                self._fence = match.group(1)
        elif match and match.group(1)[0] == self._fence[0] and len(match.group(1)) >= len(self._fence) \
                and not line.strip().strip(self._fence[0]):
            self._fence = None
        self._blank_before = not line.strip() and self._fence is None


def split_markdown(text: str, segment_chars: int = SEGMENT_CHARS) -> list[str]:
    """Cut finished Markdown into segment-sized pieces at the same safe points streaming uses."""
    pieces: list[str] = []
    start = size = 0
    for point in FenceTracker().feed(text):
        if size + (point - start) >= segment_chars and point > start:
            pieces.append(text[start:point])
            start, size = point, 0
    if start < len(text) or not pieces:
        pieces.append(text[start:])
    return pieces


def estimate_rows(markdown: str, width: int) -> int:
    """About how many rows Textual's Markdown widget takes for `markdown` at `width` cells.

    Each source line wraps at the width (wide CJK characters count twice), a
    blank line stands for the margin between blocks, and a code fence's
    lines stand for its padding.
    """
    width = max(8, width)
    rows = 0
    for line in markdown.splitlines():
        text = line.rstrip()
        rows += 1 if not text else -(-cell_len(text) // width)
    return max(1, rows)
