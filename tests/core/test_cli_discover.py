"""`llamadeck search` and `llamadeck files` against the local Hub stand-in: tables, JSON, errors, tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import main as cli
from tests.core.discover_support import TOKEN, hollow_quants, hub, tiny_repo
from tests.fakes.fake_hub import FakeHub, HubRepo, header

__all__ = ["hub"]

BOX = ["--gpu", "4060", "--ram", "32"]
REPO = "bartowski/Meta-Llama-3.1-8B-GGUF"


@pytest.fixture
def llama(hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> FakeHub:
    folder = tmp_path_factory.mktemp("hollow")
    files = hollow_quants(folder, "llama-3.1-8b", ("F16", "Q8_0", "Q4_K_M"))
    hub.add(HubRepo(REPO, files, downloads=5000, likes=40, gguf={"total": 8_030_261_248,
                                                                  "architecture": "llama"}))
    for i in range(3):
        hub.add(HubRepo(f"someone/llama-{i}-GGUF", files, downloads=i))
    return hub


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_search_prints_a_table_and_the_next_page(llama: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", "llama", "--limit", "2")
    assert code == 0 and err == ""
    assert out.startswith(f"GGUF repos on {llama.url} matching 'llama', by downloads:")
    lines = out.splitlines()
    assert lines[2].split() == ["Repo", "Downloads", "Likes", "Updated", "Arch", "Params"]
    assert lines[3].split() == [REPO, "5000", "40", "2025-01-01", "llama", "8.0B"]
    cursor = out.split("--cursor '")[1].split("'")[0]
    code, page2, _ = run(capsys, "search", "--cursor", cursor, "--json")
    data = json.loads(page2)
    assert code == 0 and [r["repo_id"] for r in data["results"]] == ["someone/llama-1-GGUF",
                                                                       "someone/llama-0-GGUF"]
    assert data["next_cursor"] is None


def test_search_with_a_context_plans_each_repos_best_file(llama: FakeHub,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "Meta-Llama", "--ctx", "8k", *BOX)
    assert code == 0
    assert "Best file here (8k ctx, KV f16)" in out
    assert "Q4_K_M fits: GPU" in out, "the largest file under the card's memory, and its verdict"
    code, out, _ = run(capsys, "search", "Meta-Llama", "--ctx", "8k", "--json", *BOX)
    best = json.loads(out)["results"][0]["best_file"]
    assert best["quant"] == "Q4_K_M" and best["badge"] == "fits" and best["decode_tps"] > 0


def test_files_plans_every_file_and_caches_the_headers(llama: FakeHub,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "files", REPO, *BOX)
    assert code == 0 and err == ""
    assert out.startswith(f"{REPO} at 1234567890ab on {llama.url}: 3 GGUF files, 0 other files")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("F16", "Q"))}
    assert rows["Q4_K_M"][3:5] == ["fits", "GPU"]
    assert rows["F16"][3] == "partial" and rows["F16"][4].startswith("-ngl")
    assert "Headers: 3 range requests" in out and "0 files from the cache" in out
    code, out, _ = run(capsys, "files", REPO, *BOX)
    assert "Headers: 0 range requests, 0 B read, 3 files from the cache." in out


def test_files_json_has_bytes_and_the_verdict(llama: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "files", REPO, "--ctx", "auto", "--kv-type", "q8_0", "--json", *BOX)
    data = json.loads(out)
    assert code == 0 and data["ctx"] is None and data["kv_type"] == "q8_0"
    q4 = next(f for f in data["files"] if f["quant"] == "Q4_K_M")
    assert q4["size"] == q4["parts"][0]["size"] > 4_000_000_000
    assert q4["badge"] == "fits" and q4["fit_ctx"] > 8192 and q4["header"]["requests"] >= 1


@pytest.mark.parametrize(("argv", "message"), [
    (["files", "nobody/nothing"], "llamadeck: There is no model nobody/nothing on"),
    (["files", "Qwen/Qwen2.5-7B-Instruct"], "llamadeck: Qwen/Qwen2.5-7B-Instruct on http"),
    (["search", "x", "--ctx", "lots"], "llamadeck: --ctx: 'lots' is not a context size."),
])
def test_errors_are_one_sentence_and_exit_1(hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            argv: list[str], message: str) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("hi")
    hub.add(HubRepo("Qwen/Qwen2.5-7B-Instruct", {"README.md": readme}))
    code, out, err = run(capsys, *argv, *BOX)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.startswith(message) and err.count("\n") == 1


def test_a_gated_repo_without_a_token_is_a_table_that_says_so(hub: FakeHub, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    hub.add(tiny_repo(tmp_path / "g", "meta/gated-GGUF", gated="manual"))
    code, out, _ = run(capsys, "files", "meta/gated-GGUF", *BOX)
    assert code == 1, "no file could be planned"
    assert "(gated)" in out.splitlines()[0]
    assert "Tiny-Q8_0.gguf: gated: accept the licence on the Hub, then set HF_TOKEN." in out
    assert hub.file_reads() == []


def test_hf_endpoint_and_hf_token_are_honoured_and_the_token_never_shown(hub: FakeHub,
                                                                         tmp_path: Path) -> None:
    """A fresh process, as a user runs it: huggingface_hub reads HF_ENDPOINT and HF_TOKEN at import."""
    hub.add(tiny_repo(tmp_path / "g", "meta/gated-GGUF", gated="manual"))
    hub.fail["/Tiny-Q8_0.gguf"] = 500
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "0",
           "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "cli.main", "files", "meta/gated-GGUF", "--json", *BOX],
                          capture_output=True, text=True, env=env, cwd=root, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["endpoint"] == hub.url
    assert sorted(f["name"] for f in data["files"] if f["badge"] == "fits") == [
        "Tiny-F16-*-of-00003.gguf", "Tiny-Q4_K_M.gguf"]  # not Q8_0, whose read failed
    failed = next(f for f in data["files"] if f["name"] == "Tiny-Q8_0.gguf")
    assert "answered 500" in failed["error"]
    reads = hub.file_reads()
    assert reads and all(header(h, "Authorization") == f"Bearer {TOKEN}" for _, h in reads)
    shown = done.stdout + done.stderr + "".join(p.read_text(errors="replace")
                                                for p in Path(os.environ["LLAMADECK_LOG_DIR"]).rglob("*")
                                                if p.is_file())
    assert TOKEN not in shown
