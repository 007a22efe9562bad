"""`llamadeck ls`: the models an Ollama server has, like `ollama list`, plus parameters and quant."""

from __future__ import annotations

import argparse
import asyncio
import json

from cli.args import add_host_argument, ask_and_warn, iso_json
from core.config import Settings
from core.hardware.types import to_jsonable
from core.ollama.client import OllamaClient
from core.ollama.format import human_time, table
from core.units import format_bytes_decimal

SORTS = {
    "size": (lambda m: m.size, True),
    "name": (lambda m: m.name.lower(), False),
    "modified": (lambda m: m.modified_at.timestamp() if m.modified_at else 0.0, True),
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ls", help="list the models on an Ollama server",
        description="List the models on an Ollama server. Sizes in --json output are bytes.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--sort", choices=sorted(SORTS), default="modified",
                        help="order: size and modified put the largest / newest first (default: modified)")
    add_host_argument(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    models = asyncio.run(ask_and_warn(settings, args.host, OllamaClient.list_models))
    key, newest_first = SORTS[args.sort]
    models.sort(key=key, reverse=newest_first)
    if args.json:
        print(json.dumps([to_jsonable(m) for m in models], indent=2, default=iso_json))
        return 0
    rows = [
        [m.name, m.short_id, format_bytes_decimal(m.size), m.details.parameter_size or "-",
         m.details.quantization_level or "-", human_time(m.modified_at)]
        for m in models
    ]
    print(table(["NAME", "ID", "SIZE", "PARAMS", "QUANT", "MODIFIED"], rows))
    return 0


