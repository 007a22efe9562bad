"""A plan written down: table cells, the placement in words, the commands it implies, and its JSON.

`llamadeck plan` prints these and the planner screen shows them, so the two
cannot disagree about a number, a verdict or a flag. Sizes are formatted by
the caller's function (the UI's binary units) so this module keeps no
presentation rules of its own beyond what the words say.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import PlannerError
from core.planner.choice import LadderStep
from core.planner.launch_args import llama_server_args, n_cpu_moe_args, ollama_settings
from core.planner.source import PlannedModel
from core.planner.types import DeviceMemory, MachineSpec, MemoryBreakdown, Plan, QuantRow
from core.units import NONE, format_ctx, format_params, format_tps

SizeFormat = Callable[[float | None], str]

CTX_PRESETS: tuple[int, ...] = (2048, 4096, 8192, 16384, 32768, 131072)
KV_TYPES: tuple[str, ...] = ("f16", "q8_0", "q4_0")
FLASH_ATTN: tuple[str, ...] = ("auto", "on", "off")
RUNTIMES: tuple[str, ...] = ("llama-server", "ollama", "llama.cpp")
MAX_CTX = 16 * 1024 * 1024

VERDICTS = {"gpu": "all on GPU", "partial": "partly on GPU", "cpu": "CPU only", "none": "won't fit"}
IMATRIX_MARK = "*"
BEST_MARK = ">"
# llama-quantize's quality figures are one model's: the perplexity each type adds to Llama-3-8B
# (tools/quantize/quantize.cpp, llama.cpp as vendored in llama-cpp-python 0.3.36). The title says so.
QUALITY_TITLE = "+PPL L3-8B"
DECODE_TITLE = "tok/s"  # decode: the speed a reader sees
MORE_TITLES = (QUALITY_TITLE, "Max ctx", "KV", "Prompt tok/s", "bpw")  # behind a key on the screen
QUALITY_NOTE = ("+PPL L3-8B: what llama-quantize says each type adds to Llama-3-8B "
                "(others differ; the order holds).")

_CTX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([km]?)\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------- inputs


def parse_ctx_or_auto(text: str) -> int | None:
    """`auto` (None: no -c, llama.cpp's fit picks the context) or a context size (`parse_ctx`)."""
    return None if text.strip().lower() == "auto" else parse_ctx(text)


def parse_ctx(text: str) -> int:
    """A context size as people write it: `8192`, `8k`, `128K`, `1m` (k = 1024 tokens)."""
    m = _CTX.match(text)
    if m is None:
        raise PlannerError(f"{text.strip()!r} is not a context size.",
                           hint="Write tokens, such as 8192 or 8k.")
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]
    value = int(float(m.group(1)) * scale)
    if not 1 <= value <= MAX_CTX:
        raise PlannerError(f"A context of {value} tokens is out of range.", hint="Use 1 to 16M tokens.")
    return value


def next_ctx_preset(current: int | None, step: int) -> int:
    """The preset after (`+1`) or before (`-1`) `current` (auto: from 8k), staying at the ends."""
    if current is None:
        return 8192
    if step > 0:
        bigger = [p for p in CTX_PRESETS if p > current]
        return bigger[0] if bigger else CTX_PRESETS[-1]
    smaller = [p for p in CTX_PRESETS if p < current]
    return smaller[-1] if smaller else CTX_PRESETS[0]


def parse_flash_attn(text: str) -> bool | None:
    """`auto` (None: llama.cpp decides, on for CUDA and CPU), `on` or `off`."""
    value = text.strip().lower()
    if value not in FLASH_ATTN:
        raise PlannerError(f"Flash attention is auto, on or off, not {text!r}.")
    return None if value == "auto" else value == "on"


_NO_GPU = frozenset({"cpu", "none", "no gpu", "cpu only", "0"})


def card_list(text: str) -> tuple[str, ...]:
    """GPU names as typed: `4090`, `2x 3090`, `4060 Ti 16GB + 3060`; `cpu` or `none` for no GPU."""
    value = text.strip()
    if value.lower() in _NO_GPU:
        return ()
    names = tuple(part.strip() for part in re.split(r"[+,]", value) if part.strip())
    if not names:
        raise PlannerError("No GPU named.", hint="Write a card such as 4090 or 2x 3090, or cpu for none.")
    return names


# --------------------------------------------------------------------------- summaries


def model_summary(model: PlannedModel, *, short: bool = False) -> str:
    """`Llama 3.1 8B Instruct · catalog · llama · 8.0B params · 32 layers · trained for 128k · ...`.

    `short` keeps the name, source, architecture and size: a border title's worth.
    """
    f = model.facts
    params = format_params(f.n_params)
    if f.n_params_active:
        params += f" ({format_params(f.n_params_active)} active)"
    parts = [model.label, model.kind, f.architecture, f"{params} params"]
    if short:
        return " · ".join(parts)
    parts += [f"{f.n_layers} layers", f"trained for {format_ctx(f.context_length)}"]
    if f.file_type:
        parts.append(f"stored as {f.file_type}")
    return " · ".join(parts)


def settings_summary(plan: Plan, flash_attn: str = "auto") -> str:
    """What one conversation gets and what the cache holds: `ctx 8k per conversation (4 slots share one
    8k cache) · llama-server -c 8k · KV f16 · flash attention on (auto)`."""
    s = plan.inputs.settings
    per = format_ctx(plan.inputs.ctx)
    if plan.inputs.auto_ctx:
        fa = "on" if s.flash_attn else "off"
        return (f"ctx auto: llama.cpp's fit picks each row's context (Ctx), from the trained {per} · "
                f"{s.runtime} without -c · KV {plan.inputs.kv_type} · flash attention {fa}")
    if s.kv_unified and s.n_seq > 1:
        slots = f"{s.n_seq} slots share one {format_ctx(s.n_ctx)} cache"
    elif s.n_seq > 1:
        slots = f"x {s.n_seq} slots = {format_ctx(s.n_ctx)} of KV"
    else:
        slots = "1 slot"
    how = f"num_ctx {per}" if s.runtime == "ollama" else f"-c {format_ctx(s.n_ctx)}"
    fa = "on" if s.flash_attn else "off"
    if flash_attn == "auto":
        fa += " (auto)"
    return f"ctx {per} per conversation ({slots}) · {s.runtime} {how} · KV {plan.inputs.kv_type} · " \
           f"flash attention {fa}"


def speed_basis(machine: MachineSpec) -> str:
    """The figures speeds rest on: `Speeds use RAM at 20.7 GB/s (measured 2026-12-07), 2 CPU threads.`"""
    threads = f", {machine.cpu_threads} CPU thread{'s' if machine.cpu_threads != 1 else ''}" \
        if machine.cpu_threads else ""
    gpus = "; " + ", ".join(f"{_card_name(g.name)} at {g.bandwidth / 1e9:.0f} GB/s" for g in machine.gpus) \
        if machine.gpus else ""
    return (f"Speeds use RAM at {machine.ram_bandwidth / 1e9:.1f} GB/s ({machine.ram_bandwidth_source})"
            f"{threads}{gpus}.")


def _card_name(name: str) -> str:
    """`GPU0 NVIDIA GeForce RTX 4090` -> `RTX 4090`: the index and the vendor's brand words go."""
    words = name.split()
    if words and re.fullmatch(r"GPU\d+", words[0]):
        words = words[1:]
    return " ".join(w for w in words if w not in ("NVIDIA", "GeForce", "AMD", "Radeon")) or name


def machine_summary(machine: MachineSpec, size: SizeFormat) -> str:
    """`RTX 4090 24GB 24.0 GiB + 62.7 GiB RAM (this machine)`."""
    gpus = " + ".join(f"{_card_name(g.name)} {size(g.memory)}" for g in machine.gpus) or "no GPU"
    where = "hypothetical" if machine.is_hypothetical else \
        f"this machine, {machine.name}" if machine.name else "this machine"
    return f"{gpus} + {size(machine.ram)} RAM ({where})"


# --------------------------------------------------------------------------- cells


def where(row: QuantRow) -> str:
    """The verdict in a table cell: `GPU`, `2 GPUs`, `-ngl 43/81`, `exps 15/48 RAM`, `CPU`, `won't fit`."""
    gpus = sum(1 for d in row.memory.devices if d.is_gpu and d.layers)
    if row.placement == "gpu":
        return "GPU" if gpus <= 1 else f"{gpus} GPUs"
    if row.placement == "partial":
        if row.expert_layers_on_cpu:
            return f"exps {row.expert_layers_on_cpu}/{row.n_layers} RAM"
        return f"-ngl {row.n_gpu_layers}/{row.n_layers + 1}"
    return "CPU" if row.placement == "cpu" else "won't fit"


def quality(row: QuantRow) -> str:
    """Perplexity increase from llama-quantize's table, or `–` where it quotes none."""
    return NONE if row.ppl_delta is None else f"{row.ppl_delta:+.3f}"


def device_label(device: DeviceMemory, n_gpus: int) -> str:
    """`GPU` (one card), `GPU0`/`GPU1` (several), `RAM` for system memory."""
    if not device.is_gpu:
        return "RAM"
    return "GPU" if n_gpus == 1 else device.device.split(" ", 1)[0]


def columns(plan: Plan) -> list[str]:
    """Column titles, units in them, most important first: what a user decides on, then `more_columns`."""
    devices = plan.rows[0].memory.devices if plan.rows else ()
    n_gpus = sum(1 for d in devices if d.is_gpu)
    fit = ["Ctx"] if plan.inputs.auto_ctx else []
    return ["Quant", "Runs on", DECODE_TITLE, *fit, *(device_label(d, n_gpus) for d in devices),
            "File", *MORE_TITLES]


def column_views(plan: Plan) -> tuple[list[int], list[int]]:
    """Indices into `columns` of the two views an 80-column screen switches between.

    First what a user decides on (quant, where it runs, tok/s, memory per device, file), then the
    rest beside the quant and the verdict, so neither view needs a scroll to the right.
    """
    n = len(columns(plan))
    split = n - len(MORE_TITLES)
    return list(range(split)), [0, 1, *range(split, n)]


def cells(row: QuantRow, size: SizeFormat, *, best: bool = False) -> list[str]:
    """One row's cells, in the order of `columns`; speeds in tokens/s. `best` marks the recommended row."""
    return [
        (BEST_MARK if best else " ") + row.quant + (IMATRIX_MARK if row.needs_imatrix else ""),
        where(row),
        format_tps(row.decode_tps),
        *([format_ctx(row.fit_ctx)] if row.fit_ctx is not None else []),
        *(size(d.total) for d in row.memory.devices),
        size(row.file_size),
        quality(row),
        format_ctx(row.max_ctx_on_gpu),
        size(row.memory.kv_cache),
        format_tps(row.prompt_tps),
        f"{row.bits_per_weight:.2f}",
    ]


# --------------------------------------------------------------------------- words


def explain(plan: Plan, row: QuantRow, size: SizeFormat) -> list[str]:
    """Where the row runs and why, in sentences (the detail panel and `plan --quant`)."""
    devices = row.memory.devices
    gpus = [d for d in devices if d.is_gpu]
    cpu = next((d for d in devices if not d.is_gpu), None)
    n = row.n_layers
    out: list[str] = []
    if row.placement == "none":
        have = sum(d.capacity for d in devices)
        out.append(f"Won't fit: it needs {size(row.memory.total)}, more than the {size(have)} "
                   f"this machine can give it.")
        out += [f"{d.device} would need {size(d.total)} of the {size(d.capacity)} it can hold."
                for d in devices if d.total > d.capacity]
        out.append("A smaller quant, a shorter context or a q8_0 KV cache needs less.")
        return out
    if row.placement == "gpu":
        if len(gpus) == 1:
            g = gpus[0]
            out.append(f"All {n} layers and the output layer run on {g.device}: {size(g.total)} of the "
                       f"{size(g.capacity)} it can hold.")
        else:
            split = ", ".join(_layers_on(d) for d in gpus if d.layers or d.has_output_layer)
            ts = ",".join(str(t) for t in row.tensor_split)
            out.append(f"All {n} layers and the output layer are split across {len(gpus)} GPUs: {split} "
                       f"(-ts {ts}).")
    elif row.placement == "partial":
        on_gpu = ", ".join(f"{d.layers} layers on {d.device}" for d in gpus if d.layers)
        if row.expert_layers_on_cpu:
            out.append(f"Every layer runs on the GPU except the routed experts of {row.expert_layers_on_cpu} "
                       f"of the {n} layers, which stay in RAM (-ot); the shared weights and attention "
                       "stay on the GPU.")
        else:
            output = "the output layer" if any(d.has_output_layer for d in gpus) else ""
            held = f"{on_gpu} plus {output}" if on_gpu and output else on_gpu or f"only {output} on the GPU"
            cpu_layers = cpu.layers if cpu is not None else 0
            out.append(f"-ngl {row.n_gpu_layers}: {held}; the other {cpu_layers} of the {n} layers run on "
                       "the CPU from RAM.")
        if cpu is not None and row.expert_layers_on_cpu:
            out.append(f"The experts in RAM hold {size(cpu.weights)}; each token reads only the few it is "
                       "routed to, but those reads still set the pace.")
        elif cpu is not None:
            out.append(f"Each token reads {size(cpu.weights)} of weights from RAM, so RAM bandwidth "
                       "sets the pace.")
    elif gpus:
        out.append("Not one layer fits on the GPU beside its buffers: everything runs on the CPU (-ngl 0).")
    else:
        out.append("No GPU: the whole model runs on the CPU from RAM.")
    if cpu is not None and cpu.repacked:
        out.append(f"llama.cpp also keeps a repacked copy of {size(cpu.repacked)} of the weights in RAM for "
                   "faster CPU products (its log: CPU_REPACK); the file pages it was made from are cache the "
                   "kernel can drop. --no-repack skips the copy.")
    if cpu is not None and row.placement == "gpu" and cpu.weights:
        out.append(f"The token embeddings ({size(cpu.weights)}) stay in RAM, as llama.cpp keeps them.")
    if row.max_ctx_on_gpu:
        out.append(f"Stays entirely on the GPU up to {format_ctx(row.max_ctx_on_gpu)} of context "
                   f"({row.max_ctx_on_gpu} tokens).")
    elif gpus and row.placement != "gpu":
        out.append("No context size puts this quant entirely on the GPU.")
    out.append(speed_basis(plan.inputs.machine))
    return out


def ladder_rows(steps: Sequence[LadderStep], size: SizeFormat) -> tuple[list[str], list[list[str]]]:
    """How a quant runs as the context grows: (titles, rows) of context, where, decode speed and KV."""
    rows = []
    for st in steps:
        if st.placement == "partial" and st.expert_layers_on_cpu:
            where_ = f"exps {st.expert_layers_on_cpu}/{st.n_layers} RAM"
        elif st.placement == "partial":
            where_ = f"-ngl {st.n_gpu_layers}/{st.n_layers + 1}"
        else:
            where_ = {"gpu": "GPU", "cpu": "CPU", "none": "won't fit"}[st.placement]
        rows.append([format_ctx(st.ctx), where_, format_tps(st.decode_tps), size(st.kv_cache)])
    return ["Context", "Runs on", DECODE_TITLE, "KV"], rows


def _layers_on(d: DeviceMemory) -> str:
    output = " and the output layer" if d.has_output_layer else ""
    return f"{d.layers} layers{output} on {d.device}"


def breakdown(memory: MemoryBreakdown) -> list[tuple[str, int, int, int, int, int, int, int]]:
    """Per device: (name, weights, KV, compute, output, overhead, total, capacity)."""
    return [(d.device, d.weights, d.kv_cache, d.compute, d.output, d.overhead, d.total, d.capacity)
            for d in memory.devices]


# --------------------------------------------------------------------------- commands


def model_file(model: PlannedModel, quant: str) -> str:
    """The GGUF to start: the file given when it is this quant, else the name the pipeline would write."""
    facts = model.facts
    if model.kind == "gguf" and model.path and (facts.file_type or "").upper() == quant.upper():
        return model.path
    base = model.ollama_name or (Path(model.path).name if model.path else facts.name)
    base = base.rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", base.removesuffix(".gguf")).strip("-") or "model"
    return f"{stem}-{quant}.gguf"


def llama_server_command(plan: Plan, row: QuantRow, model: PlannedModel) -> str | None:
    """`llama-server -m FILE -c N ...` for the row, shell-quoted; None when the row does not fit."""
    if row.placement == "none":
        return None
    args = llama_server_args(plan.inputs, row)
    return shlex.join(["llama-server", "-m", model_file(model, row.quant), *args])


def llama_server_shorthand(plan: Plan, row: QuantRow, model: PlannedModel) -> str | None:
    """The same start with `--n-cpu-moe N` for the -ot rule (MoE rows on one GPU), or None."""
    args = n_cpu_moe_args(plan.inputs, row) if row.placement != "none" else None
    return shlex.join(["llama-server", "-m", model_file(model, row.quant), *args]) if args else None


def ollama_lines(plan: Plan, row: QuantRow, model: PlannedModel) -> list[str] | None:
    """The server environment and the Modelfile that make Ollama run the row as planned."""
    if row.placement == "none":
        return None
    env, options = ollama_settings(plan.inputs, row)
    same = model.kind == "ollama" and (model.facts.file_type or "").upper() == row.quant
    source = model.ollama_name if same and model.ollama_name else "./" + model_file(model, row.quant)
    lines = [" ".join(f"{k}={v}" for k, v in env.items()) + " ollama serve", f"FROM {source}"]
    lines += [f"PARAMETER {k} {v}" for k, v in options.items()]
    return lines
