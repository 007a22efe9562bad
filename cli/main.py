"""`llamadeck`: the TUI with no subcommand, headless twins of each screen with one.

Each subcommand lives in `cli/<name>.py` with `register(subparsers)`
that sets `func(args, settings) -> int`. Every subcommand takes `--json`
where it prints data, and prints errors as one sentence on stderr (exit 1),
never a traceback: an unexpected exception (a bug) is one sentence too, with
the traceback in a crash file the sentence names (exit 70), and every
configured secret is masked in what is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from pathlib import Path

from cli import COMMANDS, load
from core import __version__
from core.config import load_settings
from core.error_log import EXIT_CRASH, crash_sentence
from core.errors import LlamadeckError
from core.redact import redact, remember_settings


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named in argv, found without importing any command module."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--config":
            skip = True
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser for `command`; the other subcommands are listed by name and help only."""
    parser = argparse.ArgumentParser(
        prog="llamadeck",
        description="A terminal deck for running local LLMs with Ollama and llama.cpp.",
    )
    parser.add_argument("--version", action="version", version=f"llamadeck {__version__}")
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="config file (default: the platform config dir, or $LLAMADECK_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        if name == command:
            load(name).register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        remember_settings(settings)
        if args.command is None:
            return run_tui(settings)
        result: int = args.func(args, settings)
        return result
    except LlamadeckError as exc:
        print(f"llamadeck: {redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("llamadeck: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `llamadeck ls | head -1`: the reader left; not a bug, nothing more to say
        with contextlib.suppress(OSError, ValueError):  # stdout may be no file at all (a test's capture)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141  # what a shell reports for a command killed by SIGPIPE
    except Exception as exc:  # a bug: one sentence here, the traceback in the crash file it names
        context = f"llamadeck {args.command}" if args.command else "llamadeck"
        print(f"llamadeck: {crash_sentence(exc, context)}", file=sys.stderr)
        return EXIT_CRASH


def run_tui(settings: object) -> int:
    pause_gc_for_start_up()
    try:
        # The app (and Textual) load only when no subcommand is given: the twins start without them.
        from core.config import Settings
        from tui.services import build_services

        assert isinstance(settings, Settings)
        services = build_services(settings)
        # The hardware facts are read while Textual is imported (a quarter of
        # a second), so the first frame does not wait for them.
        services.hardware.prefetch()
        from tui.app import make_app

        app = make_app(settings, services)
        app.run()
    finally:
        gc.enable()  # the app did at its first frame, unless it never got there
    if app.crash is not None:  # after the terminal is restored, whole, so its file's path can be copied
        print(f"llamadeck: {app.crash}", file=sys.stderr)
    return app.return_code or 0


def pause_gc_for_start_up() -> None:
    """No garbage collection until the first frame is up; the app turns it back on.

    Importing Textual and building the dashboard allocate a few hundred
    thousand objects, nearly all of them kept for the app's life, and the
    collector kept walking them: about 70-120 ms of a start-up (measured
    with bench/dashboard.py). After the first frame the app collects once,
    freezes what start-up built (later collections skip it, which also
    shortens the pauses while a long chat reply streams) and re-enables GC.
    """
    gc.disable()


if __name__ == "__main__":
    sys.exit(main())
