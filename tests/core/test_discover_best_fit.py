"""Each search result's best file here: the largest that runs on the GPU, read and planned exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.discover.best_fit import best_fits
from core.discover.types import GATED_NOTE, FileFit
from tests.core.discover_support import cache_in, hollow_quants, hub, hub_for, machine
from tests.fakes.fake_hub import FakeHub, HubRepo

__all__ = ["hub"]

QUANTS = ("F16", "Q8_0", "Q6_K", "Q4_K_M", "IQ4_XS")


@pytest.fixture
def repos(hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> FakeHub:
    files = hollow_quants(tmp_path_factory.mktemp("hollow"), "llama-3.1-8b", QUANTS)
    hub.add(HubRepo("bartowski/Llama-3.1-8B-GGUF", files))
    hub.add(HubRepo("meta/gated-GGUF", files, gated="manual"))
    return hub


@pytest.mark.parametrize(("gpu", "quant", "badge"), [("4060", "Q4_K_M", "fits"), ("4090", "F16", "fits"),
                                                     ("", "F16", "cpu-only")])
def test_the_largest_file_that_runs_on_the_gpu_is_picked(repos: FakeHub, tmp_path: Path, gpu: str, quant: str,
                                                         badge: str) -> None:
    found = best_fits(["bartowski/Llama-3.1-8B-GGUF"], machine(gpu, ram_gb=32), hub=hub_for(repos),
                      cache=cache_in(tmp_path))
    fit = found["bartowski/Llama-3.1-8B-GGUF"]
    assert isinstance(fit, FileFit) and fit.quant == quant and fit.badge == badge
    assert len(repos.file_reads()) <= 2, "the smallest file's header, then the chosen one's"


def test_every_repo_gets_a_verdict_or_a_sentence(repos: FakeHub, tmp_path: Path) -> None:
    found = best_fits(["bartowski/Llama-3.1-8B-GGUF", "nobody/nothing", "meta/gated-GGUF"], machine(),
                      hub=hub_for(repos, token=False), cache=cache_in(tmp_path))
    assert isinstance(found["bartowski/Llama-3.1-8B-GGUF"], FileFit)
    assert str(found["nobody/nothing"]).startswith("There is no model nobody/nothing on")
    gated = found["meta/gated-GGUF"]
    assert isinstance(gated, FileFit) and GATED_NOTE in (gated.error or "") and gated.row is None
