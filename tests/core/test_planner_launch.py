"""The llama-server flags and Ollama settings a plan row implies."""

from __future__ import annotations

import re

from core.facts import catalog
from core.planner.launch_args import llama_server_args, n_cpu_moe_args, ollama_settings
from core.planner.machine import hypothetical_spec
from core.planner.plan import plan
from tests.core.synthetic_facts import llama31_8b, llama31_70b, llama_facts


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def test_partial_offload_names_its_layers() -> None:
    p = plan(llama31_70b(), hypothetical_spec(["4090"], 64), ctx=8192, quants=("Q4_K_M",))
    r = p.rows[0]
    args = llama_server_args(p.inputs, r)
    assert flag(args, "-c") == "8192" and flag(args, "-ngl") == str(r.n_gpu_layers)
    assert "-np" not in args  # llama-server's own default: 4 slots sharing one cache
    assert flag(args, "-fa") == "on"


def test_full_offload_needs_no_layer_count_and_two_gpus_get_a_split() -> None:
    p = plan(llama31_70b(), hypothetical_spec(["2x 3090"], 64), ctx=8192, quants=("Q4_K_M",),
             kv_type="q8_0", parallel=1)  # fmt: skip
    args = llama_server_args(p.inputs, p.rows[0])
    assert "-ngl" not in args
    assert flag(args, "-ts") == ",".join(str(n) for n in p.rows[0].tensor_split)
    assert flag(args, "-ctk") == flag(args, "-ctv") == "q8_0"
    assert flag(args, "-np") == "1"


def test_moe_experts_in_ram_become_one_override() -> None:
    moe = llama_facts(n_layer=48, n_embd=2048, n_head=32, n_head_kv=4, head_dim=128, vocab=151936,
                      n_expert=128, n_expert_used=8, n_ff_exp=768)  # fmt: skip
    m = hypothetical_spec(["3060"], 64)
    p = plan(moe, m, ctx=8192, quants=("Q4_K_M",))
    r = p.rows[0]
    assert r.expert_cpu_layers
    rule = flag(llama_server_args(p.inputs, r), "-ot") or ""
    pattern, target = rule.rsplit("=", 1)
    assert target == "CPU"
    hit = [i for i in range(48) if re.search(pattern, f"blk.{i}.ffn_up_exps.weight")]
    assert hit == list(r.expert_cpu_layers)
    assert not re.search(pattern, f"blk.{r.expert_cpu_layers[0]}.attn_q.weight")


def test_ollama_settings() -> None:
    p = plan(llama31_70b(), hypothetical_spec(["3060"], 64), ctx=8192, runtime="ollama",
             kv_type="q8_0", parallel=2, quants=("Q4_K_M",))  # fmt: skip
    r = p.rows[0]
    env, options = ollama_settings(p.inputs, r)
    assert env == {"OLLAMA_NUM_PARALLEL": "2", "OLLAMA_FLASH_ATTENTION": "1", "OLLAMA_KV_CACHE_TYPE": "q8_0"}
    assert r.placement == "partial"
    # no num_gpu: Ollama (>= 0.30) then passes no -ngl and llama.cpp's fit places the layers as planned
    assert options == {"num_ctx": 8192}
    small = plan(llama31_8b(), hypothetical_spec(["4090"], 64), ctx=4096, runtime="ollama",
                 quants=("Q4_K_M",))  # fmt: skip
    env, options = ollama_settings(small.inputs, small.rows[0])
    assert "OLLAMA_KV_CACHE_TYPE" not in env and options == {"num_ctx": 4096}


def test_moe_rows_give_ollama_no_num_gpu_and_llama_server_the_n_cpu_moe_shorthand() -> None:
    """qwen3:30b on a 16 GB card keeps experts in RAM; num_gpu would put every layer on the GPU."""
    moe = catalog.facts("qwen3:30b")
    p = plan(moe, hypothetical_spec(["4060 Ti 16GB"], 64), ctx=8192, quants=("Q4_K_M",))
    r = p.rows[0]
    assert r.placement == "partial" and r.expert_cpu_layers
    _, options = ollama_settings(p.inputs, r)
    assert "num_gpu" not in options
    short = n_cpu_moe_args(p.inputs, r) or []
    assert flag(short, "--n-cpu-moe") == str(len(r.expert_cpu_layers)) and "-ot" not in short
    assert flag(short, "-ngl") == flag(llama_server_args(p.inputs, r), "-ngl")
    dense = plan(llama31_70b(), hypothetical_spec(["4060 Ti 16GB"], 64), ctx=8192, quants=("Q4_K_M",))
    assert n_cpu_moe_args(dense.inputs, dense.rows[0]) is None
