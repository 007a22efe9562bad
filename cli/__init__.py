"""Subcommands of the `llamadeck` CLI, one module each, in help order.

Only the one-line help lives here: a subcommand's module (and what it
imports: the Ollama client, numpy, the pipeline) is loaded only when that
subcommand runs, so `llamadeck` starts the TUI without paying for them.
Each module has `register(subparsers)` that sets `func(args, settings) -> int`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

COMMANDS: dict[str, str] = {
    "hw": "print GPU, CPU, RAM and disk facts and a live sample",
    "ls": "list the models on an Ollama server",
    "ps": "list the models loaded in memory on an Ollama server",
    "pull": "download a model into an Ollama server",
    "rm": "delete models from an Ollama server",
    "chat": "stream one reply from a model to stdout (saved to the chat history)",
    "convert": "convert a Hugging Face model to a quantized GGUF and import it into Ollama",
    "plan": "which quantization of a model fits this machine, how fast, with what context",
    "search": "search the Hugging Face Hub for GGUF models, and whether they fit this machine",
    "files": "the GGUF files of a Hub repo: which fit this machine, how fast, with what context",
}


def load(name: str) -> ModuleType:
    return importlib.import_module(f"cli.{name}")
