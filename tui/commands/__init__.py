"""Subcommands of the `llamadeck` CLI, one module each, in help order."""

from tui.commands import hw

COMMANDS = [hw]
