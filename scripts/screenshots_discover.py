"""The Discover screenshot for scripts/screenshots.py: GGUF repos on the local Hub stand-in, one repo's files.

The Hub is tests/fakes/fake_hub.py serving hollow GGUFs (tests/fakes/hollow_gguf.py):
the real header and tensor table of each model, every quant's tensors typed as
llama-quantize types them, and no weights, so a 54 GB BF16 file takes a few KiB of
disk. Names, download counts and dates are made up to look like the Hub's. The
machine is the fake NVML's RTX 4090 24 GiB with 64 GiB of RAM (fixed, so the
verdicts do not depend on the box that runs this); every verdict, tok/s and max
context is the planner's, read from those headers by HTTP ranges as on the real Hub.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from unittest import mock

from core.config import Settings
from core.facts.gguf import facts_from_gguf
from core.hardware.probe import HardwareProbe
from core.hardware.types import MachineInfo
from tests.core.discover_support import hollow_quants
from tests.fakes.fake_hub import FakeHub, HubRepo
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, GiB
from tui.app import make_app
from tui.services import Services

# (repo, catalog model, file stem, quants, downloads, last modified)
REPOS = (
    ("unsloth/gemma-3-27b-it-GGUF", "gemma-3-27b", "gemma-3-27b-it",
     ("Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "BF16"), 412_908, "2025-05-06"),
    ("Qwen/Qwen3-8B-GGUF", "qwen3-8b", "Qwen3-8B", ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"), 301_554,
     "2025-05-12"),
    ("bartowski/Qwen2.5-72B-Instruct-GGUF", "qwen2.5-72b", "Qwen2.5-72B-Instruct", ("Q2_K", "Q4_K_M"),
     98_120, "2024-11-03"),
    ("unsloth/Qwen3-30B-A3B-GGUF", "qwen3-30b-a3b", "Qwen3-30B-A3B", ("Q4_K_M", "Q8_0"), 254_871,
     "2025-07-21"),
    ("bartowski/Llama-3.3-70B-Instruct-GGUF", "llama-3.3-70b", "Llama-3.3-70B-Instruct", ("Q4_K_M",),
     87_332, "2024-12-09"),
    ("lmstudio-community/Mistral-Nemo-Instruct-2407-GGUF", "mistral-nemo-12b", "Mistral-Nemo-Instruct-2407",
     ("Q4_K_M", "Q8_0"), 61_540, "2024-07-19"),
)
OPENED = "unsloth/gemma-3-27b-it-GGUF"
HOSTNAME = "gpu-box"  # as in the other screenshots: nothing about the box that runs this


class FixedRam(HardwareProbe):
    """The real probe on the fake NVML, with 64 GiB of RAM whatever this box has."""

    def machine_info(self) -> MachineInfo:
        return dataclasses.replace(super().machine_info(), ram_total=64 * GiB)


def stock(fake: FakeHub, folder: Path) -> None:
    """The repos, each with the Hub's GGUF summary (architecture, parameters) read from its own header."""
    for repo_id, model, stem, quants, downloads, day in REPOS:
        files = hollow_quants(folder / model, model, quants)
        named = {f"{stem}-{q}.gguf": files[f"{model}-{q}.gguf"] for q in quants}
        facts = facts_from_gguf(next(iter(named.values())))
        fake.add(HubRepo(repo_id, named, downloads=downloads, last_modified=f"{day}T10:00:00.000Z",
                         gguf={"architecture": facts.architecture, "total": facts.n_params}))


async def discover_shot(workdir: Path, size: tuple[int, int]) -> str:
    """The repos by downloads; gemma-3-27b's files listed, its Q6_K row (split on a 24 GiB card) lit."""
    from huggingface_hub import constants

    from tui.screens.discover.screen import DiscoverScreen

    with FakeHub() as fake, mock.patch.object(constants, "HF_HUB_OFFLINE", False), \
            mock.patch.object(constants, "ENDPOINT", fake.url), mock.patch("socket.gethostname",
                                                                           return_value=HOSTNAME):
        stock(fake, workdir / "hub")
        settings = Settings(ollama_models_dir=workdir / "ollama-models", hf_cache_dir=workdir / "hf-cache",
                            gguf_dirs=(workdir / "models",))
        probe = FixedRam.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
        app = make_app(settings, Services(hardware=probe))
        async with app.run_test(size=size) as pilot:
            await pilot.press("6")
            deadline = time.monotonic() + 120

            async def until(ready: object) -> None:
                while not (isinstance(app.screen, DiscoverScreen) and ready()):  # type: ignore[operator]
                    if time.monotonic() > deadline:
                        raise RuntimeError("Discover never settled")
                    await pilot.pause(0.1)

            await until(lambda: app.screen.searched > 0 and app.screen.settled)
            screen = app.screen
            assert isinstance(screen, DiscoverScreen)
            screen.results.move_cursor(row=[s.repo_id for s in screen.results.results].index(OPENED))
            await pilot.press("enter")
            await until(lambda: screen.filed > 0 and screen.settled)
            listing = screen.files.listing
            assert listing is not None
            screen.files.move_cursor(row=next(i for i, g in enumerate(listing.groups) if g.quant == "Q6_K"))
            await pilot.pause(0.5)
            return app.export_screenshot(title="llamadeck")
