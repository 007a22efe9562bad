"""A repo's files planned from remote headers: the same verdict as on disk, the cache, gated repos, splits."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.discover.evaluate import evaluate_repo
from core.discover.files import list_files
from core.discover.modelscope import list_modelscope_files
from core.discover.remote_facts import cache_key
from core.discover.types import GATED_NOTE, RepoFit
from core.facts.gguf import facts_from_gguf
from core.planner.plan import plan
from tests.core.discover_support import (
    cache_in,
    hollow_quants,
    hollow_repo,
    hub,
    hub_for,
    machine,
    tiny_gguf,
    tiny_repo,
)
from tests.fakes.fake_hub import FakeHub, HubRepo

__all__ = ["hub"]

QUANTS = ("F16", "Q8_0", "Q4_K_M")


@pytest.fixture
def hollow_hub(hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> FakeHub:
    folder = tmp_path_factory.mktemp("hollow")
    hub.add(HubRepo("bartowski/Meta-Llama-3.1-8B-GGUF", hollow_quants(folder, "llama-3.1-8b", QUANTS)))
    return hub


def _evaluate(fake: FakeHub, repo_id: str, tmp_path: Path, **kwargs: object) -> RepoFit:
    hub = hub_for(fake)
    listing = list_files(repo_id, hub=hub)
    return evaluate_repo(listing, kwargs.pop("machine", machine("4060")), hub=hub,  # type: ignore[arg-type]
                         cache=cache_in(tmp_path), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("ctx", [8192, None])
def test_the_verdict_from_a_remote_header_is_the_downloaded_files(hollow_hub: FakeHub, tmp_path: Path,
                                                                   ctx: int | None) -> None:
    box = machine("4060", ram_gb=32)
    result = _evaluate(hollow_hub, "bartowski/Meta-Llama-3.1-8B-GGUF", tmp_path, machine=box, ctx=ctx)
    repo = hollow_hub.repos["bartowski/Meta-Llama-3.1-8B-GGUF"]
    assert {f.badge for f in result.fits} == {"fits", "partial"}, "a spread of verdicts, not all the same"
    for fit in result.fits:
        downloaded = repo.files[fit.group.parts[0].path]
        local = facts_from_gguf(downloaded)
        row = plan(local, box, ctx=ctx, kv_type="f16", quants=(local.file_type or "",)).rows[0]
        assert fit.facts == local
        assert fit.row == dataclasses.replace(row, file_size=downloaded.stat().st_size)
        assert fit.quant == fit.row.quant == local.file_type
    by_quant = {f.quant: f for f in result.fits}
    assert by_quant["Q4_K_M"].badge == "fits" and by_quant["F16"].placement == "partial"


def test_split_files_plan_as_the_parts_on_disk_do(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(tiny_repo(tmp_path / "repo"))
    result = _evaluate(hub, repo.repo_id, tmp_path)
    fits = {f.group.name: f for f in result.fits}
    split = fits["Tiny-F16-*-of-00003.gguf"]
    assert split.row is not None and split.facts == facts_from_gguf(repo.files[split.group.parts[1].path])
    assert split.read.requests == 3, "one request a part"
    assert fits["Tiny-Q4_K_M.gguf"].quant == "Q4_K_M" and fits["Tiny-Q4_K_M.gguf"].row is not None
    projector = fits["mmproj-Tiny-f16.gguf"]
    assert projector.row is None and "vision projector" in (projector.error or "")
    assert projector.badge == "unknown" and projector.read.requests == 0


def test_a_second_look_costs_no_request(hollow_hub: FakeHub, tmp_path: Path) -> None:
    first = _evaluate(hollow_hub, "bartowski/Meta-Llama-3.1-8B-GGUF", tmp_path)
    reads = len(hollow_hub.file_reads())
    assert reads == first.requests == 3
    again = _evaluate(hollow_hub, "bartowski/Meta-Llama-3.1-8B-GGUF", tmp_path)
    assert len(hollow_hub.file_reads()) == reads, "the headers came from the cache"
    assert all(f.read.cached and f.read.requests == 0 for f in again.fits)
    assert [f.row for f in again.fits] == [f.row for f in first.fits]
    assert [f.facts for f in again.fits] == [f.facts for f in first.fits]


def test_a_corrupt_cache_entry_is_read_again(hollow_hub: FakeHub, tmp_path: Path) -> None:
    first = _evaluate(hollow_hub, "bartowski/Meta-Llama-3.1-8B-GGUF", tmp_path)
    entries = sorted((tmp_path / "header-cache").rglob("*.json"))
    assert len(entries) == 3
    entries[0].write_text('{"format": 1, "key": ["trun')
    entries[1].write_bytes(b"\xff\x00")
    hollow_hub.reset()
    again = _evaluate(hollow_hub, "bartowski/Meta-Llama-3.1-8B-GGUF", tmp_path)
    assert len(hollow_hub.file_reads()) == 2
    assert [f.row for f in again.fits] == [f.row for f in first.fits]
    assert sorted((tmp_path / "header-cache").rglob("*.json")) == entries


def test_another_commit_or_host_is_another_entry(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(tiny_repo(tmp_path / "repo"))
    listing = list_files(repo.repo_id, hub=hub_for(hub))
    part = listing.groups[0].parts[0]
    keys = {cache_key(listing, part), cache_key(dataclasses.replace(listing, revision="f" * 40), part),
            cache_key(dataclasses.replace(listing, endpoint="https://hf-mirror.com"), part)}
    assert len(keys) == 3


def test_a_gated_repo_without_a_token_says_so_and_asks_nothing(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(tiny_repo(tmp_path / "repo", "meta/gated-GGUF", gated="manual"))
    listing = list_files(repo.repo_id, hub=hub_for(hub, token=False))
    result = evaluate_repo(listing, machine(), hub=hub_for(hub, token=False), cache=cache_in(tmp_path))
    models = [f for f in result.fits if f.group.is_model]
    assert all(GATED_NOTE in (f.error or "") and f.row is None for f in models)
    assert hub.file_reads() == []
    with_token = evaluate_repo(listing, machine(), hub=hub_for(hub), cache=cache_in(tmp_path))
    assert all(f.row is not None for f in with_token.fits if f.group.is_model)


def test_a_missing_part_is_a_sentence_without_reads(hub: FakeHub, tmp_path: Path) -> None:
    tiny_gguf(tmp_path / "M.gguf", n_layer=3, split_max_tensors=10)
    parts = sorted(tmp_path.glob("M-*-of-00003.gguf"))
    hub.add(HubRepo("a/split", {parts[0].name: parts[0], parts[2].name: parts[2]}))
    (fit,) = _evaluate(hub, "a/split", tmp_path).fits
    assert fit.error == "M-*-of-00003.gguf is split into 3 files and the repo lacks M-00002-of-00003.gguf."
    assert hub.file_reads() == []


def test_later_quants_are_read_in_one_request_each(hub: FakeHub, tmp_path: Path) -> None:
    hub.add(hollow_repo(tmp_path, "256k", "google/gemma-3-27b-GGUF", copies=4))
    result = _evaluate(hub, "google/gemma-3-27b-GGUF", tmp_path, machine=machine("4090"))
    assert sorted(f.read.requests for f in result.fits) == [1, 1, 1, 2]
    assert all(f.read.bytes_read <= 8_000_000 for f in result.fits)
    assert len({f.row for f in result.fits}) == 1


def test_a_modelscope_repo_is_read_the_same_way(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(tiny_repo(tmp_path / "repo", "Qwen/Tiny-GGUF"))
    hf = _evaluate(hub, repo.repo_id, tmp_path / "hf")
    listing = list_modelscope_files(repo.repo_id, endpoint=hub.url)
    assert listing.source == "modelscope" and listing.revision == "master"
    assert [g.name for g in listing.groups] == [g.name for g in hf.listing.groups]
    ms = evaluate_repo(listing, machine("4060"), hub=hub_for(hub), cache=cache_in(tmp_path / "ms"))
    assert [f.row for f in ms.fits] == [f.row for f in hf.fits]
    assert sum(1 for _, p, _ in hub.requests if p == "/api/v1/models/Qwen/Tiny-GGUF/repo") == ms.requests
