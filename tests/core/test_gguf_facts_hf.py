"""Facts from Hugging Face checkpoints: local folders (the tiny factory) and Hub metadata."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub.utils._safetensors import SafetensorsFileMetadata, SafetensorsRepoMetadata
from huggingface_hub.utils._safetensors import TensorInfo as HubTensorInfo

from core.errors import ModelFactsError
from core.facts.gguf import facts_from_config, facts_from_hf_dir
from core.facts.hf_hub import checkpoint_from_metadata
from core.facts.load import facts_from_hf_repo, load_facts
from tests.fakes.tiny_models import (
    TINY_GQA_TIED,
    TINY_LLAMA,
    TINY_ODD,
    config_json,
    write_checkpoint,
    write_safetensors,
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("hf") / "tiny-llama", TINY_LLAMA)


@pytest.fixture(scope="module")
def tiny_sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("hf") / "tiny-llama", TINY_LLAMA, shards=3)


def test_hf_folder_facts_are_gguf_shaped(tiny_dir: Path) -> None:
    f = facts_from_hf_dir(tiny_dir)
    s = TINY_LLAMA
    assert (f.source, f.architecture, f.name) == ("hf", "llama", "tiny-llama")
    assert (f.n_layers, f.n_embd, f.n_head) == (s.num_layers, s.hidden_size, s.num_heads)
    assert f.n_ff == s.intermediate_size
    assert f.head_count_kv == (s.num_kv_heads,) * s.num_layers
    assert f.vocab_size == s.vocab_size and f.context_length == s.max_position_embeddings
    t = {x.name: x for x in f.tensors}
    # PyTorch (out, in) becomes ggml (in, out); norms become F32 like the converter writes them
    assert t["blk.0.ffn_down.weight"].shape == (s.intermediate_size, s.hidden_size)
    assert t["blk.0.attn_k.weight"].shape == (s.hidden_size, s.num_kv_heads * s.head_dim)
    assert t["token_embd.weight"].shape == (s.hidden_size, s.vocab_size)
    assert (t["blk.0.attn_q.weight"].ggml_type, t["blk.0.attn_norm.weight"].ggml_type) == ("BF16", "F32")
    assert f.file_type == "BF16"
    assert "<|assistant|>" in (f.chat_template or "")
    assert f.file_size == (tiny_dir / "model.safetensors").stat().st_size


@pytest.mark.parametrize("spec", [TINY_LLAMA, TINY_GQA_TIED, TINY_ODD], ids=lambda s: s.name)
def test_checkpoint_and_config_alone_give_the_same_tensor_table(tmp_path: Path, spec: object) -> None:
    """Safetensors headers and the synthesised table (used for Ollama and the catalog) agree."""
    folder = write_checkpoint(tmp_path / "m", spec)  # type: ignore[arg-type]
    from_files = facts_from_hf_dir(folder)
    from_config = facts_from_config("m", json.loads((folder / "config.json").read_text()), source="catalog")
    assert {(t.name, t.shape, t.ggml_type) for t in from_files.tensors} == \
        {(t.name, t.shape, t.ggml_type) for t in from_config.tensors}
    assert from_files.n_params == from_config.n_params
    assert from_files.tied_embeddings == spec.tie_word_embeddings  # type: ignore[attr-defined]


def test_sharded_checkpoint_equals_single_file(tiny_dir: Path, tiny_sharded: Path) -> None:
    assert len(list(tiny_sharded.glob("model-0000*-of-00003.safetensors"))) == 3
    a, b = facts_from_hf_dir(tiny_dir), facts_from_hf_dir(tiny_sharded)
    assert sorted(a.tensors, key=lambda t: t.name) == sorted(b.tensors, key=lambda t: t.name)


def test_missing_shards_are_listed(tiny_sharded: Path, tmp_path: Path) -> None:
    broken = shutil.copytree(tiny_sharded, tmp_path / "broken")
    (broken / "model-00001-of-00003.safetensors").unlink()
    (broken / "model-00003-of-00003.safetensors").unlink()
    with pytest.raises(ModelFactsError) as err:
        facts_from_hf_dir(broken)
    text = str(err.value)
    assert "missing 2 of its 3 weight files" in text
    assert "model-00001-of-00003.safetensors, model-00003-of-00003.safetensors" in text


def test_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(ModelFactsError, match=r"has no config\.json"):
        facts_from_hf_dir(tmp_path)


def test_corrupt_safetensors_header(tiny_dir: Path, tmp_path: Path) -> None:
    broken = shutil.copytree(tiny_dir, tmp_path / "broken")
    with (broken / "model.safetensors").open("r+b") as fh:
        fh.write((1 << 40).to_bytes(8, "little"))
    with pytest.raises(ModelFactsError, match="truncated or corrupt"):
        facts_from_hf_dir(broken)


def test_load_facts_dispatches_a_folder(tiny_dir: Path) -> None:
    assert load_facts(str(tiny_dir)).source == "hf"


def _moe_checkpoint(folder: Path) -> Path:
    """A 2-layer Qwen3-MoE and a 1-layer DeepSeek-V3-style MLA layer in HF names, tiny shapes."""
    folder.mkdir()
    e, ff, experts = 64, 32, 4
    cfg = {"architectures": ["Qwen3MoeForCausalLM"], "hidden_size": e, "intermediate_size": 128,
           "moe_intermediate_size": ff, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 16, "num_experts": experts, "num_experts_per_tok": 2,
           "vocab_size": 50,
           "max_position_embeddings": 4096, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    (folder / "config.json").write_text(json.dumps(cfg))
    z = np.zeros
    t: dict[str, np.ndarray] = {"model.embed_tokens.weight": z((50, e)), "model.norm.weight": z(e),
                                "lm_head.weight": z((50, e))}
    for i in range(2):
        p = f"model.layers.{i}."
        t |= {p + "input_layernorm.weight": z(e), p + "post_attention_layernorm.weight": z(e),
              p + "self_attn.q_proj.weight": z((64, e)), p + "self_attn.k_proj.weight": z((32, e)),
              p + "self_attn.v_proj.weight": z((32, e)), p + "self_attn.o_proj.weight": z((e, 64)),
              p + "self_attn.q_norm.weight": z(16), p + "self_attn.k_norm.weight": z(16),
              p + "mlp.gate.weight": z((experts, e))}
        for x in range(experts):
            q = f"{p}mlp.experts.{x}."
            t |= {q + "gate_proj.weight": z((ff, e)), q + "up_proj.weight": z((ff, e)),
                  q + "down_proj.weight": z((e, ff))}
    write_safetensors(folder / "model.safetensors", t, "bfloat16")
    return folder


def test_moe_experts_are_merged_like_the_converter(tmp_path: Path) -> None:
    f = facts_from_hf_dir(_moe_checkpoint(tmp_path / "moe"))
    t = {x.name: x for x in f.tensors}
    assert t["blk.1.ffn_gate_exps.weight"].shape == (64, 32, 4)
    assert t["blk.1.ffn_down_exps.weight"].shape == (32, 64, 4)
    assert t["blk.0.ffn_gate_inp.weight"].ggml_type == "F32"  # routers stay F32
    assert "blk.0.ffn_gate.weight" not in t
    assert (f.n_expert, f.n_expert_used, f.architecture) == (4, 2, "qwen3moe")
    experts = 2 * 3 * 64 * 32 * 4
    assert f.n_params_active == f.n_params - experts // 2
    assert not f.notices


def test_mla_kv_b_is_split_like_the_converter() -> None:
    cfg = {"architectures": ["DeepseekV3ForCausalLM"], "hidden_size": 64, "intermediate_size": 96,
           "moe_intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4,
           "num_key_value_heads": 4, "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2,
           "first_k_dense_replace": 1, "kv_lora_rank": 32, "q_lora_rank": 48, "qk_rope_head_dim": 8,
           "qk_nope_head_dim": 16, "v_head_dim": 16, "vocab_size": 40, "max_position_embeddings": 2048,
           "scoring_func": "sigmoid"}
    p = "model.layers.0.self_attn."
    shapes = {"model.embed_tokens.weight": [40, 64], "model.norm.weight": [64], "lm_head.weight": [40, 64],
              "model.layers.0.input_layernorm.weight": [64],
              "model.layers.0.post_attention_layernorm.weight": [64],
              p + "q_a_proj.weight": [48, 64], p + "q_a_layernorm.weight": [48],
              p + "q_b_proj.weight": [4 * 24, 48],
              p + "kv_a_proj_with_mqa.weight": [40, 64], p + "kv_a_layernorm.weight": [32],
              p + "kv_b_proj.weight": [4 * (16 + 16), 32], p + "o_proj.weight": [64, 64],
              "model.layers.0.mlp.gate_proj.weight": [96, 64], "model.layers.0.mlp.up_proj.weight": [96, 64],
              "model.layers.0.mlp.down_proj.weight": [64, 96],
              # the multi-token-prediction layer the converter leaves out
              "model.layers.1.input_layernorm.weight": [64]}
    meta = SafetensorsRepoMetadata(
        metadata=None, sharded=False, weight_map={k: "model.safetensors" for k in shapes},
        files_metadata={"model.safetensors": SafetensorsFileMetadata(metadata={}, tensors={
            k: HubTensorInfo(dtype="BF16", shape=v, data_offsets=(0, 2 * int(np.prod(v))))
            for k, v in shapes.items()})})
    ckpt = checkpoint_from_metadata("deepseek-ai/Tiny-V3", cfg, meta, "{{ x }}")
    from core.facts.gguf import facts_from_hf_checkpoint

    f = facts_from_hf_checkpoint(ckpt)
    t = {x.name: x for x in f.tensors}
    assert t["blk.0.attn_k_b.weight"].shape == (16, 32, 4)
    assert t["blk.0.attn_v_b.weight"].shape == (32, 16, 4)
    assert "blk.1.attn_norm.weight" not in t
    assert (f.kv_lora_rank, f.head_dim_k, f.head_dim_v, f.head_count_kv) == (32, 40, 32, (1,))
    assert f.chat_template == "{{ x }}" and f.file_size == sum(2 * int(np.prod(v)) for v in shapes.values())


def test_gptq_checkpoints_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "gptq"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config_json(TINY_LLAMA)))
    write_safetensors(folder / "model.safetensors",
                      {"model.layers.0.self_attn.q_proj.qweight": np.zeros((8, 8))}, "float32")
    with pytest.raises(ModelFactsError, match="GPTQ/AWQ"):
        facts_from_hf_dir(folder)


def test_unknown_hf_architecture_is_flagged(tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path / "m", TINY_LLAMA)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["architectures"] = ["FrobnicatorForCausalLM"]
    cfg["model_type"] = "frobnicator"
    (folder / "config.json").write_text(json.dumps(cfg))
    f = facts_from_hf_dir(folder)
    assert not f.known_architecture and f.architecture == "frobnicator"
    assert any("generic rules" in n for n in f.notices)


def test_repo_id_offline_is_a_sentence() -> None:
    # the autouse fixture sets HF_HUB_OFFLINE=1 and an empty HF cache
    with pytest.raises(ModelFactsError, match="not in the local Hugging Face cache") as err:
        facts_from_hf_repo("Qwen/Qwen2.5-0.5B")
    assert "HF_HUB_OFFLINE" in str(err.value)
