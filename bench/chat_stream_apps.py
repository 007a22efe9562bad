"""The programs bench/chat_stream.py runs in a pseudo-terminal, and the reply they all draw.

    python -m bench.chat_stream_apps chat  --tokens N  # the real app, chat screen, against OLLAMA_HOST
    python -m bench.chat_stream_apps floor --tokens N  # bare Textual: Markdown.get_stream, a write a token
    python -m bench.chat_stream_apps naive --tokens N  # bare Textual: Markdown.update(whole text) a token
    python -m bench.chat_stream_apps lines --tokens N --rate R  # bare Textual: plain lines, R tokens a second

Each paints READY when it is ready and starts on Enter, so the parent can
read the process's CPU time just before the first token and watch for the
reply's last token (END_MARK) reaching the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from typing import ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Log, Markdown, Static

READY = "bench-ready"
BENCH_MODEL = "llama3.2:latest"

_PROSE = ("the model reads every weight once per token so decode speed follows memory bandwidth while "
          "prompt processing is bound by compute and batch size quantization trades a little quality "
          "for a much smaller file that fits the card")
_WORDS = _PROSE.split(" ")
_CJK = "模型在本地运行速度取决于显存带宽和量化位数我们测试了流式输出的性能并记录每秒生成的标记数量"
_EMOJI = "😀🚀✨🔥📈"
_CODE = [
    "def decode_tps(bandwidth, weights):", "    # bytes read per token bound the speed",
    "    return bandwidth / weights", "", "for quant in ('Q4_K_M', 'Q5_K_M', 'Q8_0'):",
    "    print(quant, decode_tps(1008e9, sizes[quant]))",
]


def end_mark(n: int) -> str:
    return f"ENDOFREPLY{n}"


def markdown_tokens(n: int, seed: int = 5) -> list[str]:
    """`n` tokens of mixed Markdown, LLM-sized (a word with its space, one or two CJK characters, a
    newline), the last one END_MARK in a paragraph of its own so it is drawn as plain text."""
    rnd = random.Random(seed)
    out: list[str] = []
    section = 0
    while len(out) < n - 4:
        section += 1
        kind = section % 5
        if kind == 1:
            out += ["\n\n", "##", f" Section {section}", "\n\n"]
            out += [" " + rnd.choice(_WORDS) for _ in range(rnd.randint(30, 60))]
            out += [" **", "important", "**", " and", " `", "num_ctx", "`", "."]
        elif kind == 2:
            out.append("\n\n")
            for i in range(rnd.randint(3, 6)):
                out += ["-" if i % 2 else "1.", f" item {i}"]
                out += [" " + rnd.choice(_WORDS) for _ in range(rnd.randint(4, 9))]
                out.append("\n")
        elif kind == 3:
            out += ["\n\n", "```", "python", "\n"]
            for line in _CODE:
                words = line.split(" ")
                out += [*(word + " " for word in words[:-1]), words[-1], "\n"]
            out += ["```", "\n\n"]
        elif kind == 4:
            out.append("\n\n")
            for _ in range(rnd.randint(40, 80)):
                out.append(_CJK[rnd.randrange(len(_CJK))] * rnd.randint(1, 2))
            out += [rnd.choice(_EMOJI), "。"]
        else:
            out.append("\n\n")
            out += [" " + rnd.choice(_WORDS) for _ in range(rnd.randint(40, 70))]
    out = out[: n - 3]
    return [*out, "\n\n", "Done", f" {end_mark(n)}"]


class BareStream(App[None]):
    """A Markdown widget in an anchored scroll, fed token by token; nothing else."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "go", "Go")]

    def __init__(self, tokens: list[str], *, naive: bool) -> None:
        super().__init__()
        self.tokens = tokens
        self.naive = naive

    def compose(self) -> ComposeResult:
        yield Static(READY)
        with VerticalScroll():
            yield Markdown()

    def action_go(self) -> None:
        self.stream()

    @work(exclusive=True)
    async def stream(self) -> None:
        markdown = self.query_one(Markdown)
        self.query_one(VerticalScroll).anchor()
        if self.naive:  # what a chat app does without an incremental API: re-render it all per token
            text = ""
            for token in self.tokens:
                text += token
                await markdown.update(text)
            return
        stream = Markdown.get_stream(markdown)
        try:
            for token in self.tokens:
                await stream.write(token)
        finally:
            await stream.stop()


class PlainLines(App[None]):
    """The floor of a paced stream: the same text appended as plain lines to a Log, `rate` tokens a
    second (paced here, against the clock, as the fake server paces the chat screen's)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "go", "Go")]

    def __init__(self, tokens: list[str], rate: float) -> None:
        super().__init__()
        self.tokens = tokens
        self.rate = rate

    def compose(self) -> ComposeResult:
        yield Static(READY)
        yield Log()

    def action_go(self) -> None:
        self.stream()

    @work(exclusive=True)
    async def stream(self) -> None:
        log = self.query_one(Log)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, token in enumerate(self.tokens):
            wait = start + i / self.rate - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            log.write(token)


def run_chat() -> None:
    """The whole app as `llamadeck` runs it, opened on the chat screen (the dashboard is never built)."""
    from core.config import load_settings
    from tui.app import LlamadeckApp
    from tui.screens.chat.screen import ChatScreen
    from tui.services import build_services

    class ChatFirst(LlamadeckApp):
        DEFAULT_MODE = "chat"  # the app's own opens on the dashboard, which would sample in the background

        def _on_mount(self, event: events.Mount) -> None:
            event.prevent_default()  # LlamadeckApp's on_mount would open the dashboard first
            self.open_chat(BENCH_MODEL)
            self._poll = self.set_interval(0.05, self._fill_prompt)

        def _fill_prompt(self) -> None:
            screen = self.screen
            if isinstance(screen, ChatScreen) and screen.model == BENCH_MODEL and screen.store is not None:
                screen.prompt.load_text(f"{READY}: write the long answer")
                self._poll.stop()

    settings = load_settings()
    ChatFirst(settings, build_services(settings)).run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=("chat", "floor", "naive", "lines"))
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0, help="tokens a second (lines only)")
    args = parser.parse_args(argv)
    if args.app == "chat":
        run_chat()
    elif args.app == "lines":
        PlainLines(markdown_tokens(args.tokens), args.rate).run()
    else:
        BareStream(markdown_tokens(args.tokens), naive=args.app == "naive").run()


if __name__ == "__main__":
    main()
