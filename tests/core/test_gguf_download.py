"""The download-only job: a Hub repo's GGUF (every part of a split one) into a folder, resumable, checked.

The Hub is the local stand-in (tests/fakes/fake_hub.py) with real Range
semantics; its `drop_after` knob cuts a body mid-way, as a dropped
connection does, so resuming is seen in the Range header of the next run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.config import Settings
from core.pipeline import preflight
from core.pipeline.gguf_download import GgufDownload, download_folder, download_spec, job_for
from core.pipeline.job import Job
from core.pipeline.job_state import expected_stages
from core.pipeline.types import (
    JobEvent,
    JobFinished,
    JobPlanned,
    PreflightReported,
    StageFailed,
    StageProgress,
    StageSkipped,
)
from tests.core.discover_support import TOKEN, hub, tiny_repo  # noqa: F401 (the hub fixture)
from tests.fakes.fake_hub import FakeHub, sha256_of

REPO = "someone/Tiny-GGUF"
Q8 = "Tiny-Q8_0.gguf"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(gguf_dirs=(tmp_path / "models",), hf_cache_dir=tmp_path / "hf")


async def run(job: Job) -> list[JobEvent]:
    return [event async for event in job.events()]


def ended(events: list[JobEvent]) -> JobFinished:
    last = events[-1]
    assert isinstance(last, JobFinished)
    return last


def split_paths(fake: FakeHub) -> tuple[str, ...]:
    return tuple(sorted(p for p in fake.repos[REPO].files if p.startswith("F16/")))


async def test_a_split_gguf_lands_whole_in_the_first_gguf_folder(hub: FakeHub, settings: Settings,  # noqa: F811
                                                                 tmp_path: Path) -> None:
    repo = hub.add(tiny_repo(tmp_path / "repo"))
    parts = split_paths(hub)
    assert len(parts) >= 2
    spec = download_spec(settings, REPO, repo.sha, parts, "F16")
    job = job_for(spec, settings)
    assert isinstance(job, GgufDownload)
    assert expected_stages(spec, settings) == ("Tiny-GGUF", ("preflight", "download"))
    events = await run(job)
    done = ended(events)
    assert done.status == "succeeded", done.message
    folder = tmp_path / "models" / "someone" / "Tiny-GGUF"
    assert download_folder(settings, REPO) == folder
    for path in parts:
        local = folder / Path(path).name
        assert local.is_file() and sha256_of(local) == sha256_of(repo.files[path])
    assert not list(folder.glob("*.part"))
    planned = events[0]
    assert isinstance(planned, JobPlanned) and planned.stages == ("preflight", "download")
    report = next(e for e in events if isinstance(e, PreflightReported))
    assert report.ok and report.disk and report.disk[0].path == str(folder)
    progress = [e for e in events if isinstance(e, StageProgress) and e.stage == "download"]
    assert progress and progress[-1].fraction == pytest.approx(1.0)
    assert str(folder / Path(parts[0]).name) in done.message

    again = await run(job_for(spec, settings))  # a second run finds both parts there, checked
    assert ended(again).status == "succeeded"
    assert any(isinstance(e, StageSkipped) and e.stage == "download" for e in again)


async def test_a_broken_download_resumes_from_its_last_byte(hub: FakeHub, settings: Settings,  # noqa: F811
                                                            tmp_path: Path) -> None:
    repo = hub.add(tiny_repo(tmp_path / "repo"))
    path = "Tiny-Q8_0.gguf"
    size = repo.files[path].stat().st_size
    hub.drop_after = 300_000  # the connection drops after 300 kB of the body
    spec = download_spec(settings, REPO, repo.sha, (path,), "Q8_0")
    first = await run(job_for(spec, settings))
    assert ended(first).status == "failed"
    failed = next(e for e in first if isinstance(e, StageFailed))
    assert failed.stage == "download" and "resume" in failed.message + ended(first).message
    folder = download_folder(settings, REPO)
    kept = list(folder.glob("Tiny-Q8_0.gguf.*.part"))
    have = kept[0].stat().st_size if len(kept) == 1 else 0
    assert 0 < have < size

    hub.reset()
    second = await run(job_for(spec, settings))
    assert ended(second).status == "succeeded", ended(second).message
    assert hub.ranges(path) == [f"bytes={have}-"]
    assert sha256_of(folder / path) == sha256_of(repo.files[path])
    assert hub.bytes_sent < size  # only the rest came over the wire


async def test_a_gated_repo_without_a_token_is_refused_before_anything_is_fetched(
        hub: FakeHub, settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    repo = hub.add(tiny_repo(tmp_path / "repo", gated="manual"))
    events = await run(job_for(download_spec(settings, REPO, repo.sha, (Q8,), "Q8_0"), settings))
    assert ended(events).status == "failed"
    failed = next(e for e in events if isinstance(e, StageFailed))
    assert failed.stage == "preflight" and "gated" in failed.message and "HF_TOKEN" in failed.message
    assert not hub.file_reads()


async def test_the_disk_pre_flight_stops_a_download_that_cannot_fit(
        hub: FakeHub, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    repo = hub.add(tiny_repo(tmp_path / "repo"))
    real = preflight.disk_info

    def tiny_disk(label: str, path: Path):  # type: ignore[no-untyped-def]
        info, notice = real(label, path)
        return replace(info, free=1000), notice

    monkeypatch.setattr(preflight, "disk_info", tiny_disk)
    events = await run(job_for(download_spec(settings, REPO, repo.sha, (Q8,), "Q8_0"), settings))
    failed = next(e for e in events if isinstance(e, StageFailed))
    assert failed.stage == "preflight" and "Not enough disk" in failed.message
    assert not hub.file_reads()


def test_llamadeck_files_download_fetches_a_quant_into_the_first_gguf_folder(
        hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import main as cli

    repo = hub.add(tiny_repo(tmp_path / "repo"))
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\ngguf_dirs = ["{tmp_path / "models"}"]\n')
    monkeypatch.setenv("LLAMADECK_CONFIG", str(config))
    assert cli.main(["files", REPO, "--download", "q8_0"]) == 0
    local = tmp_path / "models" / "someone" / "Tiny-GGUF" / Q8
    assert sha256_of(local) == sha256_of(repo.files[Q8])
    assert "Wrote" in capsys.readouterr().err
    assert cli.main(["files", REPO, "--download", "Q2_K"]) == 1
    assert "has no Q2_K file" in capsys.readouterr().err
