"""Facts from GGUF files written with the gguf package's own writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ModelFactsError
from core.facts.gguf import facts_from_gguf
from core.facts.load import load_facts
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf


def test_llama_facts_come_from_header_and_tensor_table(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", "llama", llama_kv(), llama_tensors())
    f = facts_from_gguf(path)
    assert (f.name, f.source, f.architecture) == ("Test Llama", "gguf", "llama")
    assert (f.n_layers, f.n_embd, f.n_head, f.n_ff) == (2, 64, 4, 128)
    assert f.head_count_kv == (2, 2)
    assert (f.head_dim_k, f.head_dim_v) == (16, 16)  # n_embd / n_head when key_length is absent
    assert f.context_length == 2048
    assert f.vocab_size == 96  # from token_embd: no vocab_size key, no token list
    assert f.file_type == "F16"
    assert f.chat_template == "{{ messages }}"
    assert not f.tied_embeddings
    expected = 2 * 64 * 96 + 64 + 2 * (2 * 64 + 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128)
    assert f.n_params == expected
    assert f.file_size == path.stat().st_size
    assert f.known_architecture and f.notices == ()
    assert f.n_params_active is None and not f.is_moe


def test_tensor_bytes_follow_ggml_block_layout(tmp_path: Path) -> None:
    tensors = [("token_embd.weight", (256, 8), "Q4_K"), ("output_norm.weight", (256,), "F32"),
               ("output.weight", (256, 8), "Q6_K"), ("blk.0.attn_q.weight", (64, 4), "Q8_0")]
    kv = llama_kv(n_layer=1, n_embd=256)
    kv["general.file_type"] = 15
    path = write_gguf(tmp_path / "q.gguf", "llama", kv, tensors)
    f = facts_from_gguf(path)
    sizes = {t.name: (t.ggml_type, t.n_bytes) for t in f.tensors}
    assert sizes == {"token_embd.weight": ("Q4_K", 8 * 144), "output_norm.weight": ("F32", 1024),
                     "output.weight": ("Q6_K", 8 * 210), "blk.0.attn_q.weight": ("Q8_0", 2 * 34 * 4)}
    assert f.file_type == "Q4_K_M"


def test_tied_embeddings_when_output_is_absent(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "t.gguf", "llama", llama_kv(), llama_tensors(tied=True))
    assert facts_from_gguf(path).tied_embeddings


def test_per_layer_kv_heads_and_explicit_key_length(tmp_path: Path) -> None:
    kv = llama_kv(**{"llama.attention.head_count_kv": [2, 4], "llama.attention.key_length": 32,
                     "llama.attention.value_length": 16})
    path = write_gguf(tmp_path / "p.gguf", "llama", kv, llama_tensors())
    f = facts_from_gguf(path)
    assert f.head_count_kv == (2, 4)
    assert (f.head_dim_k, f.head_dim_v) == (32, 16)


@pytest.mark.parametrize(
    ("arch", "extra", "expected"),
    [
        # gemma2: every other layer slides, window defaults to 4096
        ("gemma2", {}, ((True, False, True, False, True, False), 4096)),
        # gemma3 with a window: 5 sliding then 1 full
        ("gemma3", {"gemma3.attention.sliding_window": 1024},
         ((True, True, True, True, True, False), 1024)),
        # gemma3 without a window key: no SWA at all
        ("gemma3", {}, ((), None)),
        # an explicit pattern number overrides the architecture's default
        ("gemma2", {"gemma2.attention.sliding_window": 512, "gemma2.attention.sliding_window_pattern": 3},
         ((True, True, False, True, True, False), 512)),
        # a per-layer bool array wins over everything
        ("gpt-oss", {"gpt-oss.attention.sliding_window": 128,
                     "gpt-oss.attention.sliding_window_pattern": [False, True, False, True, False, True]},
         ((False, True, False, True, False, True), 128)),
        # llama never uses SWA in llama.cpp, even with a window in the metadata
        ("llama", {"llama.attention.sliding_window": 4096}, ((), None)),
    ],
)
def test_sliding_window_layers_follow_llama_cpp(tmp_path: Path, arch: str, extra: dict[str, object],
                                                expected: tuple[tuple[bool, ...], int | None]) -> None:
    kv = {k.replace("llama.", f"{arch}."): v for k, v in llama_kv(n_layer=6).items()}
    kv.update(extra)
    path = write_gguf(tmp_path / "s.gguf", arch, kv, llama_tensors(n_layer=6))
    f = facts_from_gguf(path)
    assert (f.swa_layers, f.sliding_window) == expected


def test_moe_active_parameters_count_only_used_experts(tmp_path: Path) -> None:
    kv = {
        "qwen3moe.block_count": 1, "qwen3moe.context_length": 4096, "qwen3moe.embedding_length": 64,
        "qwen3moe.attention.head_count": 4, "qwen3moe.attention.head_count_kv": 2,
        "qwen3moe.expert_count": 8, "qwen3moe.expert_used_count": 2,
        "qwen3moe.expert_feed_forward_length": 32,
    }
    tensors = [("token_embd.weight", (64, 16), "F16"), ("output_norm.weight", (64,), "F32"),
               ("blk.0.ffn_gate_inp.weight", (64, 8), "F32"),
               ("blk.0.ffn_gate_exps.weight", (64, 32, 8), "F16"),
               ("blk.0.ffn_up_exps.weight", (64, 32, 8), "F16"),
               ("blk.0.ffn_down_exps.weight", (32, 64, 8), "F16")]
    f = facts_from_gguf(write_gguf(tmp_path / "moe.gguf", "qwen3moe", kv, tensors))
    experts = 3 * 64 * 32 * 8
    assert f.is_moe and (f.n_expert, f.n_expert_used) == (8, 2)
    assert f.n_params == 64 * 16 + 64 + 64 * 8 + experts
    assert f.n_params_active == f.n_params - experts + experts * 2 // 8


def test_mla_facts_carry_the_compressed_kv_shape(tmp_path: Path) -> None:
    p = "deepseek2."
    kv = {p + "block_count": 1, p + "context_length": 163840, p + "embedding_length": 64,
          p + "attention.head_count": 4, p + "attention.head_count_kv": 1,
          p + "attention.key_length": 576, p + "attention.value_length": 512,
          p + "attention.kv_lora_rank": 512, p + "rope.dimension_count": 64}
    tensors = [("token_embd.weight", (64, 16), "F16"), ("output_norm.weight", (64,), "F32")]
    f = facts_from_gguf(write_gguf(tmp_path / "mla.gguf", "deepseek2", kv, tensors))
    assert (f.head_dim_k, f.head_dim_v, f.kv_lora_rank, f.rope_dim) == (576, 512, 512, 64)
    assert f.head_count_kv == (1,)


def test_unknown_architecture_is_planned_with_generic_rules(tmp_path: Path) -> None:
    kv = {k.replace("llama.", "frobnicator."): v for k, v in llama_kv().items()}
    f = facts_from_gguf(write_gguf(tmp_path / "u.gguf", "frobnicator", kv, llama_tensors()))
    assert not f.known_architecture
    assert f.architecture == "frobnicator"
    assert any("generic rules" in n for n in f.notices)
    assert f.n_layers == 2


def test_missing_block_count_is_a_sentence(tmp_path: Path) -> None:
    kv = llama_kv()
    del kv["llama.block_count"]
    path = write_gguf(tmp_path / "b.gguf", "llama", kv, llama_tensors())
    with pytest.raises(ModelFactsError, match=r"llama\.block_count"):
        facts_from_gguf(path)


def test_selected_metadata_keeps_scalars_not_arrays(tmp_path: Path) -> None:
    kv = llama_kv(**{"tokenizer.ggml.tokens": [f"t{i}" for i in range(5000)], "general.license": "mit"})
    f = facts_from_gguf(write_gguf(tmp_path / "md.gguf", "llama", kv, llama_tensors()))
    meta = dict(f.metadata)
    assert meta["general.license"] == "mit"
    assert meta["llama.block_count"] == 2
    assert "tokenizer.ggml.tokens" not in meta
    assert f.vocab_size == 96


def test_split_gguf_reads_every_part(tmp_path: Path) -> None:
    write_gguf(tmp_path / "big.gguf", "llama", llama_kv(), llama_tensors(n_layer=3), split_max_tensors=10)
    parts = sorted(tmp_path.glob("big-*-of-*.gguf"))
    assert len(parts) == 3
    whole = write_gguf(tmp_path / "single.gguf", "llama", llama_kv(), llama_tensors(n_layer=3))
    split = facts_from_gguf(parts[1])  # any part names the whole model
    assert split.n_params == facts_from_gguf(whole).n_params
    assert len(split.tensors) == 3 + 3 * 9
    assert split.file_size == sum(p.stat().st_size for p in parts)


def test_split_gguf_with_a_missing_part_names_it(tmp_path: Path) -> None:
    write_gguf(tmp_path / "big.gguf", "llama", llama_kv(), llama_tensors(n_layer=3), split_max_tensors=10)
    missing = tmp_path / "big-00002-of-00003.gguf"
    missing.unlink()
    with pytest.raises(ModelFactsError, match=r"big-00002-of-00003\.gguf") as err:
        facts_from_gguf(tmp_path / "big-00001-of-00003.gguf")
    assert "1 is missing" in str(err.value)


def test_load_facts_dispatches_a_gguf_path(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", "llama", llama_kv(), llama_tensors())
    assert load_facts(str(path)).source == "gguf"


def test_load_facts_on_a_folder_of_ggufs_asks_to_pick_one(tmp_path: Path) -> None:
    write_gguf(tmp_path / "m.gguf", "llama", llama_kv(), llama_tensors())
    with pytest.raises(ModelFactsError, match=r"pick one: m\.gguf"):
        load_facts(str(tmp_path))
