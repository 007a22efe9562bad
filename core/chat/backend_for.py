"""The chat backend for a configured host, picked by its `kind`.

Its own module so that `core.chat.backends` (what every backend promises and
the pieces they share) sits below the backends that use it.
"""

from __future__ import annotations

import time

from core.chat.backends import ChatBackend, Clock
from core.chat.ollama import OllamaChatBackend
from core.chat.openai import OpenAIChatBackend
from core.config import HostConfig
from core.errors import ChatError


def backend_for(host: HostConfig, *, clock: Clock = time.monotonic) -> ChatBackend:
    """The backend for a configured host (`kind = "ollama"` or `"openai"`)."""
    if host.kind == "ollama":
        return OllamaChatBackend(host, clock=clock)
    if host.kind == "openai":
        return OpenAIChatBackend(host, clock=clock)
    raise ChatError(f"Host {host.name!r} has kind {host.kind!r}; chat works with \"ollama\" and \"openai\".")
