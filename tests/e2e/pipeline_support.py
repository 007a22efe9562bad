"""Helpers shared by the pipeline's end-to-end tests: settings for the real tools, running a job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from core.config import HostConfig, LlamaCppConfig, Settings
from core.pipeline.job import Job
from core.pipeline.types import JobEvent, JobFinished, JobSpec, StageFailed, StageFinished, StageSkipped
from tests.support.llamacpp import LlamaCppTools


def tool_settings(tools: LlamaCppTools, python: Path, ollama_url: str | None = None,
                  hf_cache: Path | None = None) -> Settings:
    hosts = (HostConfig(name="fake", url=ollama_url),) if ollama_url else ()
    extra = {"hf_cache_dir": hf_cache} if hf_cache is not None else {}
    return Settings(
        llamacpp=LlamaCppConfig(bin_dir=tools.bin_dir, convert_script=tools.convert_script,
                                convert_python=python),
        hosts=hosts, default_host="fake" if ollama_url else None, **extra,
    )


async def run_job(job: Job, on_event: Callable[[Job, JobEvent], None] | None = None,
                  timeout: float = 300) -> list[JobEvent]:
    """All events of a job; `on_event` sees each as it comes (to cancel at a chosen moment)."""
    events: list[JobEvent] = []

    async def consume() -> None:
        async for event in job.events():
            events.append(event)
            if on_event is not None:
                on_event(job, event)

    await asyncio.wait_for(consume(), timeout)
    return events


def finished(events: list[JobEvent]) -> JobFinished:
    last = events[-1]
    assert isinstance(last, JobFinished), f"the stream did not end with JobFinished: {last!r}"
    return last


def stage_outcomes(events: list[JobEvent]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in events:
        if isinstance(e, StageFinished):
            out[e.stage] = "finished"
        elif isinstance(e, StageSkipped):
            out[e.stage] = "skipped"
        elif isinstance(e, StageFailed):
            out[e.stage] = "failed"
    return out


def failure(events: list[JobEvent]) -> StageFailed:
    failed = [e for e in events if isinstance(e, StageFailed)]
    assert failed, "no stage failed"
    return failed[-1]


def leftovers(folder: Path) -> list[str]:
    """Partial outputs a job must never leave behind."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".part"))


def spec(source: Path | str, out: Path, **kwargs: object) -> JobSpec:
    return JobSpec(source=str(source), out_dir=out, **kwargs)  # type: ignore[arg-type]
