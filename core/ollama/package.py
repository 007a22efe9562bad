"""The official `ollama` package, imported so that a bad OLLAMA_HOST cannot crash the import.

`import ollama` builds a module-level default client from OLLAMA_HOST
(`ollama/__init__.py`: `_client = Client()`), and the package reads the
port with urllib, which raises `ValueError: Port out of range` for
`OLLAMA_HOST=127.0.0.1:99999`. llamadeck never uses that default client (each
`OllamaClient` passes its host explicitly), so the package is imported with
OLLAMA_HOST out of the environment and the variable is put back at once;
llamadeck's own host rules (core.ollama.host) then say what is wrong with it.

Import the package from here (`from core.ollama.package import ollama`), never
directly, wherever it may be the first import. The variable is missing from
the environment only while that first import runs; llamadeck reads
OLLAMA_HOST once, when the settings are loaded (core.config), before that.
"""

from __future__ import annotations

import os
import sys

__all__ = ["ollama"]


def _import_quietly() -> None:
    if "ollama" in sys.modules:
        return
    saved = os.environ.pop("OLLAMA_HOST", None)
    try:
        import ollama  # noqa: F401 - the import is the point
    finally:
        if saved is not None:
            os.environ["OLLAMA_HOST"] = saved


_import_quietly()

import ollama  # noqa: E402 - after the environment-safe first import above
