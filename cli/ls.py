"""`llamadeck ls`: the models an Ollama server has, like `ollama list`, plus parameters and quant.

`ls --gguf` lists the GGUF files on this machine instead (paths.gguf_dirs and
the Hugging Face cache), with what their headers say; no server is asked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from cli.args import add_host_argument, ask_and_warn, iso_json
from core.config import Settings
from core.facts.local_gguf import LocalGguf, find_gguf_files
from core.hardware.types import to_jsonable
from core.ollama.client import OllamaClient
from core.ollama.format import human_time, table
from core.units import format_age, format_bytes_decimal, format_ctx, format_params

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
    parser.add_argument("--gguf", action="store_true",
                        help="list the GGUF files in paths.gguf_dirs and the Hugging Face cache instead")
    parser.add_argument("--sort", choices=sorted(SORTS), default="modified",
                        help="order: size and modified put the largest / newest first (default: modified)")
    add_host_argument(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    if args.gguf:
        return list_gguf(args, settings)
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




GGUF_SORTS = {
    "size": (lambda f: f.size, True),
    "name": (lambda f: f.path.name.lower(), False),
    "modified": (lambda f: f.modified, True),
}


def _gguf_row(f: LocalGguf, now: float) -> list[str]:
    quant = f.file_type or "-"
    return [f.label, format_bytes_decimal(f.size), format_params(f.n_params) if f.n_params else "-", quant,
            f.architecture or "-", format_ctx(f.context_length) if f.context_length else "-",
            format_age(now - f.modified, long=True),
            f.problem or (f.where if f.in_hf_cache else str(f.path.parent))]


def list_gguf(args: argparse.Namespace, settings: Settings) -> int:
    """The GGUF files on this machine, a split model on one line; last, the folder or why it is unreadable."""
    files = find_gguf_files(settings.gguf_dirs, settings.hf_cache_dir)
    key, first = GGUF_SORTS[args.sort]
    files.sort(key=key, reverse=first)
    if args.json:
        print(json.dumps([f.to_json() for f in files], indent=2))
        return 0
    now = time.time()
    print(table(["NAME", "SIZE", "PARAMS", "QUANT", "ARCH", "CONTEXT", "MODIFIED", "FOLDER"],
                [_gguf_row(f, now) for f in files]))
    return 0
