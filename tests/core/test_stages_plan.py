"""What a job will do before it does anything: the source, the stages, the file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.errors import PipelineError
from core.facts.types import ModelFacts
from core.pipeline.plan import make_plan, resolve_outtype
from core.pipeline.sources import checkpoint_name, model_name, resolve_source
from core.pipeline.types import JobSpec
from tests.fakes.gguf_files import write_gguf


def _checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    return folder


def _facts(file_type: str) -> ModelFacts:
    return ModelFacts(name="m", source="hf", architecture="llama", n_params=1, n_layers=1, n_embd=1, n_head=1,
                      head_count_kv=(1,), head_dim_k=1, head_dim_v=1, context_length=1, vocab_size=1,
                      file_type=file_type)


# --------------------------------------------------------------------------- sources


def test_a_checkpoint_folder(tmp_path: Path) -> None:
    src = resolve_source(str(_checkpoint(tmp_path / "Qwen2.5-7B-Instruct")))
    assert (src.kind, src.name) == ("hf-dir", "Qwen2.5-7B-Instruct")


def test_a_hub_cache_snapshot_is_named_after_its_repo(tmp_path: Path) -> None:
    snap = _checkpoint(tmp_path / "models--Qwen--Qwen2.5-7B-Instruct" / "snapshots" / ("a" * 40))
    assert checkpoint_name(snap) == "Qwen2.5-7B-Instruct"


def test_a_repo_id_unless_such_a_path_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = resolve_source("Qwen/Qwen2.5-7B-Instruct", revision="main")
    assert (src.kind, src.repo_id, src.name, src.revision) == ("hf-repo", "Qwen/Qwen2.5-7B-Instruct",
                                                                "Qwen2.5-7B-Instruct", "main")
    monkeypatch.chdir(tmp_path)
    _checkpoint(tmp_path / "Qwen" / "Qwen2.5-7B-Instruct")
    assert resolve_source("Qwen/Qwen2.5-7B-Instruct").kind == "hf-dir"


def test_a_gguf_and_its_split_parts(tmp_path: Path) -> None:
    single = write_gguf(tmp_path / "Llama-3.2-1B-Q4_K_M.gguf", "llama", {}, [("a", (32,), "F32")])
    src = resolve_source(str(single))
    assert (src.kind, src.name, src.parts) == ("gguf", "Llama-3.2-1B", (single,))
    parts = [tmp_path / f"big-F16-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    for p in parts[:2]:
        write_gguf(p, "llama", {}, [("a", (32,), "F32")])
    with pytest.raises(PipelineError, match=r"big-F16-00003-of-00003\.gguf"):
        resolve_source(str(parts[1]))
    write_gguf(parts[2], "llama", {}, [("a", (32,), "F32")])
    src = resolve_source(str(parts[1]))
    assert src.path == parts[0] and src.parts == tuple(parts) and src.name == "big"


@pytest.mark.parametrize("text", ["", "not a thing", "../x/y", "a/b/c"])
def test_nonsense_sources_are_sentences(text: str) -> None:
    with pytest.raises(PipelineError):
        resolve_source(text)


def test_a_folder_of_ggufs_asks_for_one(tmp_path: Path) -> None:
    write_gguf(tmp_path / "m-Q4_K_M.gguf", "llama", {}, [("a", (32,), "F32")])
    with pytest.raises(PipelineError, match=r"pass one of them \(m-Q4_K_M\.gguf\)"):
        resolve_source(str(tmp_path))


@pytest.mark.parametrize(("stem", "name"), [("Qwen2.5-7B-Instruct-Q4_K_M", "Qwen2.5-7B-Instruct"),
                                            ("llama.f16", "llama"), ("DeepSeek-R1-IQ2_XXS", "DeepSeek-R1"),
                                            ("model-BF16", "model"), ("Q4_K_M", "Q4_K_M")])
def test_model_names_lose_their_quant_suffix(stem: str, name: str) -> None:
    assert model_name(stem) == name


# --------------------------------------------------------------------------- plans


def test_a_checkpoint_plan(tmp_path: Path) -> None:
    src = resolve_source(str(_checkpoint(tmp_path / "ckpt" / "Mistral-7B")))
    plan = make_plan(JobSpec(str(src.path), quant="q4_k", out_dir=tmp_path / "out"), Settings(), src)
    assert plan.stages == ("preflight", "convert", "quantize", "import")
    assert plan.quant == "Q4_K_M"
    assert plan.converted == tmp_path / "out" / "Mistral-7B-F16.gguf"
    assert plan.final == tmp_path / "out" / "Mistral-7B-Q4_K_M.gguf"
    assert plan.ollama_name == "mistral-7b:q4_k_m"
    assert plan.delete_converted and not plan.allow_requantize


def test_keep_intermediate_no_import_and_a_quant_equal_to_the_outtype(tmp_path: Path) -> None:
    src = resolve_source(str(_checkpoint(tmp_path / "m")))
    plan = make_plan(JobSpec("x", quant="Q4_0", out_dir=tmp_path, keep_intermediate=True,
                             import_to_ollama=False), Settings(), src)
    assert plan.stages == ("preflight", "convert", "quantize") and not plan.delete_converted
    same = make_plan(JobSpec("x", quant="BF16", outtype="bf16", out_dir=tmp_path), Settings(), src)
    assert same.stages == ("preflight", "convert", "import") and same.final == same.converted


def test_q8_0_outtype_then_quantize_requantizes(tmp_path: Path) -> None:
    src = resolve_source(str(_checkpoint(tmp_path / "m")))
    plan = make_plan(JobSpec("x", quant="Q4_K_M", outtype="q8_0", out_dir=tmp_path), Settings(), src)
    assert plan.allow_requantize and plan.converted == tmp_path / "m-Q8_0.gguf"


def test_a_repo_plan_downloads_first(tmp_path: Path) -> None:
    src = resolve_source("org/model")
    plan = make_plan(JobSpec("org/model", out_dir=tmp_path), Settings(), src)
    assert plan.stages == ("preflight", "download", "convert", "quantize", "import")


def test_default_out_dir_is_the_first_gguf_dir(tmp_path: Path) -> None:
    src = resolve_source(str(_checkpoint(tmp_path / "m")))
    plan = make_plan(JobSpec("x"), Settings(gguf_dirs=(tmp_path / "models",)), src)
    assert plan.out_dir == tmp_path / "models"


def test_auto_outtype_follows_the_checkpoint_dtype() -> None:
    assert resolve_outtype("auto", _facts("F16")) == "f16"
    assert resolve_outtype("auto", _facts("BF16")) == "bf16"
    assert resolve_outtype("auto", None) == "bf16"
    assert resolve_outtype("F16", None) == "f16"
    with pytest.raises(PipelineError, match="--outtype 'q4'"):
        resolve_outtype("q4", None)


def test_an_unknown_quant_is_a_sentence(tmp_path: Path) -> None:
    src = resolve_source(str(_checkpoint(tmp_path / "m")))
    with pytest.raises(PipelineError, match="Unknown quantization 'Q9_Z'"):
        make_plan(JobSpec("x", quant="Q9_Z"), Settings(), src)
