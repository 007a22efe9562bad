"""`llamadeck plan --json`: a plan with sizes in bytes, each row with the commands it implies.

The same rows, words and commands as core.planner.report, as plain JSON types.
"""

from __future__ import annotations

from typing import Any

from core.hardware.types import to_jsonable
from core.planner.launch_args import llama_server_args, ollama_settings
from core.planner.report import VERDICTS, llama_server_command, llama_server_shorthand, ollama_lines
from core.planner.source import PlannedModel
from core.planner.types import MachineSpec, MemoryBreakdown, Plan, QuantRow


def _memory_json(memory: MemoryBreakdown) -> dict[str, Any]:
    out = {k: v for k, v in to_jsonable(memory).items() if k != "devices"}
    out["total"] = memory.total
    out["devices"] = [{**to_jsonable(d), "total": d.total} for d in memory.devices]
    return out


def _machine_json(m: MachineSpec) -> dict[str, Any]:
    return {"name": m.name, "hypothetical": m.is_hypothetical, "ram": m.ram, "ram_bandwidth": m.ram_bandwidth,
            "ram_bandwidth_source": m.ram_bandwidth_source, "cpu_threads": m.cpu_threads,
            "cpu_tflops": m.cpu_tflops, "gpus": [to_jsonable(g) for g in m.gpus]}


def row_json(plan: Plan, row: QuantRow, model: PlannedModel) -> dict[str, Any]:
    """A row with sizes in bytes, plus the commands it implies (null where it does not fit)."""
    data = {k: v for k, v in to_jsonable(row).items() if k not in ("memory", "settings")}
    data["memory"] = _memory_json(row.memory)
    data["verdict"] = VERDICTS[row.placement]
    data["settings"] = to_jsonable(row.settings) if row.settings is not None else None
    fits = row.placement != "none"
    data["llama_server_args"] = llama_server_args(plan.inputs, row) if fits else None
    data["llama_server_command"] = llama_server_command(plan, row, model)
    data["llama_server_shorthand"] = llama_server_shorthand(plan, row, model)
    if fits:
        env, options = ollama_settings(plan.inputs, row)
        modelfile = (ollama_lines(plan, row, model) or [])[1:]
        data["ollama"] = {"env": env, "options": options, "modelfile": modelfile}
    else:
        data["ollama"] = None
    return data


def plan_json(plan: Plan, model: PlannedModel, *, flash_attn: str = "auto") -> dict[str, Any]:
    """`llamadeck plan --json`: the model, the inputs as asked and as run, one object per quant, notices."""
    f = model.facts
    s = plan.inputs.settings
    return {
        "model": {"name": model.label, "spec": model.spec, "kind": model.kind, "architecture": f.architecture,
                  "known_architecture": f.known_architecture, "n_params": f.n_params,
                  "n_params_active": f.n_params_active, "n_layers": f.n_layers,
                  "context_length": f.context_length, "file_type": f.file_type, "file_size": f.file_size,
                  "path": model.path, "ollama_url": model.ollama_url},
        "inputs": {"ctx": plan.inputs.ctx, "auto_ctx": plan.inputs.auto_ctx, "kv_type": plan.inputs.kv_type,
                   "flash_attn": flash_attn,
                   "runtime": s.runtime, "parallel": s.n_seq, "settings": to_jsonable(s),
                   "machine": _machine_json(plan.inputs.machine)},
        "rows": [row_json(plan, r, model) for r in plan.rows],
        "notices": list(plan.notices),
    }
