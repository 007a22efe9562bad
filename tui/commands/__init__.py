"""Subcommands of the `llamadeck` CLI, one module each, in help order."""

from tui.commands import chat, convert, hw, ls, ps, pull, rm

COMMANDS = [hw, ls, ps, pull, rm, chat, convert]
