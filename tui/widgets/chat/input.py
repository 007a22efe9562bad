"""The prompt box: multi-line, with keys that survive tmux and SSH.

Enter sends, except inside a paste from a terminal without bracketed paste
mode, where it is a line break (see paste_burst). Most terminals (and tmux,
always) send the same byte for Shift+Enter and Alt+Enter as for Enter, so a
new line is Ctrl+J, which every terminal sends as a line feed; Shift+Enter
also works where the terminal reports it (kitty keyboard protocol), and a
pasted text keeps its lines.
Up on the first line and Down on the last walk through earlier prompts, the
way a shell does; Ctrl+P stays the command palette.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from tui.widgets.chat.paste_burst import PasteBurst, Verdict

MAX_PROMPT_CHARS = 2_000_000  # about 500k tokens: more than any local model's context


def too_long(size: int, limit: int = MAX_PROMPT_CHARS) -> str:
    return (f"That would make the message {size:,} characters long; llamadeck sends at most {limit:,} "
            f"(about {limit // 4:,} tokens, more than any local model's context). Send a shorter part.")


def _event_time(event: events.Key) -> float:
    return event.time


class ChatInput(TextArea):
    """TextArea that sends on Enter and remembers what was sent."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Enter is taken in _on_key, before TextArea inserts a line; listed here for the help screen.
        Binding("enter", "submit", "Send", show=False),
        Binding("ctrl+j,shift+enter", "newline", "New line", show=False),
        Binding("up", "cursor_up", "Up; on the first line, the prompt before", show=False),
        Binding("down", "cursor_down", "Down; on the last line, the prompt after", show=False),
    ]

    class Submitted(Message):
        """Enter was pressed: `text` is what the box holds (it is not cleared here)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Refused(Message):
        """Something could not go into the box (a paste too large); `reason` is the sentence."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 max_chars: int = MAX_PROMPT_CHARS) -> None:
        super().__init__(id=id, classes=classes, soft_wrap=True, show_line_numbers=False,
                         tab_behavior="focus", compact=True, highlight_cursor_line=False)
        self.max_chars = max_chars
        self._burst = PasteBurst()  # Enter inside a paste typed as keys is a new line, not a send
        # When a key arrived: the time its event was made, as the terminal's bytes were read (not when
        # the box got to it, which a busy moment delays). Tests replace it to give made-up times.
        self.key_time: Callable[[events.Key], float] = _event_time
        self.sent: list[str] = []
        self._browsing: int | None = None  # index into history while walking it
        self._draft = ""  # what was typed before walking the history

    # -- keys ---------------------------------------------------------------------

    # Textual calls the handler of every class in the MRO, this one first:
    # these only step in (prevent_default) where TextArea's must not run.

    async def _on_key(self, event: events.Key) -> None:
        at = self.key_time(event)
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            before, verdict = self._burst.enter(at)
            self._apply(before)
            if verdict == "wait":
                self.set_timer(self._burst.settle, self._settled)
            self._apply(verdict)
            return
        self._apply(self._burst.key(at, printable=event.is_printable))  # before the key goes in

    def _apply(self, verdict: Verdict | None) -> None:
        if verdict == "send":
            self.action_submit()
        elif verdict == "newline":
            self.action_newline()

    def _settled(self) -> None:
        self._apply(self._burst.settled())

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    def action_newline(self) -> None:
        start, end = self.selection
        self._replace_via_keyboard("\n", start, end)

    async def _on_paste(self, event: events.Paste) -> None:
        size = len(self.text) + len(event.text)
        if size > self.max_chars:
            event.stop()
            event.prevent_default()
            self.post_message(self.Refused(too_long(size, self.max_chars)))

    # -- prompt history -------------------------------------------------------------

    def remember(self, text: str) -> None:
        """Add a sent prompt to the history (once, most recent last)."""
        if text.strip() and (not self.sent or self.sent[-1] != text):
            self.sent.append(text)
        self._browsing = None

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.navigator.is_first_wrapped_line(self.cursor_location) and self.sent \
                and self._browsing != 0:
            if self._browsing is None:
                self._draft = self.text
                self._browsing = len(self.sent)
            self._browsing -= 1
            self._show(self.sent[self._browsing], at_end=False)
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        at_bottom = self.navigator.is_last_wrapped_line(self.cursor_location)
        if not select and self._browsing is not None and at_bottom:
            self._browsing += 1
            if self._browsing >= len(self.sent):
                self._browsing = None
                self._show(self._draft, at_end=True)
            else:
                self._show(self.sent[self._browsing], at_end=True)
            return
        super().action_cursor_down(select)

    def _show(self, text: str, *, at_end: bool) -> None:
        self.load_text(text)
        if at_end:
            self.move_cursor(self.document.end)
        else:
            self.move_cursor((0, len(self.document.get_line(0))))

    def set_prompt(self, text: str) -> None:
        """Put `text` in the box (a prompt handed back, the last prompt to edit), cursor at the end."""
        self._browsing = None
        self.load_text(text)
        self.move_cursor(self.document.end)
