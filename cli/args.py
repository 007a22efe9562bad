"""What several commands share: the --host argument, asking an Ollama server, printing its JSON.

`ls`, `ps`, `pull`, `rm`, `convert`, `plan` and `chat` all take --host with the
same metavar and the same resolution rules; only the help sentence may say what
that command uses the server for.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from core.config import Settings
from core.ollama.client import OllamaClient
from core.ollama.host import select_host

HOST_HELP = "a configured host name, or an address like gpu-box:11434 (OLLAMA_HOST rules)"

T = TypeVar("T")


def add_host_argument(parser: argparse.ArgumentParser, help: str = HOST_HELP) -> None:
    parser.add_argument("--host", metavar="NAME_OR_URL", help=help)


async def ask_and_warn(settings: Settings, host: str | None,
                       ask: Callable[[OllamaClient], Awaitable[T]]) -> T:
    """One question to the server `host` names, then a warning on stderr if it is open to the network.

    stderr, so --json output on stdout stays clean.
    """
    async with OllamaClient(select_host(settings, host)) as client:
        found = await ask(client)
        warning = await client.exposure()
    if warning:
        print(f"llamadeck: warning: {warning}", file=sys.stderr)
    return found


def iso_json(value: Any) -> str:
    """Timestamps in JSON as ISO 8601, like Ollama's own API (a `json.dumps` default)."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
