"""The services a running app uses, built by the CLI and replaced by fakes in tests.

Screens reach core only through these objects (never through module-level
clients), so a test can hand the app a hardware probe backed by a fake NVML
module or an Ollama client pointed at the fake server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import HostConfig, Settings
from core.hardware.probe import HardwareProbe

if TYPE_CHECKING:
    from core.chat.backends import ChatBackend
    from core.chat.history import HistoryStore
    from core.ollama.client import OllamaClient
    from core.ollama.server_settings import OllamaServerSettings

# Builds the client for one configured host. Screens call it inside the app's
# event loop (the client's connections belong to the loop that made them) and
# close what they built.
OllamaFactory = Callable[[HostConfig], "OllamaClient"]
# The chat screen's two: a streaming backend per host (same loop rule as the
# client), and the chat history, which it opens in a thread (the file may be
# checked and moved aside) and closes when it goes.
ChatBackendFactory = Callable[[HostConfig], "ChatBackend"]
HistoryOpener = Callable[[], "HistoryStore"]
# The settings of a host's `ollama serve` (its environment, systemd, the config), read in a thread.
ServerSettingsReader = Callable[[HostConfig], "OllamaServerSettings"]


# The real factories import their modules on first use, so the dashboard
# (the home screen) starts without loading the Ollama client or SQLite code.
def ollama_client(host: HostConfig) -> OllamaClient:
    from core.ollama.client import OllamaClient

    return OllamaClient(host)


def chat_backend(host: HostConfig) -> ChatBackend:
    from core.chat.backend_for import backend_for  # start-up: chat code loads on first use

    return backend_for(host)


def server_settings(host: HostConfig) -> OllamaServerSettings:
    from core.ollama.server_env import read_server_settings  # start-up: read only when a model is loaded

    return read_server_settings(host)


def open_history() -> HistoryStore:
    from core.chat.history import HistoryStore  # start-up: SQLite code loads on first use

    return HistoryStore.open()


@dataclass
class Services:
    hardware: HardwareProbe
    ollama: OllamaFactory = ollama_client
    chat_backend: ChatBackendFactory = chat_backend
    history: HistoryOpener = open_history
    ollama_server: ServerSettingsReader = server_settings

    def close(self) -> None:
        self.hardware.close()


def build_services(settings: Settings) -> Services:
    return Services(hardware=HardwareProbe.from_settings(settings))
