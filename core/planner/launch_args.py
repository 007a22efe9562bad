"""The llama-server flags and Ollama settings a plan row implies.

The planner screen shows them next to the row and the CLI prints them, so a
user can start exactly what was planned. They mirror what llama.cpp's own
`--fit` would choose (`-ngl`, `-ts`, `-ot` for MoE experts kept in RAM), and
for Ollama the options and server environment that produce the same context.
"""

from __future__ import annotations

from core.planner.types import PlanInputs, QuantRow


def _expert_pattern(layers: tuple[int, ...]) -> str:
    """One -ot rule keeping these blocks' routed experts in system memory (llama-fit-params' pattern)."""
    ids = "|".join(str(i) for i in layers)
    return rf"blk\.({ids})\.ffn_(up|down|gate_up|gate)_(ch|)exps=CPU"


def llama_server_args(inputs: PlanInputs, row: QuantRow) -> list[str]:
    """Arguments for `llama-server -m MODEL ...` that reproduce the row's memory plan."""
    s = row.settings or inputs.settings
    args = ["-c", str(s.n_ctx)]
    if s.runtime == "llama-server" and not s.kv_unified:
        args += ["-np", str(s.n_seq)]
    elif s.runtime != "llama-server":
        args += ["-np", str(s.n_seq)] + (["-kvu"] if s.kv_unified else [])
    if (s.n_batch, s.n_ubatch) != (2048, 512):
        args += ["-b", str(s.n_batch), "-ub", str(s.n_ubatch)]
    if s.type_k != "f16":
        args += ["-ctk", s.type_k, "-ctv", s.type_v]
    args += ["-fa", "on" if s.flash_attn else "off"]
    if row.placement in ("partial", "cpu"):
        args += ["-ngl", str(row.n_gpu_layers)]
    if len(row.tensor_split) > 1:
        args += ["-ts", ",".join(str(n) for n in row.tensor_split)]
    if row.expert_cpu_layers:
        args += ["-ot", _expert_pattern(row.expert_cpu_layers)]
    if not s.repack:
        args += ["--no-repack"]
    return args


def ollama_settings(inputs: PlanInputs, row: QuantRow) -> tuple[dict[str, str], dict[str, int]]:
    """(server environment, request/Modelfile options) for Ollama to run the row as planned.

    The KV type, flash attention and parallel slots are server-wide settings
    (environment of `ollama serve`); context, batch and offloaded layers are
    per-model options (`num_ctx`, `num_batch`, `num_gpu`).
    """
    s = row.settings or inputs.settings
    # Ollama gives each of its OLLAMA_NUM_PARALLEL slots num_ctx tokens of KV
    # cache: the planned context per conversation is num_ctx. llama-server's
    # default unified cache is one pool of that context its slots share, which
    # in Ollama's terms is one slot of the same size.
    slots = 1 if s.kv_unified else max(1, s.n_seq)
    env = {"OLLAMA_NUM_PARALLEL": str(slots), "OLLAMA_FLASH_ATTENTION": "1" if s.flash_attn else "0"}
    if s.type_k != "f16":
        env["OLLAMA_KV_CACHE_TYPE"] = s.type_k
    options = {"num_ctx": s.n_ctx // slots}
    if s.runtime == "ollama" and s.n_batch != 512:
        options["num_batch"] = s.n_batch
    # No num_gpu: since v0.30 Ollama passes no -ngl unless num_gpu is set, and llama.cpp's --fit places the
    # layers (and, for MoE, keeps routed experts in RAM) as planned here (llm/llama_server.go, REFERENCE.md).
    # num_gpu would force whole layers, experts and all, onto the GPU.
    return env, options


def n_cpu_moe_args(inputs: PlanInputs, row: QuantRow) -> list[str] | None:
    """The `--n-cpu-moe N` shorthand for a MoE row with experts in RAM on one GPU, or None.

    `--n-cpu-moe N` keeps the routed experts of the *first* N blocks in RAM
    (common/arg.cpp, llama.cpp as vendored in llama-cpp-python 0.3.36) where
    fit keeps the last ones, so memory differs by the few blocks whose experts
    llama-quantize gives more bits; the -ot line is the exact plan.
    """
    if not row.expert_cpu_layers or len(row.tensor_split) > 1:
        return None
    args = llama_server_args(inputs, row)
    at = args.index("-ot")
    return [*args[:at], "--n-cpu-moe", str(len(row.expert_cpu_layers)), *args[at + 2:]]
