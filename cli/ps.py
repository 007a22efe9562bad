"""`llamadeck ps`: the models loaded in memory, with the CPU/GPU split exactly as `ollama ps` prints it.

`--predict` adds, for each loaded model, what llamadeck predicted Ollama would
load (core.planner.ollama_check: this machine, the server's settings and the
Modelfile) beside what the server reports, and a sentence naming the setting
behind each difference. With --json each model gains "predicted" and
"differences" (and "server_settings"); without --predict the JSON is as before.

A model at "100% CPU" on a local server is followed by why (core.planner.cpu_fallback: the
NVIDIA or AMD cause, or this machine's lack of a GPU), as the Models screen and dashboard say it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from cli.args import add_host_argument, ask_and_warn, iso_json
from core.config import HostConfig, Settings
from core.errors import OllamaError
from core.hardware.probe import HardwareProbe
from core.hardware.types import MachineInfo, to_jsonable
from core.ollama.client import OllamaClient
from core.ollama.format import table, until
from core.ollama.host import endpoint_for, select_host
from core.ollama.server_env import read_server_settings
from core.ollama.server_settings import OllamaServerSettings, env_lines
from core.ollama.types import RunningModel
from core.planner.cpu_fallback import cpu_fallback_diagnosis
from core.planner.ollama_check import LoadCheck, check_loaded
from core.units import format_bytes_decimal

SettingsReader = Callable[[HostConfig], OllamaServerSettings]
MachineReader = Callable[[], MachineInfo]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ps", help="list the models loaded in memory on an Ollama server",
        description="List loaded models like `ollama ps`: size, where they run (CPU/GPU), context, "
                    "when they unload. Sizes in --json output are bytes.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--predict", action="store_true",
                        help="also show what llamadeck predicted Ollama would load (size, VRAM, CPU/GPU, "
                             "context) and which server setting explains a difference")
    add_host_argument(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    probe = HardwareProbe.from_settings(settings)  # reads the hardware only if asked to
    try:
        return run(args, settings, probe=probe if args.predict else None, machine=probe.machine_info)
    finally:
        probe.close()


def run(args: argparse.Namespace, settings: Settings, *, probe: HardwareProbe | None,
        read_settings: SettingsReader = read_server_settings, out: TextIO | None = None,
        machine: MachineReader | None = None) -> int:
    out = out or sys.stdout
    host = select_host(settings, args.host)
    running, checks = asyncio.run(
        ask_and_warn(settings, args.host, lambda c: _ask(c, host, probe, read_settings)))
    diagnosis = _diagnosis(running, host, machine or (probe.machine_info if probe else None))
    if args.json:
        data = [{**to_jsonable(m), "processor": m.processor} for m in running]
        for entry, model in zip(data, running, strict=True):
            if diagnosis and model.on_cpu_only:
                entry["cpu_fallback"] = diagnosis
        if checks is not None:
            for entry, check in zip(data, checks, strict=True):
                entry.update(check_json(check))
        print(json.dumps(data, indent=2, default=iso_json), file=out)
        return 0
    rows = [
        [m.name, m.short_id, format_bytes_decimal(m.size), m.processor,
         str(m.context_length) if m.context_length is not None else "-", until(m.expires_at)]
        for m in running
    ]
    print(table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"], rows), file=out)
    if diagnosis:
        print(f"\n{diagnosis}", file=out)
    if checks:
        print("", file=out)
        print("\n\n".join(check_text(c) for c in checks), file=out)
    return 0


def _diagnosis(running: list[RunningModel], host: HostConfig, machine: MachineReader | None) -> str | None:
    """Why models run at 100% CPU, for a local server (this machine's GPUs are the server's)."""
    local = endpoint_for(host).is_loopback
    if machine is None or not local or not any(m.on_cpu_only for m in running):
        return None
    info = machine()
    return cpu_fallback_diagnosis(running, info.gpus, is_local=local, no_gpu_reason=info.no_gpu_reason)


async def _ask(client: OllamaClient, host: HostConfig, probe: HardwareProbe | None,
               read_settings: SettingsReader) -> tuple[list[RunningModel], list[LoadCheck] | None]:
    running = await client.running()
    if probe is None or not running:
        return running, None if probe is None else []
    server = await asyncio.to_thread(read_settings, host)
    info = await asyncio.to_thread(probe.machine_info)
    sample = await asyncio.to_thread(probe.sample)
    local = endpoint_for(host).is_loopback
    checks = []
    for m in running:
        try:
            show = await client.show(m.name)
        except OllamaError as exc:
            checks.append(LoadCheck(m.name, None, server, f"No prediction for {m.name}: {exc}"))
            continue
        check = await asyncio.to_thread(check_loaded, show, m, running, server, info, sample, local=local)
        checks.append(check)
    return running, checks


def check_text(check: LoadCheck) -> str:
    """A model's predicted and actual lines, then the sentences that explain a difference."""
    if check.comparison is None:
        return f"{check.name}: {check.problem}"
    p, a = check.comparison.predicted, check.comparison.actual
    rows = [["", "SIZE", "VRAM", "PROCESSOR", "CONTEXT"]]
    if p.error:
        rows.append(["predicted", "-", "-", "fails to load", str(p.num_ctx)])
    else:
        rows.append(["predicted", format_bytes_decimal(p.size), format_bytes_decimal(p.size_vram),
                     p.processor, str(p.num_ctx)])
    rows.append(["actual", format_bytes_decimal(a.size), format_bytes_decimal(a.size_vram), a.processor,
                 str(a.context_length) if a.context_length is not None else "-"])
    lines = [f"{check.name} (llama-server {' '.join(p.args)})", table(rows[0], rows[1:])]
    sentences = check.comparison.sentences or ("As predicted.",)
    lines += [f"  {s}" for s in sentences]
    return "\n".join(lines)


def check_json(check: LoadCheck) -> dict[str, Any]:
    settings = [{"name": n, "value": v, "source": s} for n, v, s in env_lines(check.settings)]
    if check.comparison is None:
        return {"predicted": None, "differences": [], "prediction_problem": check.problem,
                "server_settings": settings}
    p = check.comparison.predicted
    predicted = {"size": p.size, "size_vram": p.size_vram, "processor": p.processor,
                 "context_length": p.num_ctx, "num_parallel": p.num_parallel, "num_batch": p.num_batch,
                 "kv_cache_type": p.kv_type,
                 "flash_attention": p.flash_attention, "n_gpu_layers": p.n_gpu_layers, "n_layers": p.n_units,
                 "llama_server_args": list(p.args), "env": dict(p.env), "reasons": list(p.reasons),
                 "error": p.error}
    return {"predicted": predicted, "differences": list(check.comparison.sentences),
            "server_settings": settings}
