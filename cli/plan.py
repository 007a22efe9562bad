"""`llamadeck plan MODEL`: which quantization runs on this machine (or another), how fast, with what context.

The headless twin of the planner screen: the same model lookup
(core.planner.source), the same plan (core.planner.plan) and the same cells, words
and commands (core.planner.report), printed as plain text with no colour, or as
JSON with sizes in bytes. Without --gpu or --ram the machine is this one, as
the hardware probe sees it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import TextIO, TypeVar

import psutil

from cli.args import add_host_argument
from core.config import Settings
from core.errors import HardwareError, PlannerError
from core.facts.quants import DEFAULT_QUANTS, quant_format
from core.hardware.probe import HardwareProbe, measure_ram_bandwidth
from core.hardware.types import to_jsonable
from core.ollama.client import OllamaClient
from core.ollama.format import table
from core.ollama.host import select_host
from core.planner.choice import GOALS, best_row, context_ladder
from core.planner.machine import (
    machine_spec,
    parse_parallel,
    parse_ram_bandwidth,
    parse_ram_gb,
    parse_threads,
)
from core.planner.plan import plan
from core.planner.report import (
    BEST_MARK,
    FLASH_ATTN,
    IMATRIX_MARK,
    KV_TYPES,
    QUALITY_NOTE,
    RUNTIMES,
    VERDICTS,
    breakdown,
    card_list,
    cells,
    columns,
    explain,
    ladder_rows,
    llama_server_command,
    llama_server_shorthand,
    machine_summary,
    model_summary,
    ollama_lines,
    parse_ctx_or_auto,
    parse_flash_attn,
    settings_summary,
    speed_basis,
)
from core.planner.report_json import plan_json
from core.planner.rpc import (
    DEFAULT_LINK,
    RpcDevice,
    RpcLink,
    ask_servers,
    parse_link,
    parse_rpc,
    rpc_commands,
    rpc_summary,
    with_rpc,
)
from core.planner.source import PlannedModel, resolve_model
from core.planner.types import MachineSpec, Plan, QuantRow
from core.units import format_bytes

T = TypeVar("T")

LEGEND = (f"tok/s (decode) and Prompt tok/s are estimates; {IMATRIX_MARK} needs an importance matrix; "
          f"{BEST_MARK} marks the best row for the goal.\n{QUALITY_NOTE}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan", help="which quantization of a model fits this machine, how fast, with what context",
        description="Plan a model on this machine or a hypothetical one: one row per quantization with "
                    "file size, memory per device, where it runs (-ngl), estimated speed and the largest "
                    "context that stays on the GPU. MODEL is a catalog name (deepseek-r1:32b), a .gguf "
                    "file, a Hugging Face folder or repo id, or a model on the Ollama server (ollama:NAME "
                    "asks the server directly). Sizes in --json output are bytes.",
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--ctx", type=_typed(parse_ctx_or_auto), default=8192, metavar="N",
                        help="context per conversation in tokens, e.g. 8192 or 32k (Ollama: num_ctx; "
                             "default 8k), or auto: llama-server without -c, where llama.cpp's fit picks it")
    parser.add_argument("--kv", choices=KV_TYPES, default="f16", help="KV cache type (default f16)")
    parser.add_argument("--fa", choices=FLASH_ATTN, default="auto", help="flash attention (default auto)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="llama-server",
                        help="whose defaults to plan with (default llama-server)")
    parser.add_argument("--parallel", type=_typed(parse_parallel), metavar="N",
                        help="parallel sequences (-np / OLLAMA_NUM_PARALLEL); default: the runtime's own")
    parser.add_argument("--gpu", action="extend", nargs="+", metavar="CARD",
                        help="plan for these cards instead of this machine: 4090, '2x 3090', "
                             "'4060 Ti 16GB', or cpu for none")
    parser.add_argument("--ram", type=_typed(parse_ram_gb), metavar="GB",
                        help="system RAM of the hypothetical machine")
    parser.add_argument("--free", action="store_true",
                        help="this machine: plan with the memory free now, not the whole cards")
    parser.add_argument("--ram-bw", type=_typed(parse_ram_bandwidth), metavar="GB/s",
                        help="RAM bandwidth for CPU and partial-offload speeds (default: the one measured on "
                             "this machine, else 60)")
    parser.add_argument("--cpu-threads", type=_typed(parse_threads), metavar="N",
                        help="CPU threads for CPU prompt speed (default: this machine's cores)")
    parser.add_argument("--measure-bw", action="store_true",
                        help="measure this machine's RAM bandwidth first (about a second) and keep it for "
                             "later plans")
    parser.add_argument("--rpc", action="extend", nargs="+", metavar="HOST:PORT[=SIZE]",
                        help="remote devices of llama.cpp's RPC backend (rpc-server) that join the "
                             "placement, first as llama.cpp orders them: 10.0.0.2:50052=12G, a card name "
                             "(=3060), or no size to ask the server")
    parser.add_argument("--rpc-link", type=_typed(parse_link), default=DEFAULT_LINK, metavar="GBIT",
                        help="the network to the RPC servers in Gbit/s (default 1)")
    parser.add_argument("--no-repack", action="store_true",
                        help="plan llama.cpp without its repacked copy of CPU-resident weights "
                             "(llama-server --no-repack)")
    parser.add_argument("--goal", choices=GOALS, default="quality",
                        help="which row to mark as best: quality (most bits at a readable speed), speed, "
                             "or context (longest on the GPU); default quality")
    parser.add_argument("--quant", action="extend", nargs="+", metavar="Q",
                        help="only these quantizations, each with its breakdown and commands")
    add_host_argument(parser, help="the Ollama server to ask for an Ollama model "
                                   "(a configured name or an address)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=main)


def _typed(parse: Callable[[str], T]) -> Callable[[str], T]:
    """The planner screen's parser for a field as an argparse type, its sentence as the usage error."""
    def convert(text: str) -> T:
        try:
            return parse(text)
        except PlannerError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def main(args: argparse.Namespace, settings: Settings) -> int:
    probe = None if args.gpu is not None or args.ram is not None else HardwareProbe.from_settings(settings)
    try:
        return run(args, settings, probe=probe, out=sys.stdout)
    finally:
        if probe is not None:
            probe.close()


def machine_for(args: argparse.Namespace, probe: HardwareProbe | None) -> MachineSpec:
    """--gpu/--ram: a hypothetical machine (RAM defaults to this one's); otherwise the probed one."""
    if args.gpu is not None or args.ram is not None:
        cards = [c for raw in (args.gpu or ()) for c in card_list(raw)]
        ram = args.ram if args.ram is not None else psutil.virtual_memory().total / 1024**3
        return machine_spec(cards, ram_gb=ram, ram_bandwidth_gbs=args.ram_bw, cpu_threads=args.cpu_threads)
    if probe is None:
        raise PlannerError("No hardware probe to read this machine with; give --gpu and --ram.")
    if args.measure_bw:
        result = measure_ram_bandwidth()
        try:
            probe.remember_bandwidth(result)
        except HardwareError as exc:
            print(f"llamadeck plan: {exc}", file=sys.stderr)
    return machine_spec(None, info=probe.machine_info(), sample=probe.sample() if args.free else None,
                        ram_bandwidth_gbs=args.ram_bw, cpu_threads=args.cpu_threads)


def run(args: argparse.Namespace, settings: Settings, *, probe: HardwareProbe | None, out: TextIO) -> int:
    quants = tuple(quant_format(q).name for q in args.quant) if args.quant else DEFAULT_QUANTS
    devices = ask_servers(parse_rpc(getattr(args, "rpc", None) or ()))
    link = getattr(args, "rpc_link", DEFAULT_LINK)
    machine = with_rpc(machine_for(args, probe), devices, link)
    model = asyncio.run(resolve_model(args.model, lambda: OllamaClient(select_host(settings, args.host))))
    result = plan(model.facts, machine, ctx=args.ctx, kv_type=args.kv, flash_attn=parse_flash_attn(args.fa),
                  runtime=args.runtime, parallel=args.parallel, quants=quants,
                  repack=not getattr(args, "no_repack", False))
    goal = getattr(args, "goal", "quality")
    if args.json:
        data = plan_json(result, model, flash_attn=args.fa)
        best = best_row(result, goal)
        data["best"] = {"goal": goal, "quant": best.quant if best else None}
        if args.quant is not None:
            for row in data["rows"]:
                row["context_ladder"] = [to_jsonable(st) for st in context_ladder(model.facts, result,
                                                                                  row["quant"])]
        if devices:
            data["rpc"] = {"devices": [to_jsonable(d) for d in devices],
                           "link_bytes_per_second": link.bandwidth}
            for row, r in zip(data["rows"], result.rows, strict=True):
                command = llama_server_command(result, r, model)
                row["rpc_commands"] = rpc_commands(devices, command) if command else None
                row["rpc_summary"] = rpc_summary(result, r, link)
        print(json.dumps(data, indent=2), file=out)
    else:
        out.write(render(result, model, flash_attn=args.fa, details=args.quant is not None, goal=goal,
                         rpc=devices, link=link))
    return 0


def render(result: Plan, model: PlannedModel, *, flash_attn: str = "auto", details: bool = False,
           goal: str = "quality", rpc: tuple[RpcDevice, ...] = (), link: RpcLink = DEFAULT_LINK) -> str:
    """The text report: what was planned, the table, the notices, and (with --quant) each row in full."""
    best = best_row(result, goal)
    rows = [cells(r, format_bytes, best=r is best) for r in result.rows]
    lines = [
        model_summary(model),
        settings_summary(result, flash_attn),
        "Machine: " + machine_summary(result.inputs.machine, format_bytes),
        speed_basis(result.inputs.machine),
        "",
        table(columns(result), rows, gap=2),
        "",
        LEGEND,
        f"Best for {goal}: {best.quant if best else 'none (nothing runs)'}.",
    ]
    if result.notices:
        lines += ["", "Notices:", *(f"  - {n}" for n in result.notices)]
    if details:
        for row in result.rows:
            lines += _details(result, row, model)
            if rpc and row.placement != "none":
                lines += [f"  {sentence}" for sentence in rpc_summary(result, row, link)]
                lines += ["  With the RPC servers:"]
                command = llama_server_command(result, row, model) or ""
                lines += [f"    {line}" for line in rpc_commands(rpc, command)]
    return "\n".join(lines) + "\n"


def _details(result: Plan, row: QuantRow, model: PlannedModel) -> list[str]:
    lines = ["", f"{row.quant}: {VERDICTS[row.placement]}"]
    lines += [f"  {sentence}" for sentence in explain(result, row, format_bytes)[:-1]]  # the basis is above
    lines += ["", *("  " + line for line in _breakdown_table(row).splitlines())]
    titles, steps = ladder_rows(context_ladder(model.facts, result, row.quant), format_bytes)
    lines += ["", "  As the context grows:"]
    lines += ["    " + line for line in table(titles, steps, gap=2).splitlines()]
    lines += [f"  - {n}" for n in row.notices]
    command = llama_server_command(result, row, model)
    if command is not None:
        lines += ["", "  llama-server:", f"    {command}"]
        shorthand = llama_server_shorthand(result, row, model)
        if shorthand:
            lines += ["  or, with the experts of the first layers in RAM instead (about the same memory):",
                      f"    {shorthand}"]
        lines += ["", "  Ollama (server environment, Modelfile; placement left to llama.cpp's fit):"]
        lines += [f"    {line}" for line in ollama_lines(result, row, model) or ()]
    return lines


def _breakdown_table(row: QuantRow) -> str:
    header = ["Memory", "weights", "KV", "compute", "output", "overhead", "total", "of"]
    rows = [[name, *(format_bytes(v) for v in values)] for name, *values in breakdown(row.memory)]
    return table(header, rows, gap=2)
