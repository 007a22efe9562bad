"""`llamadeck ps`: the models loaded in memory, with the CPU/GPU split exactly as `ollama ps` prints it."""

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
from core.ollama.format import table, until
from core.ollama.host import select_host
from core.ollama.types import RunningModel
from core.units import format_bytes_decimal


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ps", help="list the models loaded in memory on an Ollama server",
        description="List loaded models like `ollama ps`: size, where they run (CPU/GPU), context, "
                    "when they unload. Sizes in --json output are bytes.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--host", metavar="NAME_OR_URL",
                        help="a configured host name, or an address like gpu-box:11434 (OLLAMA_HOST rules)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    running = asyncio.run(_running(settings, args.host))
    if args.json:
        out = [{**to_jsonable(m), "processor": m.processor} for m in running]
        print(json.dumps(out, indent=2, default=_iso))
        return 0
    rows = [
        [m.name, m.short_id, format_bytes_decimal(m.size), m.processor,
         str(m.context_length) if m.context_length is not None else "-", until(m.expires_at)]
        for m in running
    ]
    print(table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"], rows))
    return 0


async def _running(settings: Settings, host: str | None) -> list[RunningModel]:
    async with OllamaClient(select_host(settings, host)) as client:
        found = await client.running()
        warning = await client.exposure()
    if warning:  # stderr, so --json output stays clean
        print(f"llamadeck: warning: {warning}", file=sys.stderr)
    return found


def _iso(value: Any) -> str:
    """Timestamps in JSON as ISO 8601, like Ollama's own API."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
