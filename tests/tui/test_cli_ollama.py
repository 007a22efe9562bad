"""`llamadeck ls / ps / pull / rm` against the fake Ollama, through the real CLI entry point."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cli.main as cli
from cli.pull import ProgressDisplay
from tests.fakes.fake_ollama import FakeOllama

SECRET = "tok-9f8e7d"
REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- ls


def test_ls_prints_a_table(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ls", "--host", fake_ollama.url)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ID", "SIZE", "PARAMS", "QUANT", "MODIFIED"]
    assert [line.split()[0] for line in lines[1:]] == [
        "qwen3:8b", "llama3.2:latest", "deepseek-r1:7b", "nomic-embed-text:latest"]  # newest first
    llama = lines[2].split()
    assert llama[:7] == ["llama3.2:latest", "a80c4f17acd5", "2.0", "GB", "3.2B", "Q4_K_M", "3"]
    assert "3 days ago" in lines[2]


@pytest.mark.parametrize(("sort", "first", "last"), [
    ("size", "qwen3:8b", "nomic-embed-text:latest"),
    ("name", "deepseek-r1:7b", "qwen3:8b"),
    ("modified", "qwen3:8b", "nomic-embed-text:latest"),
])
def test_ls_sorts(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], sort: str, first: str,
                  last: str) -> None:
    code, out, _ = run(capsys, "ls", "--sort", sort, "--host", fake_ollama.url)
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert code == 0 and (names[0], names[-1]) == (first, last)


def test_ls_json_has_sizes_in_bytes(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ls", "--json", "--sort", "size", "--host", fake_ollama.url)
    data = json.loads(out)
    assert code == 0
    assert [m["size"] for m in data] == [5_225_388_164, 4_683_075_271, 2_019_393_189, 274_302_450]
    assert data[0]["details"]["quantization_level"] == "Q4_K_M"
    assert "T" in data[0]["modified_at"]  # ISO 8601


def test_ls_on_a_server_with_no_models(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    fake_ollama.models.clear()
    code, out, _ = run(capsys, "ls", "--host", fake_ollama.url)
    assert (code, out.split()) == (0, ["NAME", "ID", "SIZE", "PARAMS", "QUANT", "MODIFIED"])


# --------------------------------------------------------------------------- ps


def test_ps_prints_like_ollama_ps(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    fake_ollama.set_running("llama3.2", size=5_137_025_024, size_vram=5_137_025_024, expires_in=299)
    fake_ollama.set_running("qwen3:8b", size=10_000_000_000, size_vram=4_000_000_000, context_length=8192,
                            expires_in=3700)
    code, out, _ = run(capsys, "ps", "--host", fake_ollama.url)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    assert lines[1].split() == ["qwen3:8b", "500a1f067a9f", "10", "GB", "60%/40%", "CPU/GPU", "8192",
                                "About", "an", "hour", "from", "now"]
    assert lines[2].split()[2:6] == ["5.1", "GB", "100%", "GPU"]
    assert lines[2].endswith("4 minutes from now")


def test_ps_json(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    fake_ollama.set_running("llama3.2", size=4_000, size_vram=0)
    code, out, _ = run(capsys, "ps", "--json", "--host", fake_ollama.url)
    [entry] = json.loads(out)
    assert code == 0
    fields = ("name", "size", "size_vram", "processor", "context_length")
    assert tuple(entry[f] for f in fields) == ("llama3.2:latest", 4_000, 0, "100% CPU", 4096)


# --------------------------------------------------------------------------- pull and rm


def test_pull_shows_progress_on_stderr(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "pull", "tinyllama", "--host", fake_ollama.url)
    assert (code, out) == (0, "")
    lines = err.splitlines()
    assert lines[0] == "pulling manifest"
    assert lines[1] == "pulling e428a5346713 637 MB"
    assert lines[2].startswith("pulling e428a5346713 100% ▕█████")
    assert lines[2].endswith("637 MB/637 MB") or "637 MB/637 MB " in lines[2]
    assert lines[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    assert fake_ollama.find("tinyllama") is not None


def test_pull_of_an_unknown_model(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "pull", "lama3", "--host", fake_ollama.url)
    assert code == 1
    assert err.splitlines()[-1] == ("llamadeck: Model 'lama3' was not found in the Ollama library. "
                                    "Check the name and tag at https://ollama.com/library.")


def test_rm(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    fake_ollama.set_running("deepseek-r1:7b")
    code, out, _ = run(capsys, "rm", "deepseek-r1:7b", "qwen3:8b", "--host", fake_ollama.url)
    assert (code, out) == (0, "deleted 'deepseek-r1:7b'\ndeleted 'qwen3:8b'\n")
    assert fake_ollama.find("deepseek-r1:7b") is None and fake_ollama.running == {}


def test_rm_of_a_missing_model(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rm", "ghost", "--host", fake_ollama.url)
    assert (code, out) == (1, "")
    assert err == (f"llamadeck: Model 'ghost' is not on Ollama at {fake_ollama.url}. "
                   "`llamadeck ls` lists the models it has.\n")


# --------------------------------------------------------------------------- hosts and errors


def test_not_running_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["ls"], ["ps"], ["pull", "x"], ["rm", "x"]):
        code, out, err = run(capsys, *command, "--host", "127.0.0.1:9")
        assert (code, out) == (1, "")
        assert err == ("llamadeck: Ollama is not running at http://127.0.0.1:9 - start it with "
                       "`ollama serve` or `systemctl start ollama`.\n")


def test_default_host_follows_ollama_host(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{fake_ollama.port}")  # bare host:port, as users set it
    code, out, _ = run(capsys, "ls")
    assert code == 0 and "llama3.2:latest" in out


def test_a_configured_host_by_name_sends_its_token(fake_ollama: FakeOllama, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[hosts.gpu]\nurl = "{fake_ollama.url}"\ntoken = "{SECRET}"\n'
                      '[hosts.gpu.headers]\n"X-Team" = "lab"\n')
    code, out, err = run(capsys, "--config", str(config), "ps", "--host", "gpu")
    assert code == 0
    request = fake_ollama.requests[-1]
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["x-team"] == "lab"
    fake_ollama.add_fault(status=401, error="unauthorized")
    code, out, err = run(capsys, "--config", str(config), "ls", "--host", "gpu")
    assert code == 1
    assert err == (f"llamadeck: Ollama at {fake_ollama.url} refused the request (401 Unauthorized). "
                   "Check the token or headers configured for host 'gpu'.\n")
    assert SECRET not in out + err


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_cancels_a_pull_cleanly_and_a_rerun_resumes(fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_steps = 400
    digest, total = fake_ollama.library["tinyllama:latest"].layers[0]
    fake_ollama.pull_hold_at = total // 10  # the pull waits there until the test has pressed Ctrl-C
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "pull", "tinyllama", "--host", fake_ollama.url],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while fake_ollama.downloaded.get(digest, 0) < total // 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.splitlines()[-1] == ("llamadeck: pull of tinyllama cancelled; run `llamadeck pull tinyllama` "
                                    "again to resume where it stopped.")
    assert "Traceback" not in err
    wait_closed(fake_ollama)  # the server saw the client go
    stopped_at = fake_ollama.downloaded[digest]
    assert 0 < stopped_at < total  # kept for the resume
    fake_ollama.pull_release.set()
    assert cli.main(["pull", "tinyllama", "--host", fake_ollama.url]) == 0
    resumed = [r for r in fake_ollama.requests if r.path == "/api/pull"]
    assert len(resumed) == 2
    assert fake_ollama.find("tinyllama") is not None


def wait_closed(fake: FakeOllama) -> None:
    """Until the fake has no open connection left (it notices a client that hung up)."""
    deadline = time.monotonic() + 30
    while fake._conns and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not fake._conns, "the server is still streaming to nobody"


# --------------------------------------------------------------------------- the progress bar


def test_progress_bar_on_a_terminal_redraws_in_place() -> None:
    from core.ollama.pull import PullTracker

    now = [0.0]
    tracker = PullTracker(clock=lambda: now[0])
    out = io.StringIO()
    display = ProgressDisplay(out, tty=True, width=100)
    display.show(tracker.update("pulling manifest"))
    digest = "sha256:" + "6a0746a1ec1a" + "0" * 52
    for second, done in enumerate((0, 1_000_000_000, 2_000_000_000)):
        now[0] = float(second)
        display.show(tracker.update("pulling 6a0746a1ec1a", digest, 4_700_000_000, done))
    display.show(tracker.update("verifying sha256 digest"))
    text = out.getvalue()
    assert text.startswith("pulling manifest\n\rpulling 6a0746a1ec1a   0% ▕")
    last_bar = text.split("\r")[-1]
    assert last_bar.startswith("pulling 6a0746a1ec1a  42% ▕██████████")
    assert "▏ 2 GB/4.7 GB  1 GB/s  3s" in last_bar  # 2.7 GB left at 1 GB/s
    assert text.endswith("\x1b[K\nverifying sha256 digest\n")


def test_progress_bar_fits_a_narrow_terminal() -> None:
    from core.ollama.types import PullProgress

    display = ProgressDisplay(io.StringIO(), tty=True, width=40)
    line = display.layer_line(PullProgress(status="pulling 6a0746a1ec1a", digest="d", total=4_700_000_000,
                                           completed=2_000_000_000, speed=38e6, eta=70))
    assert len(line) < 40
    assert line.startswith("pulling 6a0746a1ec1a  42%")
