"""Is this Enter a send, or a line break inside text pasted without bracketed paste?

A terminal without bracketed paste mode (or a tmux/SSH chain that drops it)
types a paste as keys: its line breaks arrive as Enter, which would send the
first line as a prompt and type the rest into the box. What gives a paste
away is speed: the keys of one paste arrive microseconds apart (the terminal
writes them at once), a hand types them tens of milliseconds apart.

- An Enter within `burst_gap` of the key before it is part of a paste: a new line.
- An Enter a little later (under `suspect_gap`) may be the first key of the
  paste's next read (a paste that crossed an SSH packet): it waits up to
  `settle` for the next key. Text arriving in that time makes it a new line;
  anything else, or nothing, makes it a send.
- Any other Enter sends at once, so typing and sending never waits.

Pure, with the times passed in (key events carry when the terminal's bytes
were read), so tests drive it with made-up timestamps instead of racing a clock.
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["send", "newline", "wait"]

BURST_GAP = 0.010  # faster than any hand: the fastest typists' keys are 30+ ms apart
SUSPECT_GAP = 0.030
SETTLE = 0.040  # what a suspicious Enter waits for more text; too short to notice


class PasteBurst:
    """Feed it every key of the prompt box, in order, with the time each arrived."""

    def __init__(self, *, burst_gap: float = BURST_GAP, suspect_gap: float = SUSPECT_GAP,
                 settle: float = SETTLE) -> None:
        self.burst_gap = burst_gap
        self.suspect_gap = suspect_gap
        self.settle = settle
        self._last_text: float | None = None  # when the last printable key (or pasted line break) came
        self._waiting: float | None = None  # when the Enter that waits for its verdict came

    @property
    def waiting(self) -> bool:
        return self._waiting is not None

    def enter(self, at: float) -> tuple[Verdict | None, Verdict]:
        """An Enter at `at`: (what a waiting Enter turned out to be, or None; what this one is)."""
        before = self._resolve(at, text=True)  # an Enter right after a waiting one is more pasted text
        gap = at - self._last_text if self._last_text is not None else float("inf")
        if gap < self.burst_gap:
            self._last_text = at
            return before, "newline"
        if gap < self.suspect_gap:
            self._waiting = at
            return before, "wait"
        return before, "send"

    def key(self, at: float, *, printable: bool) -> Verdict | None:
        """Any other key: what a waiting Enter turned out to be (None when none waits)."""
        verdict = self._resolve(at, text=printable)
        if printable:
            self._last_text = at
        return verdict

    def settled(self) -> Verdict | None:
        """The wait is over with nothing more typed: a waiting Enter is a send."""
        if self._waiting is None:
            return None
        self._waiting = None
        return "send"

    def _resolve(self, at: float, *, text: bool) -> Verdict | None:
        if self._waiting is None:
            return None
        waited, self._waiting = at - self._waiting, None
        if text and waited < self.settle:
            self._last_text = at - waited  # the Enter itself was pasted text
            return "newline"
        return "send"
