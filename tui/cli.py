"""`llamadeck`: the TUI with no subcommand, headless twins of each screen with one.

Each subcommand lives in `tui/commands/<name>.py` with `register(subparsers)`
that sets `func(args, settings) -> int`. Every subcommand takes `--json`
where it prints data, and prints errors as one sentence on stderr (exit 1),
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core import __version__
from core.config import load_settings
from core.errors import LlamadeckError
from tui.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llamadeck",
        description="A terminal deck for running local LLMs with Ollama and llama.cpp.",
    )
    parser.add_argument("--version", action="version", version=f"llamadeck {__version__}")
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="config file (default: the platform config dir, or $LLAMADECK_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        if args.command is None:
            return run_tui(settings)
        result: int = args.func(args, settings)
        return result
    except LlamadeckError as exc:
        print(f"llamadeck: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("llamadeck: interrupted.", file=sys.stderr)
        return 130


def run_tui(settings: object) -> int:
    from core.config import Settings
    from tui.app import make_app
    from tui.services import build_services

    assert isinstance(settings, Settings)
    services = build_services(settings)
    make_app(settings, services).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
