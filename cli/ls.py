"""`llamadeck ls`: the models an Ollama server has, like `ollama list`, plus parameters and quant."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from core.config import Settings
from core.hardware.types import to_jsonable
from core.ollama.client import OllamaClient
from core.ollama.format import human_time, table
from core.ollama.host import select_host
from core.ollama.types import LocalModel
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
    parser.add_argument("--host", metavar="NAME_OR_URL",
                        help="a configured host name, or an address like gpu-box:11434 (OLLAMA_HOST rules)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    models = asyncio.run(_list(settings, args.host))
    key, newest_first = SORTS[args.sort]
    models.sort(key=key, reverse=newest_first)
    if args.json:
        print(json.dumps([to_jsonable(m) for m in models], indent=2, default=_iso))
        return 0
    rows = [
        [m.name, m.short_id, format_bytes_decimal(m.size), m.details.parameter_size or "-",
         m.details.quantization_level or "-", human_time(m.modified_at)]
        for m in models
    ]
    print(table(["NAME", "ID", "SIZE", "PARAMS", "QUANT", "MODIFIED"], rows))
    return 0


async def _list(settings: Settings, host: str | None) -> list[LocalModel]:
    async with OllamaClient(select_host(settings, host)) as client:
        found = await client.list_models()
        warning = await client.exposure()
    if warning:  # stderr, so --json output stays clean
        print(f"llamadeck: warning: {warning}", file=sys.stderr)
    return found


def _iso(value: Any) -> str:
    """Timestamps in JSON as ISO 8601, like Ollama's own API."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
