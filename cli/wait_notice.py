"""`llamadeck chat`'s notice while the server has not answered yet: how long it has waited, for what."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TextIO

from core.waiting import waiting_text


class WaitNotice:
    """Says on stderr how long the server has been silent, until the first piece of the reply.

    On a terminal one line, rewritten in place every second and erased when
    the reply starts; into a file or a pipe a line every `every` seconds (10),
    so a log shows the wait without a line a second. Nothing for the first
    `first_after` seconds: a quick reply shows no notice at all.
    """

    def __init__(self, err: TextIO, *, tty: bool, clock: Callable[[], float] = time.monotonic,
                 first_after: float = 1.0, every: float | None = None) -> None:
        self.err = err
        self.tty = tty
        self.clock = clock
        self.first_after = first_after
        self.every = every if every is not None else (1.0 if tty else 10.0)
        self.started = clock()
        self.shown = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.started = self.clock()
        self._task = asyncio.create_task(self._run())

    def elapsed(self) -> float:
        return self.clock() - self.started

    async def _run(self) -> None:
        await asyncio.sleep(self.first_after)
        while True:
            text = f"llamadeck: {waiting_text(self.elapsed())}"
            self.err.write(f"\r\x1b[2K{text}" if self.tty else f"{text}\n")
            self.err.flush()
            self.shown = True
            await asyncio.sleep(self.every)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
            if self.shown and self.tty:
                self.err.write("\r\x1b[2K")  # the reply (or the reason it ended) takes the line
                self.err.flush()


def wait_notice(err: TextIO) -> WaitNotice:
    return WaitNotice(err, tty=err.isatty())
