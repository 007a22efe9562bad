"""Helpers for Discover's Pilot tests: the real app against the local Hub stand-in and the fake Ollama.

The Hub is tests/fakes/fake_hub.py with huggingface_hub pointed at it (the
`hub` fixture of tests/core/discover_support.py); the GPU is the fake NVML's
RTX 4090 (24 GiB); Ollama, where a test needs it, is the fake server. The
client code, the app, the planner and the hardware probe are the real ones.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from textual.pilot import Pilot

from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe
from tests.core.discover_support import hub, tiny_repo  # noqa: F401 (the hub fixture, for the tests)
from tests.fakes.fake_hub import FakeHub, HubRepo
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.tui.conftest import wait_for
from tui.app import LlamadeckApp, make_app
from tui.screens.discover.screen import DiscoverScreen
from tui.services import Services

SIZE = (80, 24)
TINY = "someone/Tiny-GGUF"


def discover_app(settings: Settings, tmp_path: Path, ollama: FakeOllama | None = None) -> LlamadeckApp:
    """The real app on one fake RTX 4090, with a gguf_dirs folder; `ollama` becomes the host "fake"."""
    settings = replace(settings, gguf_dirs=(tmp_path / "models",))
    if ollama is not None:
        settings = replace(settings, hosts=(HostConfig(name="fake", url=ollama.url),), default_host="fake")
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
    return make_app(settings, Services(hardware=probe))


def stock(fake: FakeHub, folder: Path) -> HubRepo:
    """The tiny repo (three quants, a split F16, a projector), most downloaded, and two more to page."""
    repo = fake.add(tiny_repo(folder / "tiny", TINY, downloads=900,
                              gguf={"architecture": "llama", "total": 1_000_000}))
    fake.add(tiny_repo(folder / "gated", "corp/Gated-GGUF", gated="manual", downloads=500))
    fake.add(HubRepo("someone/No-GGUF-Here", {"README.md": repo.files["README.md"]}, downloads=100,
                     tags=("gguf",)))
    return repo


def discover(pilot: Pilot[object]) -> DiscoverScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DiscoverScreen), f"expected Discover, got {screen!r}"
    return screen


async def open_discover(pilot: Pilot[object]) -> DiscoverScreen:
    """Press 6 and wait until the first search (no words: the most downloaded) and its verdicts are in."""
    await pilot.press("6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DiscoverScreen) and pilot.app.screen.settled
                   and pilot.app.screen.searched > 0)
    return discover(pilot)


async def open_repo(pilot: Pilot[object], repo_id: str) -> DiscoverScreen:
    """Move the cursor to `repo_id` in the results, Enter, and wait until its files are planned."""
    screen = discover(pilot)
    ids = [s.repo_id for s in screen.results.results]
    screen.results.focus()
    screen.results.move_cursor(row=ids.index(repo_id))
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.settled and screen.filed > 0)
    return screen


def one_line(text: str) -> str:
    """`text` with every run of whitespace one space, so a wrapped sentence can be searched."""
    return re.sub(r"\s+", " ", text)
