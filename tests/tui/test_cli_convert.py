"""`llamadeck convert` on a terminal: a failure is said once, and the last line names the whole log."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

import cli.main as cli
from cli.convert import ConvertDisplay, JobLogFile
from core.pipeline.types import JobFinished, JobOutputs, JobPlanned, ModelSource, StageFailed, StageStarted
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model

_LOG = re.compile(r"The whole log: (\S+)")


def test_a_failed_preflight_says_each_finding_once_and_names_the_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "ckpt" / "tiny-llama"
    shutil.copytree(ensure_hf_model(TINY_LLAMA), source)
    config = tmp_path / "config.toml"
    config.write_text(f'[llamacpp]\nbin_dir = "{tmp_path / "no-build"}"\n'
                      f'convert_script = "{tmp_path / "no-llama.cpp" / "convert_hf_to_gguf.py"}"\n')
    code = cli.main(["--config", str(config), "convert", str(source), "--out", str(tmp_path / "out"),
                     "--no-import"])
    err = capsys.readouterr().err
    assert code == 1
    findings = [f"There is no converter at {tmp_path / 'no-llama.cpp' / 'convert_hf_to_gguf.py'}",
                f"llama-quantize is not at {tmp_path / 'no-build' / 'llama-quantize'}"]
    for finding in findings:
        assert err.count(finding) == 1, err
    assert "[1/3] preflight FAILED: 2 checks failed (marked FAIL above)" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("failed after ")
    m = _LOG.search(last)
    assert m is not None, last
    log = Path(m[1]).read_text()
    assert all(finding in log for finding in findings)
    assert not (tmp_path / "out").exists()


def test_a_failed_tool_is_said_once_with_its_last_lines(tmp_path: Path) -> None:
    out = io.StringIO()
    log = JobLogFile.open_for("abcd1234")
    assert log is not None
    display = ConvertDisplay(out, tty=False, width=100, log=log)
    message = "convert_hf_to_gguf.py failed with exit status 1."
    source = ModelSource(kind="hf-dir", name="m", path=tmp_path)
    for event in (JobPlanned("abcd1234", source, ("preflight", "convert"), None, None, JobOutputs()),
                  StageStarted("convert", "Converting to GGUF"),
                  StageFailed("convert", message, ("Traceback (most recent call last):", "KeyError: 'x'"),
                              "something llamadeck recognised"),
                  JobFinished("failed", 5.0, f"convert failed: {message}", JobOutputs())):
        display.show(event)
    text = out.getvalue()
    assert text.count(message) == 1, text
    assert "KeyError: 'x'" in text and "why: something llamadeck recognised" in text
    assert text.strip().splitlines()[-1] == f"failed after 0:05. The whole log: {log.path}"
    assert message in log.path.read_text() and "KeyError: 'x'" in log.path.read_text()


def test_an_out_that_is_a_file_fails_the_preflight_not_the_quantize_stage(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "ckpt" / "tiny-llama"
    shutil.copytree(ensure_hf_model(TINY_LLAMA), source)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    code = cli.main(["convert", str(source), "--out", str(a_file), "--no-import"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count(f"{a_file} cannot be the output folder: the output folder is a file.") == 1, err
    assert "preflight FAILED" in err and "unexpected error" not in err
    assert a_file.read_text() == "not a folder"


def test_a_token_a_tool_quotes_is_masked_on_the_terminal_and_in_the_job_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "hf_" + "Zq8" * 10
    monkeypatch.setenv("HF_TOKEN", token)
    out = io.StringIO()
    log = JobLogFile.open_for("feed0001")
    assert log is not None
    display = ConvertDisplay(out, tty=False, width=100, log=log)
    source = ModelSource(kind="hf-repo", name="org/m", path=tmp_path)
    leak = f"401 Client Error for url: ... (headers: authorization: Bearer {token})"
    for event in (JobPlanned("feed0001", source, ("preflight", "download"), None, None, JobOutputs()),
                  StageStarted("download", "Downloading"),
                  StageFailed("download", leak, (f"Authorization: Bearer {token}",), None),
                  JobFinished("failed", 1.0, f"download failed: {leak}", JobOutputs())):
        display.show(event)
    shown, kept = out.getvalue(), log.path.read_text()
    assert "Bearer ****" in shown and "Bearer ****" in kept
    assert token not in shown and token not in kept
