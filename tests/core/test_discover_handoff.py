"""What a Discover file row hands on: Ollama's hf.co name (refused with a sentence where Ollama cannot
pull the file), and the planner's model made from the remote header."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.discover.evaluate import evaluate_repo
from core.discover.files import list_files
from core.discover.handoff import ollama_pull_name, planned_model
from core.errors import DiscoverError
from tests.core.discover_support import cache_in, hub, hub_for, machine, tiny_repo  # noqa: F401
from tests.fakes.fake_hub import FakeHub


def test_pull_names_and_planned_models(hub: FakeHub, tmp_path: Path) -> None:  # noqa: F811
    hub.add(tiny_repo(tmp_path / "repo"))
    listing = list_files("someone/Tiny-GGUF", hub=hub_for(hub))
    result = evaluate_repo(listing, machine(), hub=hub_for(hub), cache=cache_in(tmp_path))
    by_quant = {f.quant: f for f in result.fits if f.group.is_model}
    assert ollama_pull_name(listing.repo_id, by_quant["Q4_K_M"].group) == "hf.co/someone/Tiny-GGUF:Q4_K_M"
    with pytest.raises(DiscoverError, match=r"split in .* parts, and Ollama pulls single-file"):
        ollama_pull_name(listing.repo_id, by_quant["F16"].group)
    projector = next(f for f in result.fits if f.group.kind == "mmproj")
    with pytest.raises(DiscoverError, match="not a model"):
        ollama_pull_name(listing.repo_id, projector.group)

    model = planned_model(listing, by_quant["Q8_0"])
    assert model.kind == "gguf" and model.path == "Tiny-Q8_0.gguf" and model.label == "Tiny-Q8_0.gguf"
    assert model.facts.file_type == "Q8_0"
    with pytest.raises(DiscoverError):
        planned_model(listing, projector)
