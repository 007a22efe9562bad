"""The highlighted job's findings: why it stopped, what the pre-flight found, what it made.

A failure comes first, as the pipeline reports it: the sentence, the
tool's own last lines (verbatim, dimmed) and llamadeck's diagnosis when it
recognised them. Then every pre-flight check with its mark, so "need X on
/path, have Y", a missing shard or a broken tool is read before anything
heavy starts, and stays readable after. Then the outputs of a finished job.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.pipeline.job_state import CANCELLED, FAILED, SUCCEEDED, JobState
from core.units import plural

CHECK_MARKS = {"ok": ("ok", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "bold red"),
               "skip": ("skip", "dim")}
TAIL_SHOWN = 20


def report_text(job: JobState) -> Text:
    text = Text()
    failure = job.failure
    if failure is not None and failure.stage == "preflight" and failure.tail:
        # The pre-flight's message joins its failed checks; listed one per line they read better.
        n = len(failure.tail)
        text.append(f"✗ The pre-flight found {n} problem{'s' if n > 1 else ''}; nothing heavy was run:\n",
                    style="bold red")
        for line in failure.tail:
            text.append(f"  • {line}\n")
        text.append("\n")
    elif failure is not None:
        text.append(f"✗ {failure.stage} failed: ", style="bold red")
        text.append(failure.message + "\n")
        if failure.tail:
            text.append("\nThe tool's last lines:\n", style="bold")
            for line in failure.tail[-TAIL_SHOWN:]:
                text.append(f"  {line}\n", style="dim")
        if failure.diagnosis:
            text.append("\nWhy: ", style="bold")
            text.append(failure.diagnosis + "\n")
        text.append("\n")
    elif job.finished is not None and job.status == CANCELLED:
        text.append("■ cancelled: ", style="bold yellow")
        text.append(job.finished.message + "\n\n")
    if job.checks:
        failed = sum(1 for c in job.checks if c.status == "fail")
        warned = sum(1 for c in job.checks if c.status == "warn")
        summary = plural(len(job.checks), "check")
        if failed:
            summary += f", {failed} failed"
        if warned:
            summary += f", {warned} warning{'s' if warned > 1 else ''}"
        text.append(f"Pre-flight ({summary}):\n", style="bold")
        for check in job.checks:
            mark, style = CHECK_MARKS.get(check.status, (check.status, ""))
            text.append(f"{mark:>4} ", style=style)
            text.append(f"{check.name:<12} ", style="bold" if check.status == "fail" else "")
            text.append(check.message + "\n")
    elif job.status not in (FAILED, CANCELLED):
        text.append("The pre-flight checks show here once they ran.\n", style="dim")
    if job.status == SUCCEEDED and job.finished is not None:
        out = job.finished.outputs
        text.append("\nMade:\n", style="bold")
        if out.quantized is not None:
            text.append(f"  {out.quantized}\n")
        if out.converted is not None and out.converted != out.quantized:
            text.append(f"  {out.converted} (kept)\n")
        if out.ollama_model:
            digest = f" ({out.ollama_digest[:19]}…)" if out.ollama_digest else ""
            text.append(f"  Ollama model {out.ollama_model}{digest}\n")
    return text


class JobReport(Static):
    def show_job(self, job: JobState | None) -> None:
        self.update(report_text(job) if job is not None else Text("No job is highlighted.", style="dim"))
