"""One repo's GGUF files: quant, size, the fit badge, where it runs here, tok/s, max context on the GPU.

The cells are `llamadeck files`'s (core.discover.report.file_cells); the
badge and the placement are coloured by verdict as the planner colours
them, and the words alone say it all without colour (NO_COLOR).

The table runs its own worker, in a thread (the Hub is asked over blocking
HTTP): `evaluate` lists the repo at its commit (answering `Listed`, so the
files and sizes show at once), then reads each file's header by ranges, or
from the header cache, and plans it on this machine (`Evaluated`); any
failure is one sentence (`Failed`). A new context or KV type plans the same
listing again, from the cache. Each answer carries the number of the
request it belongs to; the screen drops older ones.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import DataTable

from core.discover.evaluate import evaluate_repo
from core.discover.files import list_files
from core.discover.header_cache import HeaderCache
from core.discover.hub import Hub
from core.discover.report import FILE_COLUMNS, file_cells
from core.discover.types import FileFit, GgufGroup, RepoFit, RepoListing
from core.units import format_bytes
from tui.services import Services
from tui.widgets.discover.choices import DiscoverChoices, failure, this_machine
from tui.widgets.planner.table import VERDICT_STYLES

LEFT = (0, 2, 3, 6)  # quant, badge, where, file; the numbers right-aligned
VERDICT_CELLS = (2, 3)  # the badge and where it runs: coloured by the verdict


def file_texts(fit: FileFit) -> list[Text]:
    cells = file_cells(fit, format_bytes)
    style = VERDICT_STYLES[fit.placement] if fit.placement is not None else "dim"
    return [Text(c, justify="left" if i in LEFT else "right", style=style if i in VERDICT_CELLS else "")
            for i, c in enumerate(cells)]


def listed_texts(group: GgufGroup) -> list[Text]:
    """A file before its header is read: its name and size, the verdict to come."""
    parts = f" ({len(group.parts)} parts)" if len(group.parts) > 1 else ""
    cells = [group.quant or "–", format_bytes(group.size), "…", "…", "", "", group.name + parts]
    return [Text(c, justify="left" if i in LEFT else "right", style="dim" if c == "…" else "")
            for i, c in enumerate(cells)]


class FileTable(DataTable[Text]):
    class Listed(Message):
        def __init__(self, number: int, listing: RepoListing) -> None:
            super().__init__()
            self.number = number
            self.listing = listing

    class Evaluated(Message):
        def __init__(self, number: int, result: RepoFit) -> None:
            super().__init__()
            self.number = number
            self.result = result

    class Failed(Message):
        def __init__(self, number: int, repo_id: str, sentence: str) -> None:
            super().__init__()
            self.number = number
            self.repo_id = repo_id
            self.sentence = sentence

    def __init__(self, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.services = services
        self.listing: RepoListing | None = None
        self.result: RepoFit | None = None

    @property
    def highlighted_group(self) -> GgufGroup | None:
        groups = self.listing.groups if self.listing is not None else ()
        return groups[self.cursor_row] if groups and 0 <= self.cursor_row < len(groups) else None

    @property
    def highlighted_fit(self) -> FileFit | None:
        """The highlighted file's verdict, once the listing on screen has been planned."""
        if self.result is None or self.result.listing is not self.listing:
            return None
        fits = self.result.fits
        return fits[self.cursor_row] if 0 <= self.cursor_row < len(fits) else None

    @work(thread=True, exclusive=True, group="files")
    def evaluate(self, number: int, repo_id: str, listing: RepoListing | None,
                 choices: DiscoverChoices) -> None:
        """List `repo_id` (unless `listing` is given: a new context, the same files), then plan each file."""
        try:
            if listing is None:
                listing = list_files(repo_id, hub=Hub())
                self.post_message(self.Listed(number, listing))
            result = evaluate_repo(listing, this_machine(self.services), ctx=choices.ctx,
                                   kv_type=choices.kv_type, hub=Hub(), cache=HeaderCache())
        except Exception as exc:  # every failure becomes the sentence shown in place of the table
            self.post_message(self.Failed(number, repo_id, failure(f"Reading {repo_id}", exc)))
        else:
            self.post_message(self.Evaluated(number, result))

    def show_listing(self, listing: RepoListing) -> None:
        self.listing, self.result = listing, None
        self._fill([listed_texts(g) for g in listing.groups], keep=0)

    def show_result(self, result: RepoFit) -> None:
        """The verdicts, for the listing shown (the cursor stays on its file)."""
        self.listing, self.result = result.listing, result
        self._fill([file_texts(f) for f in result.fits], keep=self.cursor_row)

    def forget(self) -> None:
        self.listing, self.result = None, None
        self.clear(columns=True)

    def _fill(self, rows: list[list[Text]], keep: int) -> None:
        self.clear(columns=True)
        for i, title in enumerate(FILE_COLUMNS):
            self.add_column(Text(title, justify="left" if i in LEFT else "right"), key=title)
        for i, texts in enumerate(rows):
            self.add_row(*texts, key=str(i))
        if rows:
            self.move_cursor(row=min(keep, len(rows) - 1), animate=False)
