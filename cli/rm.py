"""`llamadeck rm`: delete models from an Ollama server, unloading them first like `ollama rm`."""

from __future__ import annotations

import argparse
import asyncio

from cli.args import add_host_argument
from core.config import Settings
from core.ollama.client import OllamaClient
from core.ollama.host import select_host


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rm", help="delete models from an Ollama server",
        description="Delete models from an Ollama server (each is unloaded from memory first).",
    )
    parser.add_argument("names", nargs="+", metavar="NAME", help="model name, e.g. llama3.2 or qwen3:8b")
    add_host_argument(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_remove(settings, args.host, args.names))
    return 0


async def _remove(settings: Settings, host: str | None, names: list[str]) -> None:
    async with OllamaClient(select_host(settings, host)) as client:
        for name in names:
            await client.delete(name)
            print(f"deleted '{name}'", flush=True)
