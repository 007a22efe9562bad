"""Discover: find a GGUF on the Hub that runs on this box, before downloading it.

A search line on top, the results in the middle (each repo with its best
file here, found in the background), the highlighted repo's files below
(quant, size, fit badge, where it runs, tok/s, max context on the GPU), and
one line of notes under them: why a file has no verdict (gated, a broken
header, a mirror without range reads), what the highlighted file would be
pulled as. Every verdict comes from the same core functions `llamadeck
search` and `llamadeck files` print, for this machine as the probe sees it.

From a file: `p` hands `hf.co/{repo}:{quant}` to the model browser's pull
(its progress panel, x cancels, pulling again resumes), `d` queues a
download-only job on the jobs screen (disk pre-flight, resumable, checked),
`f` opens the planner on the facts its header gave.

The tables run their own workers (threads: the Hub is asked over blocking
HTTP); every request is numbered here and older answers are dropped, so a
new search or a new context never shows a stale one.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable

from core.config import Settings
from core.discover.handoff import ollama_pull_name, planned_model
from core.discover.report import file_lines, fit_cell
from core.discover.types import GATED_NOTE, SORTS
from core.errors import DiscoverError
from core.pipeline.gguf_download import download_spec
from core.planner.report import KV_TYPES, machine_summary
from core.units import format_bytes, plural
from tui.screens.discover.keys import DISCOVER_KEYS
from tui.services import Services
from tui.widgets.discover.choices import CTX_STEPS, DiscoverChoices, step
from tui.widgets.discover.files import FileTable
from tui.widgets.discover.results import ResultTable
from tui.widgets.discover.search_bar import SearchBar
from tui.widgets.key_bar import KeyBar
from tui.widgets.live_text import LiveText
from tui.widgets.title_bar import TitleBar

NO_REPO = "Enter on a repo lists its GGUF files here, each planned on this machine."


class DiscoverScreen(Screen[None]):
    # Parsed when this screen first opens, not at start-up (it applies app-wide from then on).
    CSS_PATH = "../../styles/discover.tcss"
    AUTO_FOCUS = "#results"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-medium")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = DISCOVER_KEYS

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.title = "Discover"
        self.choices = DiscoverChoices()
        self.search_number = 0
        self.searched = 0  # the search whose answer (a page or a sentence) is on screen
        self.files_number = 0
        self.filed = 0  # the same for the files
        self.next_cursor: str | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield SearchBar(id="discover-search")
        with Vertical(id="results-box"):
            yield ResultTable(self.services, id="results")
            yield LiveText("", id="results-error")
        with Vertical(id="files-box"):
            yield FileTable(self.services, id="files")
            yield LiveText(NO_REPO, id="files-error")
        yield LiveText("", id="discover-note")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#results-box").border_title = "GGUF repos on the Hub"
        self.query_one("#files-box").border_title = "Files"
        self.add_class("-no-files")
        self._search()  # the most downloaded GGUF repos, before anything is typed

    @property
    def results(self) -> ResultTable:
        return self.query_one("#results", ResultTable)

    @property
    def files(self) -> FileTable:
        return self.query_one("#files", FileTable)

    @property
    def settled(self) -> bool:
        """Every request answered, every best file found (for tests and screenshots)."""
        return self.searched == self.search_number and self.filed == self.files_number \
            and not self.results.pending

    # ------------------------------------------------------------------ requests

    def _search(self, cursor: str | None = None) -> None:
        self.search_number += 1
        box = self.query_one("#results-box")
        box.border_title = Text(f"Searching for {self.choices.query!r}…" if self.choices.query else
                                "Asking the Hub for GGUF repos…")
        self.results.search(self.search_number, self.choices, cursor)

    def _open_files(self, repo_id: str) -> None:
        self.files_number += 1
        self.files.forget()
        self.query_one("#files-box").border_title = Text(f"Listing {repo_id}…")
        self.query_one("#files-box").border_subtitle = ""
        self.remove_class("-no-files", "-files-failed")
        self.files.evaluate(self.files_number, repo_id, None, self.choices)

    def _replan(self) -> None:
        """The context or KV type changed: every verdict again (headers come from the cache now)."""
        self.query_one(SearchBar).show_choices(self.choices)
        if self.results.results:
            self.results.forget_best()
            self.results.find_best(self.search_number, [s.repo_id for s in self.results.results],
                                   self.choices)
        listing = self.files.listing
        if listing is not None:
            self.files_number += 1
            self.query_one("#files-box").border_subtitle = Text(f"planning at ctx {self.choices.ctx_text}…")
            self.files.evaluate(self.files_number, listing.repo_id, listing, self.choices)
        self._show_note()

    # ------------------------------------------------------------------ answers

    @on(SearchBar.Submitted)
    def search_submitted(self, message: SearchBar.Submitted) -> None:
        c = self.choices
        self.choices = DiscoverChoices(message.query, c.sort, c.ctx, c.kv_type)
        self._search()
        self.results.focus()

    @on(ResultTable.Searched)
    def searched_page(self, message: ResultTable.Searched) -> None:
        if message.number != self.search_number:
            return
        self.searched = message.number
        self.remove_class("-search-failed")
        fresh = self.results.show_page(message.page, message.appended)
        self.next_cursor = message.page.next_cursor
        if fresh:
            self.results.find_best(message.number, fresh, self.choices)
        self._title_results()
        self._show_note()
        self.refresh_bindings()

    @on(ResultTable.SearchFailed)
    def search_failed(self, message: ResultTable.SearchFailed) -> None:
        if message.number != self.search_number:
            return
        self.searched = message.number
        self.add_class("-search-failed")
        self.query_one("#results-error", LiveText).show(message.sentence)
        self.query_one("#results-box").border_title = Text("The search failed")
        self._show_note()

    @on(ResultTable.BestFound)
    def best_found(self, message: ResultTable.BestFound) -> None:
        if message.number == self.search_number:
            self.results.show_best(message.repo_id, message.fit)
            summary = self.results.highlighted
            if summary is not None and summary.repo_id == message.repo_id:
                self._show_note()

    @on(FileTable.Listed)
    def files_listed(self, message: FileTable.Listed) -> None:
        if message.number == self.files_number:
            self.files.show_listing(message.listing)
            self._title_files()

    @on(FileTable.Evaluated)
    def files_evaluated(self, message: FileTable.Evaluated) -> None:
        if message.number != self.files_number:
            return
        self.filed = message.number
        self.files.show_result(message.result)
        self._title_files()
        self._show_note()
        self.refresh_bindings()

    @on(FileTable.Failed)
    def files_failed(self, message: FileTable.Failed) -> None:
        if message.number != self.files_number:
            return
        self.filed = message.number
        self.files.forget()
        self.add_class("-files-failed")
        self.query_one("#files-box").border_title = Text(message.repo_id)
        self.query_one("#files-error", LiveText).show(message.sentence)
        self._show_note()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    def row_highlighted(self) -> None:
        self._show_note()

    def on_descendant_focus(self) -> None:
        self._show_note()  # the note is about the table that has the focus

    @on(DataTable.RowSelected, "#results")
    def repo_selected(self) -> None:
        summary = self.results.highlighted
        if summary is not None:
            self._open_files(summary.repo_id)
            self.files.focus()

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pull", "download", "plan"):
            return True if self.files.highlighted_group is not None else None  # greyed until a file shows
        if action == "more":
            return True if self.next_cursor else None
        return True

    def action_search(self) -> None:
        self.query_one(SearchBar).box.focus()

    def action_more(self) -> None:
        if self.next_cursor:
            self._search(self.next_cursor)

    def action_sort(self) -> None:
        c = self.choices
        self.choices = DiscoverChoices(c.query, str(step(SORTS, c.sort)), c.ctx, c.kv_type)
        self.query_one(SearchBar).show_choices(self.choices)
        self._search()

    def action_ctx(self, by: int) -> None:
        c = self.choices
        ctx = step(CTX_STEPS, c.ctx, by)
        self.choices = DiscoverChoices(c.query, c.sort, ctx if isinstance(ctx, int) else None, c.kv_type)
        self._replan()

    def action_kv(self) -> None:
        c = self.choices
        self.choices = DiscoverChoices(c.query, c.sort, c.ctx, str(step(KV_TYPES, c.kv_type)))
        self._replan()

    def action_back(self) -> None:
        self.results.focus()

    def action_pull(self) -> None:
        listing, group = self.files.listing, self.files.highlighted_group
        if listing is None or group is None:
            return
        try:
            name = ollama_pull_name(listing.repo_id, group)
        except DiscoverError as exc:
            self.notify(str(exc), title="Pull", severity="warning", markup=False, timeout=8)
            return
        opener = getattr(self.app, "pull_model", None)
        if callable(opener):
            opener(name)

    def action_download(self) -> None:
        listing, group = self.files.listing, self.files.highlighted_group
        if listing is None or group is None:
            return
        spec = download_spec(self.settings, listing.repo_id, listing.revision,
                             tuple(p.path for p in group.parts), group.quant)
        opener = getattr(self.app, "queue_job", None)
        if callable(opener):
            opener(spec)

    def action_plan(self) -> None:
        listing, fit = self.files.listing, self.files.highlighted_fit
        if listing is None or fit is None:
            self.notify("Its header is still being read; press f again in a moment.", markup=False)
            return
        try:
            model = planned_model(listing, fit)
        except DiscoverError as exc:
            self.notify(str(exc), title="Plan", severity="warning", markup=False, timeout=8)
            return
        opener = getattr(self.app, "plan_model", None)
        if callable(opener):
            opener(model)

    # ------------------------------------------------------------------ titles and the note

    def _title_results(self) -> None:
        box = self.query_one("#results-box")
        query = f" matching {self.choices.query!r}" if self.choices.query else ""
        box.border_title = Text(f"GGUF repos{query}, by {self.choices.sort}")
        shown = plural(len(self.results.results), "repo")
        box.border_subtitle = Text(f"{shown} · m more" if self.next_cursor else shown)

    def _title_files(self) -> None:
        listing = self.files.listing
        if listing is None:
            return
        box = self.query_one("#files-box")
        gated = " (gated)" if listing.gated else ""
        box.border_title = Text(f"{listing.repo_id}{gated} at {listing.revision[:7]}")
        result = self.files.result
        box.border_subtitle = Text(
            f"ctx {self.choices.ctx_text}, KV {self.choices.kv_type} · "
            f"{machine_summary(result.machine, format_bytes)}" if result is not None else "reading headers…")

    def _show_note(self) -> None:
        self.query_one("#discover-note", LiveText).show(self._note())

    def _note(self) -> str:
        if self.files.has_focus and self.files.highlighted_group is not None:
            return self._file_note()
        summary = self.results.highlighted
        if summary is None or not self.results.has_focus:
            return ""
        best = self.results.best.get(summary.repo_id)
        if isinstance(best, str):
            return f"{summary.repo_id}: {best}"
        if summary.repo_id in self.results.pending:
            verdict = "looking for its best file here…"
        else:
            verdict = f"best here {fit_cell(best)}" + (f" ({best.group.name})" if best is not None else "")
        gated = f" · {GATED_NOTE}" if summary.gated else ""
        return f"{summary.repo_id}: {verdict}{gated} · Enter lists its files"

    def _file_note(self) -> str:
        """Why the file has no verdict (first), what to do with it, and what its verdict comes with."""
        listing, group, fit = self.files.listing, self.files.highlighted_group, self.files.highlighted_fit
        assert listing is not None and group is not None
        try:
            action = f"ollama pull {ollama_pull_name(listing.repo_id, group)}"
        except DiscoverError:
            action = "not for Ollama's pull (p says why)"
        parts = f"{plural(len(group.parts), 'part')}, " if len(group.parts) > 1 else ""
        lines = [f"{group.name} ({parts}{format_bytes(group.size)}) · {action}"]
        said = [line.removeprefix(f"{group.name}: ") for line in file_lines(fit)] if fit is not None else []
        return "\n".join([*said, *lines] if fit is not None and fit.error else [*lines, *said])
