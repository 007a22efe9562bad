"""`llamadeck ls --gguf`: the GGUF files on this machine, without asking any server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cli.main as cli
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf


def config(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    write_gguf(models / "tiny.gguf", "llama", llama_kv(), llama_tensors())
    write_gguf(models / "big.gguf", "llama", llama_kv(), llama_tensors(n_layer=3), split_max_tensors=10)
    path = tmp_path / "config.toml"
    path.write_text(f'[paths]\ngguf_dirs = ["{models}"]\nhf_cache_dir = "{tmp_path / "hub"}"\n')
    return path


def test_ls_gguf_prints_a_table_with_split_parts_on_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--config", str(config(tmp_path)), "ls", "--gguf", "--sort", "name"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["NAME", "SIZE", "PARAMS", "QUANT", "ARCH", "CONTEXT", "MODIFIED", "FOLDER"]
    assert len(lines) == 3
    assert lines[1].startswith("big-00001-of-00003.gguf (+2 parts)")
    assert lines[2].split()[:1] == ["tiny.gguf"] and " F16 " in lines[2] and " llama " in lines[2]
    assert "2k" in lines[2]


def test_ls_gguf_json_lists_every_part_and_the_facts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--config", str(config(tmp_path)), "ls", "--gguf", "--json", "--sort", "name"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [Path(d["path"]).name for d in data] == ["big-00001-of-00003.gguf", "tiny.gguf"]
    assert len(data[0]["parts"]) == 3 and data[0]["size"] > 0
    assert data[1]["architecture"] == "llama" and data[1]["file_type"] == "F16"
    assert data[1]["context_length"] == 2048 and data[1]["problem"] is None
