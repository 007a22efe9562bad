"""`llamadeck plan`: text and JSON for hypothetical and (fake-GPU) real machines; bad input as sentences."""

from __future__ import annotations

import io
import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import cli.main as cli
from cli import plan as plan_cmd
from core.config import Settings
from core.hardware.bandwidth_store import load_bandwidth
from core.hardware.probe import HardwareProbe
from core.hardware.types import BandwidthResult
from core.planner.report import BEST_MARK
from tests.fakes.fake_hub import FakeHub, repo_from_folder
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, GiB
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf
from tests.fakes.tiny_models import TINY_LLAMA, config_json, write_checkpoint

HYPOTHETICAL = ["--gpu", "4090", "--ram", "64"]


def dead_host() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["plan", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fails_with(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith("llamadeck: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("llamadeck: ").strip()


def table_rows(text: str) -> dict[str, list[str]]:
    """Quant -> cells of the text table (cells are separated by two or more spaces)."""
    import re

    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Quant "))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        cells[0] = cells[0].removeprefix(BEST_MARK)  # the best row for the goal is marked
        rows[cells[0]] = cells
    return rows


def test_text_table_on_a_hypothetical_machine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "llama3.1:8b", *HYPOTHETICAL)
    assert code == 0 and err == ""
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0].startswith("Llama 3.1 8B Instruct · catalog · llama · 8.0B params")
    assert lines[1] == ("ctx 8k per conversation (4 slots share one 8k cache) · llama-server -c 8k · "
                        "KV f16 · flash attention on (auto)")
    assert lines[2] == "Machine: RTX 4090 24GB 24.0 GiB + 64.0 GiB RAM (hypothetical)"
    rows = table_rows(out)
    assert len(rows) == 23
    assert rows["Q4_K_M"][1] == "GPU" and rows["Q4_K_M"][6] == "+0.175"
    assert rows["IQ2_M*"][0] == "IQ2_M*"
    assert "* needs an importance matrix" in out
    assert "llama-server -m" not in out  # details only with --quant


def test_70b_on_a_4090_is_partial_with_an_ngl(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "llama3.1:70b", *HYPOTHETICAL, "--quant", "Q4_K_M", "q2_k")
    assert code == 0
    rows = table_rows(out)
    assert list(rows) == ["Q4_K_M", "Q2_K"]
    assert rows["Q4_K_M"][1].startswith("-ngl ") and rows["Q4_K_M"][1].endswith("/81")
    ngl = rows["Q4_K_M"][1].split()[1].split("/")[0]
    assert "Q4_K_M: partly on GPU" in out
    assert f"llama-server -m Llama-3.1-70B-Instruct-Q4_K_M.gguf -c 8192 -fa on -ngl {ngl}" in out
    assert "PARAMETER num_gpu" not in out  # Ollama leaves placement to llama.cpp's fit
    assert "Memory" in out and "GPU0 RTX 4090 24GB" in out
    # how -ngl and speed fall as the context grows, from 2k up to the trained 128k
    ladder = out[out.index("As the context grows:"):].split("\n\n")[0].splitlines()  # Q4_K_M's, the first
    steps = {line.split()[0]: line.split() for line in ladder[2:]}
    assert {"2k", "8k", "32k", "128k"} <= set(steps)
    assert steps["8k"][2] == ngl + "/81"
    assert int(steps["128k"][2].split("/")[0]) < int(ngl) < int(steps["2k"][2].split("/")[0]) + 1
    assert float(steps["128k"][3]) < float(steps["2k"][3])
    # the row marked best for quality is named, and --goal speed marks the fastest one
    # neither runs at a readable speed here, so the best for quality is the faster one
    assert "Best for quality: Q2_K." in out and f"{BEST_MARK}Q2_K" in out
    code, out, _ = run_cli(capsys, "llama3.1:8b", *HYPOTHETICAL, "--quant", "Q8_0", "q2_k", "--goal", "speed")
    assert "Best for speed: Q2_K." in out and f"{BEST_MARK}Q2_K" in out
    code, out, _ = run_cli(capsys, "llama3.1:8b", *HYPOTHETICAL, "--quant", "Q8_0", "q2_k")
    assert "Best for quality: Q8_0." in out and f"{BEST_MARK}Q8_0" in out


def test_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "deepseek-r1:32b", *HYPOTHETICAL, "--ctx", "16k", "--kv", "q8_0",
                           "--runtime", "ollama", "--parallel", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"model", "inputs", "rows", "notices", "best"}
    assert data["best"]["goal"] == "quality" and data["best"]["quant"] in {r["quant"] for r in data["rows"]}
    assert data["model"]["name"] == "DeepSeek-R1-Distill-Qwen-32B" and data["model"]["kind"] == "catalog"
    inputs = data["inputs"]
    assert (inputs["ctx"], inputs["kv_type"], inputs["runtime"]) == (16384, "q8_0", "ollama")
    assert inputs["parallel"] == 2
    assert inputs["settings"]["n_ctx"] == 2 * 16384  # Ollama: num_ctx x OLLAMA_NUM_PARALLEL
    assert inputs["machine"]["hypothetical"] is True and inputs["machine"]["ram"] == 64 * GiB
    quants = [r["quant"] for r in data["rows"]]
    assert quants[0] == "F32" and "Q4_K_M" in quants and len(quants) == 23
    row = data["rows"][quants.index("Q4_K_M")]
    for key in ("file_size", "tensor_bytes"):
        assert isinstance(row[key], int) and row[key] > 15 * 10**9
    assert row["memory"]["total"] == sum(d["total"] for d in row["memory"]["devices"])
    assert {d["device"] for d in row["memory"]["devices"]} == {"GPU0 RTX 4090 24GB", "CPU"}
    assert row["placement"] in ("gpu", "partial") and isinstance(row["n_gpu_layers"], int)
    assert row["ollama"]["env"]["OLLAMA_KV_CACHE_TYPE"] == "q8_0"
    assert isinstance(data["notices"], list)


def fake_probe(tmp_path: Path, **gpu: object) -> HardwareProbe:
    return HardwareProbe(nvml=FakeNvml([FakeGpu(**gpu)]), sysfs_root=tmp_path / "sys")  # type: ignore[arg-type]


def test_this_machine_with_a_fake_rtx_4090(tmp_path: Path) -> None:
    args = cli.build_parser("plan").parse_args(["plan", "llama3.1:8b", "--quant", "Q4_K_M", "F16"])
    out = io.StringIO()
    assert plan_cmd.run(args, Settings(), probe=fake_probe(tmp_path), out=out) == 0
    text = out.getvalue()
    assert "Machine: RTX 4090 24.0 GiB + " in text and "(this machine, " in text
    rows = table_rows(text)
    assert rows["Q4_K_M"][1] == "GPU" and rows["F16"][1] == "GPU"


def test_free_now_plans_with_what_other_programs_leave(tmp_path: Path) -> None:
    args = cli.build_parser("plan").parse_args(["plan", "llama3.1:8b", "--quant", "F16", "--free", "--json"])
    out = io.StringIO()
    assert plan_cmd.run(args, Settings(), probe=fake_probe(tmp_path, memory_used=12 * GiB), out=out) == 0
    data = json.loads(out.getvalue())
    assert data["inputs"]["machine"]["gpus"][0]["memory"] == 12 * GiB
    assert data["rows"][0]["placement"] == "partial"  # 15 GiB of F16 weights in 12 GiB free


def test_this_machine_without_flags_uses_the_probe(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "qwen2.5:0.5b", "--quant", "Q8_0")
    assert code == 0
    assert out.splitlines()[2].startswith("Machine: ") and "(this machine" in out


# --------------------------------------------------------------------------- bad input


def test_unknown_catalog_name_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    text = fails_with(capsys, "deepsek-r1:32b", *HYPOTHETICAL, "--host", dead_host())
    assert text.startswith("'deepsek-r1:32b' is not a file, a folder or a catalog model")
    assert "Did you mean deepseek-r1:32b" in text


def test_truncated_gguf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = write_gguf(tmp_path / "m.gguf", "llama", llama_kv(), llama_tensors())
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:200])
    text = fails_with(capsys, str(cut), *HYPOTHETICAL)
    assert text.startswith("cut.gguf is not a valid GGUF file")
    assert "may be truncated or corrupt; download or convert it again." in text


def test_absurd_counts_in_a_header(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "huge.gguf"
    bad.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1 << 60, 0) + bytes(64))
    text = fails_with(capsys, str(bad), *HYPOTHETICAL)
    assert "claims 1,152,921,504,606,846,976 tensors" in text


def test_not_a_gguf_at_all(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "zip.gguf"
    bad.write_bytes(b"PK\x03\x04" + bytes(60))
    assert "is not a GGUF file" in fails_with(capsys, str(bad), *HYPOTHETICAL)


def test_unknown_architecture_is_planned_and_says_so(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    kv = {k.replace("llama.", "frobnicator."): v for k, v in llama_kv().items()}
    path = write_gguf(tmp_path / "frob.gguf", "frobnicator", kv, llama_tensors())
    code, out, _ = run_cli(capsys, str(path), *HYPOTHETICAL, "--quant", "Q8_0")
    assert code == 0
    assert "frobnicator" in out.splitlines()[0]
    assert "generic rules" in out and table_rows(out)["Q8_0"][1] == "GPU"


def test_missing_shards_are_listed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    hf = write_checkpoint(tmp_path / "tiny", TINY_LLAMA, shards=3)
    (hf / "model-00001-of-00003.safetensors").unlink()
    (hf / "model-00003-of-00003.safetensors").unlink()
    text = fails_with(capsys, str(hf), *HYPOTHETICAL)
    assert "missing 2 of its 3 weight files" in text
    assert "model-00001-of-00003.safetensors, model-00003-of-00003.safetensors" in text


def test_an_ollama_model_the_server_lacks(capsys: pytest.CaptureFixture[str],
                                          fake_ollama: FakeOllama) -> None:
    text = fails_with(capsys, "ollama:ghost:7b", *HYPOTHETICAL, "--host", fake_ollama.url)
    assert text.startswith(f"Model 'ghost:7b' is not on Ollama at {fake_ollama.url}.")
    assert "llamadeck pull ghost:7b" in text


def test_an_ollama_model_the_server_has(capsys: pytest.CaptureFixture[str], fake_ollama: FakeOllama) -> None:
    code, out, _ = run_cli(capsys, "ollama:deepseek-r1:7b", *HYPOTHETICAL, "--host", fake_ollama.url,
                           "--json")
    assert code == 0
    data = json.loads(out)
    assert data["model"]["kind"] == "ollama" and data["model"]["file_type"] == "Q4_K_M"
    assert data["model"]["architecture"] == "qwen2" and data["model"]["ollama_url"] == fake_ollama.url
    q4 = next(r for r in data["rows"] if r["quant"] == "Q4_K_M")
    assert q4["ollama"]["modelfile"][0] == "FROM deepseek-r1:7b"  # the server already has this quant


@pytest.mark.parametrize(("argv", "sentence"), [
    (["--gpu", "4091", "--ram", "64"], "Unknown GPU '4091'."),
    (["--gpu", "4090", "--ram", "64", "--kv", "q8_0", "--fa", "off"], "flash attention"),
    (["--gpu", "4090", "--ram", "64", "--quant", "Q9_K"], "Unknown quantization 'Q9_K'."),
])
def test_impossible_inputs_are_sentences(capsys: pytest.CaptureFixture[str], argv: list[str],
                                         sentence: str) -> None:
    assert sentence in fails_with(capsys, "llama3.1:8b", *argv)


def test_argument_errors_are_argparse_messages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["plan", "llama3.1:8b", "--ctx", "lots"])
    assert exit_.value.code == 2
    assert "'lots' is not a context size" in capsys.readouterr().err


def test_hf_repo_without_safetensors(tmp_path: Path) -> None:
    """A real Hub client against a local Hub stand-in, in a fresh process (HF_ENDPOINT is read at import)."""
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config_json(TINY_LLAMA)))
    (folder / "pytorch_model.bin").write_bytes(bytes(1024))
    root = Path(__file__).resolve().parents[2]
    with FakeHub() as hub:
        hub.add(repo_from_folder("someone/old-model", folder))
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0",
               "HF_HUB_CACHE": str(tmp_path / "c"), "PYTHONPATH": str(root)}
        done = subprocess.run([sys.executable, "-m", "cli.main", "plan", "someone/old-model", *HYPOTHETICAL],
                              capture_output=True, text=True, env=env, cwd=root, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("llamadeck: someone/old-model publishes no safetensors weights")
    assert "Traceback" not in done.stderr


def test_measure_bw_measures_keeps_and_uses_the_figure(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    measured = BandwidthResult(21.3e9, 2**28, 0.4, "numpy copy, 2 threads, best of 4", "2026-12-07T10:00:00")
    monkeypatch.setattr(plan_cmd, "measure_ram_bandwidth", lambda: measured)
    args = cli.build_parser("plan").parse_args(["plan", "llama3.1:8b", "--quant", "Q4_K_M", "--measure-bw"])
    out = io.StringIO()
    assert plan_cmd.run(args, Settings(), probe=fake_probe(tmp_path), out=out) == 0
    assert "Speeds use RAM at 21.3 GB/s (measured 2026-12-07)" in out.getvalue()
    assert load_bandwidth() == measured
    # a later plan, in a fresh probe, uses the kept figure without measuring
    monkeypatch.setattr(plan_cmd, "measure_ram_bandwidth", lambda: pytest.fail("measured again"))
    args = cli.build_parser("plan").parse_args(["plan", "llama3.1:8b", "--quant", "Q4_K_M", "--json"])
    out = io.StringIO()
    assert plan_cmd.run(args, Settings(), probe=fake_probe(tmp_path), out=out) == 0
    machine = json.loads(out.getvalue())["inputs"]["machine"]
    assert (machine["ram_bandwidth"], machine["ram_bandwidth_source"]) == (21.3e9, "measured 2026-12-07")
    # --ram-bw wins, for this plan only
    argv = ["plan", "llama3.1:8b", "--ram-bw", "45", "--cpu-threads", "4"]
    args = cli.build_parser("plan").parse_args(argv)
    out = io.StringIO()
    assert plan_cmd.run(args, Settings(), probe=fake_probe(tmp_path), out=out) == 0
    assert "Speeds use RAM at 45.0 GB/s (given), 4 CPU threads;" in out.getvalue()


def test_bad_ram_bw_and_threads_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for flag, value in (("--ram-bw", "fast"), ("--cpu-threads", "0")):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["plan", "llama3.1:8b", *HYPOTHETICAL, flag, value])
        assert exit_.value.code == 2
        assert "Traceback" not in capsys.readouterr().err


def test_ctx_auto_plans_llama_server_without_c(capsys: pytest.CaptureFixture[str]) -> None:
    """Without -c, fit starts from the trained context and shrinks it; each row says where it ends."""
    code, out, _ = run_cli(capsys, "llama3.1:8b", "--gpu", "3060", "--ram", "32", "--ctx", "auto",
                           "--quant", "Q8_0", "Q2_K")
    assert code == 0
    assert out.splitlines()[1].startswith("ctx auto: llama.cpp's fit picks each row's context (Ctx)")
    rows = table_rows(out)
    small, big = rows["Q2_K"][3], rows["Q8_0"][3]
    assert small.endswith("k") and big.endswith("k") and float(small[:-1]) > float(big[:-1])
    code, out, _ = run_cli(capsys, "llama3.1:8b", "--gpu", "3060", "--ram", "32", "--ctx", "auto",
                           "--quant", "Q2_K", "--json")
    data = json.loads(out)
    assert data["inputs"]["auto_ctx"] is True and data["inputs"]["ctx"] == 131072
    row = data["rows"][0]
    assert row["llama_server_args"][:2] == ["-c", str(row["fit_ctx"])]
    err = fails_with(capsys, "llama3.1:8b", "--gpu", "3060", "--ram", "32", "--ctx", "auto",
                     "--runtime", "ollama")
    assert "Ollama always starts llama-server with a context" in err
