"""The models loaded in memory, the way `ollama ps` lists them, refreshed by the screen's poll.

The PROCESSOR column is `RunningModel.processor`, the exact string `ollama ps`
prints ("100% GPU", "48%/52% CPU/GPU"), so what a user reads here matches
what they see in a shell. A model entirely on the CPU is shown in the error
colour: that is the silent fallback the health view explains.

A poll that changes nothing but the countdown rewrites only those cells;
the rows are rebuilt only when the set of loaded models changes.

The panel asks `/api/ps` itself, every 2 s while polling is on, and answers
with `Polled` or `PollFailed` (and `RelistDue` every 15th tick); the screen
says what to show. A tick is skipped while the last poll is still out, so a
slow server never piles up requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable
from textual.worker import Worker, WorkerState

from core.errors import OllamaError
from core.ollama.client import OllamaClient
from core.ollama.types import RunningModel
from core.units import format_model_size, format_until
from tui.widgets.live_text import LiveText
from tui.widgets.models.host_answer import HostAnswer
from tui.widgets.models.table import ellipsize

PS_INTERVAL_S = 2.0
RELIST_EVERY = 15  # polls: models pulled or removed from a shell show up within 30 s
NOTHING_LOADED = "Nothing is loaded. Press l to load the highlighted model."
# Until the first answer: a server that hangs has not said that nothing is loaded.
NOT_KNOWN_YET = "Not known yet: waiting for the server to say what is loaded…"
COLUMNS = (("name", "Name", 0), ("size", "Size", 6), ("vram", "VRAM", 6), ("processor", "Processor", 15),
           ("context", "Context", 7), ("until", "Until", 13))


def processor_text(model: RunningModel) -> Text:
    return Text(model.processor, style="bold red" if model.on_cpu_only else "")


class RunningPanel(Vertical):
    """`show(running)` after every poll; `show_error(sentence)` when the poll failed."""

    class Polled(HostAnswer):
        """One `/api/ps` poll. A newer one replaces an older one still queued."""

        def __init__(self, panel: RunningPanel, generation: int, running: list[RunningModel]) -> None:
            super().__init__(panel, generation)
            self.running = running

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, RunningPanel.Polled)

    class PollFailed(HostAnswer):
        def __init__(self, panel: RunningPanel, generation: int, error: OllamaError) -> None:
            super().__init__(panel, generation)
            self.error = error

    class RelistDue(Message):
        """Every RELIST_EVERY ticks: time to list the models again."""

        def __init__(self, panel: RunningPanel) -> None:
            super().__init__()
            self.panel = panel

        @property
        def control(self) -> RunningPanel:
            return self.panel

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        # Empty until the first poll says otherwise. Set here, not in on_mount:
        # the screen's first poll can land between this panel's compose and
        # its Mount, and an on_mount class would then hide the rows it showed.
        super().__init__(id=id, classes=f"-empty {classes or ''}".strip())
        self.border_title = "Running"
        self.clock = clock
        self.running: tuple[RunningModel, ...] = ()
        self._names: tuple[str, ...] | None = None
        self._name_width = 12
        self._built_width = -1
        # Set by the screen on every connection: whom to poll, and the stamp for the answers.
        self.client: OllamaClient | None = None
        self.generation = 0
        self.polls = 0
        self._timer: Timer | None = None
        self._last_poll: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="running-table", cursor_type="none", show_cursor=False)
        table.can_focus = False
        yield table
        yield LiveText(NOT_KNOWN_YET, id="running-empty")

    def forget(self) -> None:
        """A new connection: nothing is known about what it has loaded until its first answer."""
        self.running, self._names = (), None
        self.add_class("-empty")
        self.remove_class("-error")
        self.query_one("#running-empty", LiveText).show(NOT_KNOWN_YET)

    def start_polling(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(PS_INTERVAL_S, self._tick, name="models-ps")

    def set_polling(self, enabled: bool) -> None:
        """Stop or restart the 2 s poll."""
        if enabled and self._timer is None and self.client is not None:
            self.start_polling()
        elif not enabled and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def resume(self) -> None:
        if self.client is not None and self._timer is None:
            self.start_polling()
            self.poll_now()

    def poll_now(self) -> None:
        """Poll now; the next tick waits for this answer."""
        self._last_poll = self.poll()

    def _tick(self) -> None:
        last = self._last_poll
        if last is not None and last.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self.poll_now()
        self.polls += 1
        if self.polls % RELIST_EVERY == 0:
            self.post_message(self.RelistDue(self))

    @work(exclusive=True, group="ps")
    async def poll(self) -> None:
        generation, client = self.generation, self.client
        if client is None:
            return
        try:
            running = await client.running()
        except OllamaError as exc:
            self.post_message(self.PollFailed(self, generation, exc))
        else:
            self.post_message(self.Polled(self, generation, running))

    def show(self, running: Sequence[RunningModel]) -> None:
        self.running = tuple(running)
        self.remove_class("-error")
        self.set_class(not running, "-empty")
        self.query_one("#running-empty", LiveText).show(NOTHING_LOADED)
        table: DataTable[str | Text] = self.query_one("#running-table", DataTable)
        names = tuple(m.name for m in running)
        if names != self._names:
            self._rebuild(table, running)
            self._names = names
            return
        for model in running:
            for column, value in self._cells(model).items():
                if table.get_cell(model.name, column) != value:
                    table.update_cell(model.name, column, value)

    def on_resize(self, event: Resize) -> None:
        # Only a new width changes the name column. A rebuild changes the
        # table's height, which resizes this panel again: rebuilding on that
        # too could leave the table laid out while it was cleared (no rows).
        if self.running and self.content_region.width != self._built_width:
            self._rebuild(self.query_one("#running-table", DataTable), self.running)

    def show_error(self, sentence: str) -> None:
        """The last poll failed; keep the last known rows out of sight rather than show stale ones."""
        self.add_class("-error", "-empty")
        self.query_one("#running-empty", LiveText).show(sentence)
        self._names = None

    def _cells(self, model: RunningModel) -> dict[str, str | Text]:
        left = model.expires_at.timestamp() - self.clock() if model.expires_at is not None else None
        return {
            "name": ellipsize(model.name, self._name_width),
            "size": format_model_size(model.size),
            "vram": format_model_size(model.size_vram),
            "processor": processor_text(model),
            "context": str(model.context_length) if model.context_length is not None else "-",
            "until": format_until(left),
        }

    def _rebuild(self, table: DataTable[str | Text], running: Sequence[RunningModel]) -> None:
        self._built_width = self.content_region.width
        table.clear(columns=True)
        fixed = sum(width + 2 for _, _, width in COLUMNS[1:]) + 2
        longest = max((len(m.name) for m in running), default=12)
        room = self.content_region.width - fixed
        self._name_width = max(12, min(longest, room)) if room > 0 else longest
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=self._name_width if key == "name" else width)
        for model in running:
            table.add_row(*self._cells(model).values(), key=model.name)
        # Its height in so many lines (CSS caps it): a DataTable sized `auto`
        # measures its rows a frame after they are added, and a layout pass
        # that ran in between left the panel with no rows showing.
        table.styles.height = 1 + len(running)
