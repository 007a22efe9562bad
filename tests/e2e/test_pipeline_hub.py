"""A Hub repo id as the source: listing, gated repos, download with resume, sha256 checks.

There is no network here, so `huggingface_hub` itself talks to a small local
stand-in of the Hub (tests/fakes/fake_hub.py) through HF_ENDPOINT, the way a
mirror such as hf-mirror.com is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import PipelineError
from core.pipeline import hf_download
from core.pipeline.job import Job
from core.pipeline.progress import ProgressMeter
from core.pipeline.types import JobEvent, JobPlanned, LogLine, PreflightReported, StageProgress
from tests.e2e.pipeline_support import failure, finished, run_job, spec, stage_outcomes, tool_settings
from tests.fakes.fake_hub import FakeHub, header, repo_from_folder
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
from tests.support.llamacpp import LlamaCppTools

pytestmark = pytest.mark.e2e
REPO = "tiny/tiny-llama"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    import huggingface_hub.constants

    with FakeHub() as fake:
        fake.add(repo_from_folder(REPO, ensure_hf_model(TINY_LLAMA, shards=3)))
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        # huggingface_hub reads HF_HUB_OFFLINE once, at import; the test isolation sets it.
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        yield fake


@pytest.fixture
def settings(llamacpp_tools: LlamaCppTools, converter_python: Path, fake_ollama: FakeOllama,
             tmp_path: Path):  # type: ignore[no-untyped-def]
    return tool_settings(llamacpp_tools, converter_python, fake_ollama.url, hf_cache=tmp_path / "hf-cache")


async def test_a_repo_id_is_downloaded_checked_converted_and_imported(hub: FakeHub, tmp_path: Path, settings,
                                                                      fake_ollama: FakeOllama) -> None:
    out = tmp_path / "out"
    events = await run_job(Job(spec(REPO, out, quant="Q4_K_M"), settings))
    done = finished(events)
    assert done.status == "succeeded", done.message
    assert isinstance(events[0], JobPlanned)
    assert events[0].stages == ("preflight", "download", "convert", "quantize", "import")
    assert stage_outcomes(events) == dict.fromkeys(events[0].stages, "finished")
    # The checkpoint landed in the Hub cache, pinned to the listed commit, and was checked file by file.
    model_dir = done.outputs.model_dir
    assert model_dir is not None and model_dir.is_relative_to(tmp_path / "hf-cache")
    assert model_dir.name == hub.repos[REPO].sha
    logs = [e.text for e in events if isinstance(e, LogLine) and e.stage == "download"]
    assert sum("sha256 matches the Hub" in t for t in logs) == 4  # 3 shards + tokenizer.model
    progress = [e for e in events if isinstance(e, StageProgress) and e.stage == "download"]
    assert progress and progress[-1].fraction == pytest.approx(1.0)
    # Speed needs a measuring window, which a 7 MB download on loopback may finish inside;
    # tests/core/test_progress_meter.py checks speed and ETA on a controlled clock.
    assert all(e.speed is None or e.speed > 0 for e in progress)
    assert [e.done_bytes for e in progress] == sorted(e.done_bytes for e in progress)
    assert (out / "tiny-llama-Q4_K_M.gguf").exists()
    assert fake_ollama.find("tiny-llama:q4_k_m") is not None


def test_listing_and_default_file_choice(hub: FakeHub) -> None:
    listing = hf_download.list_repo(REPO)
    assert listing.revision == hub.repos[REPO].sha
    shard = next(f for f in listing.files if f.path == "model-00001-of-00003.safetensors")
    assert shard.size == (ensure_hf_model(TINY_LLAMA, shards=3) / shard.path).stat().st_size
    assert shard.sha256 is not None and len(shard.sha256) == 64
    chosen = {f.path for f in hf_download.select_files(listing)}
    assert {"config.json", "tokenizer.model", "model.safetensors.index.json"} <= chosen
    assert {f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)} <= chosen
    only = hf_download.select_files(listing, ["*.json"])
    assert all(f.path.endswith(".json") for f in only)
    with pytest.raises(PipelineError, match="No file of"):
        hf_download.select_files(listing, ["*.bin"])


async def test_a_gated_repo_needs_a_token(hub: FakeHub, tmp_path: Path, settings,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repos[REPO].gated = "manual"
    monkeypatch.setattr("core.pipeline.checks._stored_token", lambda: None)
    events = await run_job(Job(spec(REPO, tmp_path / "out", import_to_ollama=False), settings))
    done = finished(events)
    assert done.status == "failed" and failure(events).stage == "preflight"
    assert "gated" in done.message and f"{hub.url}/{REPO}" in done.message and "HF_TOKEN" in done.message

    # With the token, the files come (the stand-in refuses them without it).
    monkeypatch.setenv("HF_TOKEN", hub.token)
    listing = hf_download.list_repo(REPO)
    files = hf_download.select_files(listing, ["config.json"])
    meter = ProgressMeter("download", lambda e: None)
    snapshot = await hf_download.download(listing, files, tmp_path / "c", meter, lambda t: None)
    assert (snapshot / "config.json").exists()
    auth = [header(h, "Authorization") for m, p, h in hub.requests
            if p.endswith("/config.json") and m == "GET"]
    assert auth and auth[-1] == f"Bearer {hub.token}"


async def test_an_unknown_repo_is_a_sentence(hub: FakeHub, tmp_path: Path, settings) -> None:
    events = await run_job(Job(spec("nobody/nothing", tmp_path / "out", import_to_ollama=False), settings))
    done = finished(events)
    assert done.status == "failed"
    assert f"There is no model nobody/nothing on {hub.url}" in done.message


async def test_a_repo_whose_index_names_a_missing_shard(hub: FakeHub, tmp_path: Path, settings) -> None:
    del hub.repos[REPO].files["model-00003-of-00003.safetensors"]
    events = await run_job(Job(spec(REPO, tmp_path / "out", import_to_ollama=False), settings))
    done = finished(events)
    assert done.status == "failed" and failure(events).stage == "preflight"
    assert "model-00003-of-00003.safetensors" in done.message
    assert not hub.ranges("model-00001-of-00003.safetensors"), "no weights were fetched"


async def test_a_corrupt_download_fails_the_sha256_check(hub: FakeHub, tmp_path: Path) -> None:
    hub.corrupt.add("model-00002-of-00003.safetensors")
    listing = hf_download.list_repo(REPO)
    files = hf_download.select_files(listing)
    meter = ProgressMeter("download", lambda e: None)
    snapshot = await hf_download.download(listing, files, tmp_path / "c", meter, lambda t: None)
    with pytest.raises(PipelineError, match="does not match the Hub's sha256"):
        await hf_download.verify(snapshot, files, meter, lambda t: None)


async def test_a_dropped_connection_resumes_with_a_range_request(hub: FakeHub, tmp_path: Path) -> None:
    name = "model-00002-of-00003.safetensors"
    listing = hf_download.list_repo(REPO)
    files = hf_download.select_files(listing, [name])
    hub.drop_after = 1 << 20
    meter = ProgressMeter("download", lambda e: None)
    snapshot = await hf_download.download(listing, files, tmp_path / "c", meter, lambda t: None)
    await hf_download.verify(snapshot, files, meter, lambda t: None)
    ranges = hub.ranges(name)
    assert len(ranges) == 2 and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"


async def test_cancel_during_download_leaves_no_partial_file_and_keeps_finished_ones(
        hub: FakeHub, tmp_path: Path, settings) -> None:
    hub.chunk_delay = 0.05  # ~1.3 MB/s: the first shard takes a couple of seconds
    cancelled_at: list[int] = []

    def on_event(job: Job, event: JobEvent) -> None:
        downloading = isinstance(event, StageProgress) and event.stage == "download"
        if downloading and (event.done_bytes or 0) > 300_000 and not cancelled_at:  # type: ignore[union-attr]
            cancelled_at.append(event.done_bytes or 0)  # type: ignore[union-attr]
            job.cancel()

    events = await run_job(Job(spec(REPO, tmp_path / "out", import_to_ollama=False), settings), on_event)
    done = finished(events)
    assert done.status == "cancelled" and "during download" in done.message
    cache = tmp_path / "hf-cache"
    assert not list(cache.rglob("*.incomplete")), "a partial download was left in the cache"
    assert list(cache.rglob("config.json")), "files finished before the cancel are kept"

    # The next run fetches only what was not finished.
    hub.chunk_delay = 0
    listing = hf_download.list_repo(REPO)
    files = hf_download.select_files(listing)
    meter = ProgressMeter("download", lambda e: None)
    snapshot = await hf_download.download(listing, files, cache, meter, lambda t: None)
    await hf_download.verify(snapshot, files, meter, lambda t: None)
    assert len(hub.ranges("config.json")) == 1
    assert len(hub.ranges("model-00001-of-00003.safetensors")) == 2
    await asyncio.sleep(0)


async def test_a_rerun_from_the_cache_knows_its_outputs_before_anything_runs(hub: FakeHub, tmp_path: Path,
                                                                             settings) -> None:
    """Everything cached and made already: the pre-flight names the outputs from the cached snapshot,
    finds them made by this recipe, and counts no disk for them; no stage does any work."""
    out = tmp_path / "out"
    first = finished(await run_job(Job(spec(REPO, out, quant="Q4_K_M", import_to_ollama=False), settings)))
    assert first.status == "succeeded", first.message
    events = await run_job(Job(spec(REPO, out, quant="Q4_K_M", import_to_ollama=False), settings))
    assert finished(events).status == "succeeded"
    assert stage_outcomes(events) == {"preflight": "finished", "download": "skipped", "convert": "skipped",
                                      "quantize": "skipped"}
    report = next(e for e in events if isinstance(e, PreflightReported))
    assert report.disk == (), "outputs already made were counted as disk the job needs"
