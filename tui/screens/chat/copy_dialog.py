"""Ctrl+G on the chat screen: copy a reply, or one of its code blocks, to the clipboard.

The copy travels as an OSC 52 escape sequence (Textual's `copy_to_clipboard`),
so it reaches the clipboard of the machine the terminal runs on, over SSH
too. tmux passes it on only with `set -g set-clipboard on` in ~/.tmux.conf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from markdown_it import MarkdownIt
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

TMUX_HINT = "Copies over SSH with OSC 52; inside tmux add `set -g set-clipboard on` to ~/.tmux.conf."


@dataclass(frozen=True)
class CodeBlock:
    language: str
    code: str

    @property
    def lines(self) -> int:
        return len(self.code.splitlines())


def code_blocks(markdown: str) -> list[CodeBlock]:
    """The fenced (and indented) code blocks of a Markdown text, in order, as Textual's parser sees them."""
    blocks = []
    for token in MarkdownIt("gfm-like").parse(markdown):
        if token.type in ("fence", "code_block"):
            blocks.append(CodeBlock(token.info.strip().split(" ")[0] if token.info else "", token.content))
    return blocks


def copy_choices(reply: str) -> list[tuple[str, str]]:
    """(label, text) for the copy menu: the whole reply first, then each code block."""
    first_line = next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
    choices = [(f"The whole reply ({len(reply):,} characters) · {first_line[:40]}", reply)]
    for i, block in enumerate(code_blocks(reply), start=1):
        head = next((ln.strip() for ln in block.code.splitlines() if ln.strip()), "")
        language = block.language or "code"
        noun = "line" if block.lines == 1 else "lines"
        choices.append((f"Code block {i}: {language}, {block.lines} {noun} · {head[:40]}", block.code))
    return choices


class CopyScreen(ModalScreen[str | None]):
    """Pick what to copy; Enter copies it (and dismisses with it), Esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="copy-box") as box:
            box.border_title = "Copy to the clipboard"
            options = [Option(Content(label), id=str(i)) for i, (label, _t) in enumerate(self.choices)]
            yield OptionList(*options, id="copy-list")
            yield Static(Content(TMUX_HINT), id="copy-hint")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        text = self.choices[event.option_index][1]
        if text:
            self.app.copy_to_clipboard(text)
            self.app.notify(f"Copied {len(text):,} characters.", title="Clipboard", markup=False, timeout=3)
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
