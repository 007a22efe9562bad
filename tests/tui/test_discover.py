"""The Discover screen (6) at 80x24: search the Hub stand-in, see a repo's files with their fit badges here,
page and re-plan; every failure is core's sentence on screen, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import Settings
from tests.core.discover_support import hollow_repo
from tests.fakes.fake_hub import FakeHub
from tests.tui.conftest import screen_text, wait_for
from tests.tui.discover_support import (  # noqa: F401 (the hub fixture)
    SIZE,
    TINY,
    discover,
    discover_app,
    hub,
    one_line,
    open_discover,
    open_repo,
    stock,
)
from tui.screens.discover.screen import DiscoverScreen
from tui.widgets.discover import results as results_module
from tui.widgets.live_text import LiveText


def note(screen: DiscoverScreen) -> str:
    return screen.query_one("#discover-note", LiveText).text


async def test_search_shows_repos_and_a_repos_files_with_badges(hub: FakeHub, settings: Settings,  # noqa: F811
                                                                tmp_path: Path) -> None:
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        text = screen_text(app)
        # The most downloaded first, with the Hub's facts and each repo's best file here (a 24 GiB GPU).
        shown = [s.repo_id for s in screen.results.results]
        assert shown == [TINY, "corp/Gated-GGUF", "someone/No-GGUF-Here"]
        assert "someone/Tiny-GGUF" in text and "900" in text and "2025-01-01" in text and "llama" in text
        assert "F16 fits" in text  # the largest file that runs all on the GPU
        assert "gated" in text  # the gated repo's best file cannot be read without a token
        assert "no verdict" in text  # the repo without GGUF files: its sentence is in the note
        assert "q Quit" in text and "/ Search" in text and "p Pull" in text  # the key line fits 80 columns
        assert "best here F16 fits: GPU" in one_line(note(screen))

        await open_repo(pilot, TINY)
        text = screen_text(app)
        for quant, size in (("Q4_K_M", "KiB"), ("Q8_0", "MiB"), ("F16", "MiB")):
            assert re.search(rf"{quant}\s+[\d.]+ {size}\s+fits\s+GPU\s+\d+", text), (quant, text)
        assert re.search(r"F16\s+[\d.]+ MiB\s+unknown", text)  # the vision projector: no verdict
        assert "someone/Tiny-GGUF at 1234567" in text and "ctx 8k, KV f16" in text
        assert "Tiny-Q4_K_M.gguf" in note(screen)
        assert "ollama pull hf.co/someone/Tiny-GGUF:Q4_K_M" in note(screen)
        await pilot.press("down", "down", "down")  # the projector says why it has no verdict
        assert "vision projector" in note(screen)


async def test_typing_searches_and_more_pages_on(hub: FakeHub, settings: Settings, tmp_path: Path,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    stock(hub, tmp_path)
    monkeypatch.setattr(results_module, "PAGE", 2)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        assert len(screen.results.results) == 2 and screen.next_cursor is not None
        assert "2 repos · m more" in screen_text(app)
        await pilot.press("m")
        await wait_for(pilot, lambda: len(screen.results.results) == 3 and screen.settled)
        assert screen.next_cursor is None and screen.check_action("more", ()) is None

        await pilot.press("slash")
        assert screen.query_one("#discover-query").has_focus
        await pilot.press(*"tiny", "enter")
        await wait_for(pilot, lambda: screen.searched == screen.search_number and screen.settled)
        assert [s.repo_id for s in screen.results.results] == [TINY]
        assert screen.results.has_focus  # Enter took the focus back to the results
        assert any("search=tiny" in q for q in hub.queries)
        assert "matching 'tiny'" in screen_text(app)

        await pilot.press("s")  # the next order searches again
        await wait_for(pilot, lambda: screen.choices.sort == "likes" and screen.settled)
        assert any("sort=likes" in q for q in hub.queries)


async def test_the_context_and_kv_keys_plan_every_verdict_again(hub: FakeHub, settings: Settings,  # noqa: F811
                                                                tmp_path: Path) -> None:
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, TINY)
        def tiny_reads() -> int:
            return sum(1 for path, _ in hub.file_reads() if path.startswith(f"/{TINY}/"))

        reads = tiny_reads()
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.settled and screen.files.result is not None
                       and screen.files.result.ctx == 16384)
        await pilot.press("k")
        await wait_for(pilot, lambda: screen.settled and screen.files.result is not None
                       and screen.files.result.kv_type == "q8_0")
        text = screen_text(app)
        assert "ctx 16k · KV q8_0" in text and "ctx 16k, KV q8_0" in text
        assert "fits" in text
        assert tiny_reads() == reads  # its headers came from the cache
        for _ in range(3):  # 16k -> 32k -> auto -> 4k
            await pilot.press("c")
        await wait_for(pilot, lambda: screen.choices.ctx == 4096 and screen.settled)


async def test_a_gated_repo_says_accept_the_licence(hub: FakeHub, settings: Settings,  # noqa: F811
                                                    tmp_path: Path) -> None:
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        screen.results.move_cursor(row=1)
        await pilot.pause()
        assert "gated: accept the licence on the Hub" in one_line(note(screen))
        await open_repo(pilot, "corp/Gated-GGUF")
        text = one_line(screen_text(app))
        assert "corp/Gated-GGUF (gated)" in text and "unknown" in text
        assert "gated: accept the licence on the Hub" in text  # the note, for the highlighted file
        assert "Traceback" not in text


async def test_errors_are_sentences_in_place(hub: FakeHub, settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, "someone/No-GGUF-Here")  # a repo with no GGUF file
        assert "has no GGUF files" in one_line(screen_text(app))
        assert screen.has_class("-files-failed") and screen.check_action("pull", ()) is None
        assert "Traceback" not in screen_text(app)


async def test_a_mirror_without_range_reads_is_named(hub: FakeHub, settings: Settings,  # noqa: F811
                                                     tmp_path: Path) -> None:
    big = hub.add(hollow_repo(tmp_path / "hollow", "32k"))  # a 14 GB file (sparse): never read whole
    hub.ignore_range = True  # it answers a header read with the whole file: stopped, and said why
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        await open_repo(pilot, big.repo_id)
        assert screen.files.result is not None
        assert all(f.placement is None for f in screen.files.result.fits)
        assert "does not support range reads" in one_line(note(screen))
        assert "unknown" in screen_text(app)


async def test_offline_says_so_and_the_screen_stays_usable(settings: Settings, tmp_path: Path) -> None:
    app = discover_app(settings, tmp_path)  # HF_HUB_OFFLINE is set for every test without the Hub
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await wait_for(pilot, lambda: isinstance(app.screen, DiscoverScreen) and app.screen.searched > 0)
        screen = discover(pilot)
        assert screen.has_class("-search-failed")
        text = one_line(screen_text(app))
        assert "HF_HUB_OFFLINE" in text and "Traceback" not in text
        for key in ("c", "k", "s", "m", "p", "d", "f", "escape"):
            await pilot.press(key)
        await wait_for(pilot, lambda: screen.searched == screen.search_number)
        assert app.screen is screen


async def test_a_newer_search_wins_over_a_slower_older_one(hub: FakeHub, settings: Settings,  # noqa: F811
                                                           tmp_path: Path) -> None:
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(pilot)
        hub.latency = 0.2  # each answer takes a while: the first search is still out when the second starts
        await pilot.press("slash", *"tiny", "enter", "slash", "end", "ctrl+u", *"gated", "enter")
        await wait_for(pilot, lambda: screen.searched == screen.search_number and screen.settled)
        assert [s.repo_id for s in screen.results.results] == ["corp/Gated-GGUF"]
        assert "matching 'gated'" in screen_text(app)


async def test_without_colour_the_badges_are_words(hub: FakeHub, settings: Settings, tmp_path: Path,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stock(hub, tmp_path)
    app = discover_app(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_discover(pilot)
        await open_repo(pilot, TINY)
        text = screen_text(app)
        assert re.search(r"Q8_0\s+[\d.]+ MiB\s+fits\s+GPU", text) and "unknown" in text
