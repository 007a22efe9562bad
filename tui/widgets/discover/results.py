"""The search results: one row per GGUF repo, and each repo's best file here as it is found.

The table runs its own two workers, both in threads (the Hub is asked over
blocking HTTP): `search` asks for one page (the next one with the cursor the
last page gave) and answers `Searched` or `SearchFailed`; `find_best`
plans each repo's most promising file on this machine
(core.discover.best_fit: one file list and at most two header reads a
repo) and answers `BestFound` per repo as each is done, so the column fills
while the slow repos are still being read. Each answer carries the number
of the search it belongs to; the screen drops older ones, so a new search
never shows the last one's stragglers.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, work
from textual.message import Message
from textual.widgets import DataTable

from core.discover.best_fit import best_fits
from core.discover.header_cache import HeaderCache
from core.discover.hub import Hub
from core.discover.report import search_cells
from core.discover.search import search_models
from core.discover.types import GATED_NOTE, FileFit, RepoSummary, SearchPage
from tui.services import Services
from tui.widgets.discover.choices import DiscoverChoices, failure, this_machine
from tui.widgets.planner.table import VERDICT_STYLES

PAGE = 20  # results a page: a screenful at 100x30, and 20 repos' best files read in the background
COLUMNS = ("Repo", "Downloads", "Updated", "Arch", "Params", "Best here")
WIDTHS = (0, 9, 10, 8, 6, 15)  # the repo takes what the others leave
CELLS = (0, 1, 3, 4, 5)  # of core.discover.report.search_cells: the likes are left to the Hub's page
MIN_REPO = 14


def best_text(fit: FileFit | str | None, pending: bool) -> Text:
    """The best-file cell: `Q6_K fits` in its verdict's colour; the word alone reads without colour."""
    if fit is None:
        return Text("…" if pending else "–", style="dim")
    if isinstance(fit, str):
        return Text("no verdict", style="dim")  # the sentence is in the note under the tables
    if fit.placement is None:
        gated = fit.error is not None and GATED_NOTE in fit.error
        return Text("gated" if gated else f"{fit.quant or '?'} {fit.badge}", style="dim")
    return Text(f"{fit.quant} {fit.badge}", style=VERDICT_STYLES[fit.placement])


class ResultTable(DataTable[Text]):
    class Searched(Message):
        def __init__(self, number: int, page: SearchPage, appended: bool) -> None:
            super().__init__()
            self.number = number
            self.page = page
            self.appended = appended

    class SearchFailed(Message):
        def __init__(self, number: int, sentence: str) -> None:
            super().__init__()
            self.number = number
            self.sentence = sentence

    class BestFound(Message):
        def __init__(self, number: int, repo_id: str, fit: FileFit | str) -> None:
            super().__init__()
            self.number = number
            self.repo_id = repo_id
            self.fit = fit

    def __init__(self, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.services = services
        self.results: list[RepoSummary] = []
        self.best: dict[str, FileFit | str] = {}
        self.pending: set[str] = set()  # repos whose best file is being looked for
        self._repo_width = 0

    @property
    def highlighted(self) -> RepoSummary | None:
        if not self.results or not 0 <= self.cursor_row < len(self.results):
            return None
        return self.results[self.cursor_row]

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="search")
    def search(self, number: int, choices: DiscoverChoices, cursor: str | None) -> None:
        try:
            page = search_models(choices.query, sort=choices.sort, limit=PAGE, cursor=cursor, hub=Hub())
        except Exception as exc:  # every failure becomes the sentence shown in place of the table
            self.post_message(self.SearchFailed(number, failure("The search", exc)))
        else:
            self.post_message(self.Searched(number, page, cursor is not None))

    @work(thread=True, exclusive=True, group="best")
    def find_best(self, number: int, repo_ids: list[str], choices: DiscoverChoices) -> None:
        def found(repo_id: str, fit: FileFit | str) -> None:
            self.post_message(self.BestFound(number, repo_id, fit))

        try:
            best_fits(repo_ids, this_machine(self.services), ctx=choices.ctx, kv_type=choices.kv_type,
                      hub=Hub(), cache=HeaderCache(), each=found)
        except Exception as exc:  # the probe or the pool: each repo still gets its sentence
            for repo_id in repo_ids:
                found(repo_id, failure("Looking for the best file", exc))

    # ------------------------------------------------------------------ showing

    def show_page(self, page: SearchPage, appended: bool) -> list[str]:
        """The page's repos (after the ones shown, for a next page); the new ones, whose best files are
        pending."""
        if not appended:
            self.results, self.best, self.pending = [], {}, set()
        shown = {s.repo_id for s in self.results}
        fresh = [s for s in page.results if s.repo_id not in shown]  # a page may overlap a re-sorted one
        self.results += fresh
        self.pending |= {s.repo_id for s in fresh}
        self._redraw(keep=self.cursor_row if appended else 0)
        return [s.repo_id for s in fresh]

    def forget_best(self) -> None:
        """The context or KV type changed: every best file is looked for again."""
        self.best = {}
        self.pending = {s.repo_id for s in self.results}
        self._redraw(keep=self.cursor_row)

    def show_best(self, repo_id: str, fit: FileFit | str) -> None:
        self.best[repo_id] = fit
        self.pending.discard(repo_id)
        if repo_id in self.rows:
            self.update_cell(repo_id, "best", best_text(fit, False))

    def on_resize(self, event: events.Resize) -> None:
        if self.results and self._widths()[0] != self._repo_width:
            self._redraw(keep=self.cursor_row)

    def _widths(self) -> list[int]:
        room = (self.size.width or 80) - sum(WIDTHS) - 2 * len(COLUMNS) - 1  # cell padding, scrollbar
        return [max(MIN_REPO, room), *WIDTHS[1:]]

    def _redraw(self, keep: int) -> None:
        widths = self._widths()
        self._repo_width = widths[0]
        self.clear(columns=True)
        for title, width, key in zip(COLUMNS, widths, ("repo", "dl", "day", "arch", "params", "best"),
                                     strict=True):
            self.add_column(Text(title, justify="left" if key in ("repo", "arch", "best") else "right"),
                            width=width, key=key)
        for s in self.results:
            cells = search_cells(s)
            texts = [Text(cells[i], justify="left" if i in (0, 4) else "right") for i in CELLS]
            texts[0].truncate(widths[0], overflow="ellipsis")
            texts.append(best_text(self.best.get(s.repo_id), s.repo_id in self.pending))
            self.add_row(*texts, key=s.repo_id)
        if self.results:
            self.move_cursor(row=min(keep, len(self.results) - 1), animate=False)
