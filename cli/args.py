"""What several commands share: the --host argument, asking an Ollama server, printing its JSON, the machine.

`ls`, `ps`, `pull`, `rm`, `convert`, `plan` and `chat` all take --host with the
same metavar and the same resolution rules; only the help sentence may say what
that command uses the server for.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from core.config import Settings
from core.ollama.client import OllamaClient
from core.ollama.host import select_host

if TYPE_CHECKING:
    from core.planner.types import MachineSpec

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


def add_machine_arguments(parser: argparse.ArgumentParser) -> None:
    """--gpu/--ram (a hypothetical machine) and --free, as `plan` takes them; this machine without them."""
    parser.add_argument("--gpu", action="extend", nargs="+", metavar="CARD",
                        help="plan for these cards instead of this machine: 4090, '2x 3090', or cpu for none")
    parser.add_argument("--ram", type=_ram_gb, metavar="GB", help="system RAM of the hypothetical machine")
    parser.add_argument("--free", action="store_true",
                        help="this machine: plan with the memory free now, not the whole cards")
    parser.set_defaults(ram_bw=None, cpu_threads=None, measure_bw=False)


def _ram_gb(text: str) -> float:
    from core.errors import PlannerError
    from core.planner.machine import parse_ram_gb  # here: the planner costs start-up time

    try:
        return parse_ram_gb(text)
    except PlannerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def machine_from_args(args: argparse.Namespace, settings: Settings) -> MachineSpec:
    """The machine add_machine_arguments' flags name, probed (and the probe closed) where it is this one."""
    from cli.plan import machine_for  # here: the planner's report and probe cost start-up time
    from core.hardware.probe import HardwareProbe

    probe = None if args.gpu is not None or args.ram is not None else HardwareProbe.from_settings(settings)
    try:
        return machine_for(args, probe)
    finally:
        if probe is not None:
            probe.close()
