"""`llamadeck ps`: the models loaded in memory, with the CPU/GPU split exactly as `ollama ps` prints it."""

from __future__ import annotations

import argparse
import asyncio
import json

from cli.args import add_host_argument, ask_and_warn, iso_json
from core.config import Settings
from core.hardware.types import to_jsonable
from core.ollama.client import OllamaClient
from core.ollama.format import table, until
from core.units import format_bytes_decimal


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ps", help="list the models loaded in memory on an Ollama server",
        description="List loaded models like `ollama ps`: size, where they run (CPU/GPU), context, "
                    "when they unload. Sizes in --json output are bytes.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    add_host_argument(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    running = asyncio.run(ask_and_warn(settings, args.host, OllamaClient.running))
    if args.json:
        out = [{**to_jsonable(m), "processor": m.processor} for m in running]
        print(json.dumps(out, indent=2, default=iso_json))
        return 0
    rows = [
        [m.name, m.short_id, format_bytes_decimal(m.size), m.processor,
         str(m.context_length) if m.context_length is not None else "-", until(m.expires_at)]
        for m in running
    ]
    print(table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"], rows))
    return 0


