"""How the jobs screen folds a job's events into what it shows: plain data, no terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.pipeline.job_state import LOG_LINES, JobState, StageState, expected_stages
from core.pipeline.types import (
    DiskNeed,
    JobFinished,
    JobOutputs,
    JobPlanned,
    JobSpec,
    LogLine,
    ModelSource,
    PreflightCheck,
    PreflightReported,
    StageFailed,
    StageFinished,
    StageProgress,
    StageSkipped,
    StageStarted,
)
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
from tui.widgets.jobs.queue import state_text
from tui.widgets.jobs.stages import progress_text, stage_text

STAGES = ("preflight", "convert", "quantize", "import")


def planned_job() -> JobState:
    job = JobState(1, JobSpec("/models/tiny-llama"))
    job.start(now=100.0)
    source = ModelSource("hf-dir", "tiny-llama", path=Path("/models/tiny-llama"))
    job.apply(JobPlanned("abc", source, STAGES, "Q4_K_M", 2_256_800, JobOutputs()), now=100.0)
    return job


def statuses(job: JobState) -> dict[str, str]:
    return {s.name: s.status for s in job.stages}


def test_a_stage_runs_then_finishes_with_its_file_and_size() -> None:
    job = planned_job()
    assert statuses(job) == dict.fromkeys(STAGES, "pending")
    job.apply(StageStarted("convert", "Converting to GGUF"), now=101.0)
    job.apply(StageProgress("convert", 0.5, detail="tensor 20/39"), now=102.0)
    assert job.running_stage is not None and job.running_stage.name == "convert"
    assert stage_text(job.stage("convert"), now=103.5) == "▶ convert   running    0:02  tensor 20/39"
    job.apply(StageFinished("convert", 4.2, "/out/tiny-llama-F16.gguf", "9.0 MiB"), now=105.2)
    assert job.stage("convert").status == "done"
    done = "✓ convert   done       0:04  tiny-llama-F16.gguf · 9.0 MiB"  # the name; the path is in the log
    assert stage_text(job.stage("convert"), now=200.0) == done
    assert job.log[-1] == "── Converting to GGUF ──"  # the stage's rule; tool lines follow it


def test_a_failure_marks_its_stage_and_the_rest_not_run() -> None:
    job = planned_job()
    job.apply(StageFinished("preflight", 0.5, None, "8 checks passed"), now=100.5)
    job.apply(StageStarted("convert", "Converting to GGUF"), now=101.0)
    failed = StageFailed("convert", "convert_hf_to_gguf.py failed with exit status 1.", ("KeyError: 'x'",),
                         "The checkpoint has no tokenizer.")
    job.apply(failed, now=103.0)
    job.apply(JobFinished("failed", 3.0, "convert failed: ..."), now=103.0)
    assert statuses(job) == {"preflight": "done", "convert": "failed", "quantize": "not run",
                             "import": "not run"}
    assert job.failure is failed and job.status == "failed"
    assert job.stage("convert").elapsed == pytest.approx(2.0)
    assert state_text(job, now=500.0).plain == "✗ failed 0:03"  # the job's time, frozen when it ended


def test_cancel_marks_the_running_stage_cancelled_and_retry_starts_over() -> None:
    job = planned_job()
    job.apply(StageStarted("quantize", "Quantizing"), now=101.0)
    job.apply(LogLine("quantize", "Cancelled: the running tool was stopped, its partial output removed."))
    job.apply(JobFinished("cancelled", 2.0, "Cancelled during quantize; nothing partial was left behind."),
              now=102.0)
    assert statuses(job)["quantize"] == "cancelled" and statuses(job)["import"] == "not run"
    assert job.log[-1] == "Cancelled during quantize; nothing partial was left behind."
    job.retry(STAGES)
    assert job.status == "waiting" and job.attempt == 2
    assert statuses(job) == dict.fromkeys(STAGES, "pending")
    assert job.finished is None and job.failure is None and job.elapsed() is None
    assert job.log[-1] == "── attempt 2 ──"  # the last attempt's lines stay above it


def test_a_passed_preflight_says_what_disk_it_needs_and_how_many_warnings() -> None:
    job = planned_job()
    job.apply(StageStarted("preflight", "Checking"), now=100.0)
    checks = (PreflightCheck("shards", "ok", "..."), PreflightCheck("quant", "warn", "Requantizing ..."))
    disk = DiskNeed("/data/gguf", "/data", 81 << 20, 40 << 30, ("F16 GGUF",))
    job.apply(PreflightReported(checks, (disk,)))
    job.apply(StageFinished("preflight", 0.4, None, "2 checks passed"), now=100.4)
    assert job.stage("preflight").detail == \
        "2 checks passed · 1 warning (v) · need 81.0 MiB, have 40.0 GiB on /data/gguf"


def test_a_skipped_stage_says_why() -> None:
    job = planned_job()
    job.apply(StageStarted("quantize", "Quantizing"), now=101.0)
    job.apply(StageSkipped("quantize", "tiny-llama-Q4_K_M.gguf is already there"), now=101.1)
    assert stage_text(job.stage("quantize"), now=300.0).startswith(
        "↷ quantize  skipped    0:00  tiny-llama-Q4_K_M.gguf is already there")


def test_a_waiting_job_leaves_the_queue_untouched_when_cancelled() -> None:
    job = JobState(2, JobSpec("/models/x"), [StageState(s) for s in STAGES])
    job.cancel_waiting()
    assert job.status == "cancelled" and set(statuses(job).values()) == {"not run"}
    assert job.finished is not None and "nothing was run" in job.finished.message


def test_the_log_is_bounded() -> None:
    job = planned_job()
    for i in range(LOG_LINES + 50):
        job.apply(LogLine("convert", f"line {i}"))
    assert len(job.log) == LOG_LINES and job.log[-1] == f"line {LOG_LINES + 49}"


def test_progress_shows_only_what_the_tool_measured() -> None:
    bytes_known = StageProgress("quantize", 0.45, 3 * 2**20, 7 * 2**20, 5 * 2**20, 1.0, "tensor 18/39")
    assert progress_text(bytes_known, width=10).plain == "▕████▌░░░░░▏  45%  3.0/7.0 MiB  5.0 MiB/s  ETA 0:01"
    fraction_only = StageProgress("convert", 0.25, detail="tensor 10/39")
    assert progress_text(fraction_only, width=8).plain == "▕██░░░░░░▏  25%"
    unknown = StageProgress("import", None, detail="uploading")
    assert progress_text(unknown, width=4).plain == "▕░░░░▏   ?%"


def test_expected_stages_follow_the_source(tmp_path: Path) -> None:
    settings = Settings(gguf_dirs=(tmp_path / "out",))
    model = ensure_hf_model(TINY_LLAMA)
    assert expected_stages(JobSpec(str(model)), settings) == ("tiny-llama", STAGES)
    assert expected_stages(JobSpec(str(model), quant=None, import_to_ollama=False), settings) == (
        "tiny-llama", ("preflight", "convert"))
    assert expected_stages(JobSpec("Qwen/Qwen2.5-7B-Instruct"), settings) == (
        "Qwen2.5-7B-Instruct", ("preflight", "download", "convert", "quantize", "import"))
    assert expected_stages(JobSpec(str(tmp_path / "missing")), settings) == (None, STAGES)
